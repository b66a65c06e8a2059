// Package repotest gives tests that check the repository's own files — docs, deploy
// manifests, the built command — the repository's root, its files, and the bot binary
// built once per test process, as a newcomer's `go build` would build it.
package repotest

import (
	"errors"
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
	buildDir  string // set by Main
	buildOnce sync.Once
	built     string
	buildErr  error
)

// Bot builds cmd/bot once per test process, into the directory given to Main, and returns
// the binary's path.
func Bot(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		if buildDir == "" {
			buildErr = errors.New("repotest: Bot needs TestMain to call repotest.Main with a directory")
			return
		}
		built = filepath.Join(buildDir, "bot")
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

// Main runs the tests with dir as where Bot builds the binary, then removes dir, and
// returns the exit code for os.Exit. The test binary's TestMain makes dir (a temporary
// directory) and passes it in: this package writes nothing of its own.
func Main(m *testing.M, dir string) int {
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	return code
}

// Tool returns the path of the program name, which tests of what needs it require, or skips
// tb when it is missing: except in CI (CI=true), which installs every such program
// (.ci/run), so that there its absence fails tb. install is the command that installs it.
func Tool(tb testing.TB, name, install, needed string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s is not installed, and CI must run %s: %s (.ci/run does)", name, needed, install)
	}
	tb.Skipf("%s is not installed; to run %s: %s", name, needed, install)
	return ""
}
