package docs

// These tests keep the pages in docs/ (and the README) honest: their links lead somewhere,
// the example in extending.md compiles and passes against the runtime, and operations.md
// explains every metric the bot exports and every line /status prints.

import (
	"context"
	"encoding/json"
	"go/format"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/ops"
	"github.com/troupebot/troupe/examples/echo"
	"github.com/troupebot/troupe/internal/repotest"
)

// docs/operations.md: the names the bot really exports, the lines /status really prints.

// TestOperationsDoc checks that every metric the bot exports is explained, every troupe_
// name the doc mentions exists, and every line of /status is explained.
func TestOperationsDoc(t *testing.T) {
	doc := repotest.ReadFile(t, "docs/operations.md")
	b, err := bot.New(bot.Config{Token: "1:metrics", APIURL: "http://127.0.0.1:1", Logger: slog.New(slog.DiscardHandler)}, echo.New(echo.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	// The HTTP server's metrics sit beside the bot's on /metrics (cmd/bot registers them).
	reg := b.Registry()
	reg.MustRegister(ops.NewServer(http.NotFoundHandler(), ops.ServerConfig{}))
	families, err := reg.Gather()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b.Run(ctx) // stops the bot it built; it never reaches the address above
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, f := range families {
		if name := f.GetName(); strings.HasPrefix(name, "troupe_") {
			exported[name] = true
			if !strings.Contains(doc, "`"+name+"`") {
				t.Errorf("docs/operations.md does not explain `%s`", name)
			}
		}
	}
	if len(exported) == 0 {
		t.Fatal("the bot exported no troupe_ metrics")
	}
	for _, name := range regexp.MustCompile(`troupe_[a-z0-9_]+`).FindAllString(doc, -1) {
		if !exported[name] {
			t.Errorf("docs/operations.md mentions %s, which the bot does not export", name)
		}
	}

	for _, mode := range []string{"polling", "webhook"} {
		s := bot.Snapshot{Version: "v", Intake: bot.IntakeStats{Mode: mode}}
		s.Runtime.Restarts.Top = []actors.KeyCount{{Key: 1, Count: 1}}
		for line := range strings.Lines(s.String()) {
			label, _, ok := strings.Cut(line, ":")
			if !ok {
				label, _, _ = strings.Cut(line, " ")
			}
			if !strings.Contains(doc, label+":") && !strings.Contains(doc, "`"+label) {
				t.Errorf("docs/operations.md does not explain the /status line %q", strings.TrimSpace(line))
			}
		}
	}
}

// ---------------------------------------------------------------------------------------
// Links and examples in the docs.

var (
	mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// fenced is a code block, where "](" is Go (router.AdminOnly[S](ids...)), not a link.
	fenced = regexp.MustCompile("(?ms)^\\s*```.*?^\\s*```")
)

// TestDocLinks checks that every relative link in the README and docs/ names a file (or
// directory) of the repository.
func TestDocLinks(t *testing.T) {
	root := repotest.Root(t)
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, filepath.Join(root, "README.md"))
	for _, page := range pages {
		text, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, page)
		for _, m := range mdLink.FindAllStringSubmatch(fenced.ReplaceAllString(string(text), ""), -1) {
			target, _, _ := strings.Cut(m[1], "#")
			if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path := filepath.Join(filepath.Dir(rel), target)
			if _, err := os.Stat(filepath.Join(root, path)); err != nil {
				t.Errorf("%s: link to %s: %v", rel, m[1], err)
			}
		}
	}
}

// TestExtendingExample compiles and tests the example bot in docs/extending.md, so the
// page cannot drift from the runtime's API: every ```go block whose first line is
// "// File: NAME.go" becomes docs/NAME.go in an overlay (nothing is written to the
// repository), and `go test` runs them as a package. The bot shown is the counter example
// in full: its block must be examples/counter/counter.go as it is.
func TestExtendingExample(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the example")
	}
	doc := repotest.ReadFile(t, "docs/extending.md")
	blocks := regexp.MustCompile("(?s)```go\n// File: ([a-z_]+\\.go)\n(.*?)```").FindAllStringSubmatch(doc, -1)
	if len(blocks) < 2 {
		t.Fatalf("docs/extending.md has %d example files, want the bot and its test", len(blocks))
	}
	counter := repotest.ReadFile(t, "examples/counter/counter.go")
	shown := false
	for _, b := range blocks {
		if b[1] == "counter.go" {
			shown = true
			if strings.TrimPrefix(b[2], "\n") != counter {
				t.Error("the counter in docs/extending.md is not examples/counter/counter.go; paste the file again")
			}
		}
	}
	if !shown {
		t.Error("docs/extending.md does not show counter.go")
	}
	abs := filepath.Join(repotest.Root(t), "docs")
	tmp := t.TempDir()
	// These tests, of package docs, are hidden from the example's package main.
	overlay := map[string]map[string]string{"Replace": {filepath.Join(abs, "docs_test.go"): ""}}
	for _, b := range blocks {
		src := "// File: " + b[1] + "\n" + b[2]
		if formatted, err := format.Source([]byte(src)); err != nil {
			t.Errorf("%s: %v", b[1], err)
		} else if string(formatted) != src {
			t.Errorf("%s is not gofmt-formatted; gofmt would write:\n%s", b[1], formatted)
		}
		file := filepath.Join(tmp, b[1])
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		overlay["Replace"][filepath.Join(abs, b[1])] = file
	}
	js, _ := json.Marshal(overlay)
	overlayFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlayFile, js, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "test", "-count=1", "-overlay", overlayFile, "github.com/troupebot/troupe/docs").CombinedOutput()
	if err != nil {
		t.Fatalf("the example in docs/extending.md does not pass: %v\n%s", err, out)
	}
}
