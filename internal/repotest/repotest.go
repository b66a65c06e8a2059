// Package repotest gives tests that check the repository's own files — docs, deploy
// manifests, the built command — the repository's root, its files, and the bot binary
// built once per test process, as a newcomer's `go build` would build it.
package repotest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Root returns the repository's root: the nearest directory above the test's working
// directory (its package's) that holds go.mod.
func Root(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("repotest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// ReadFile returns the file at rel, a slash-separated path from the repository's root.
func ReadFile(tb testing.TB, rel string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(Root(tb), filepath.FromSlash(rel)))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// FreeAddr returns an address on 127.0.0.1 that nothing listens on, for a process the test
// starts to listen on.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// Bot builds cmd/bot once per test process and returns the binary's path. A package whose
// tests call it removes the binary with Main.
func Bot(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "troupe-bot-test")
		if err != nil {
			buildErr = err
			return
		}
		built = filepath.Join(dir, "bot")
		cmd := exec.Command("go", "build", "-o", built, "./cmd/bot")
		cmd.Dir = Root(tb)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return built
}

// Main runs the tests and then removes the binary Bot built, if any, returning the exit
// code for os.Exit: func TestMain(m *testing.M) { os.Exit(repotest.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	if built != "" {
		os.RemoveAll(filepath.Dir(built))
	}
	return code
}
