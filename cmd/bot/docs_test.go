package main

// These tests keep the pages that describe the bot's configuration honest: the flag set, as
// parseConfig builds it, against docs/configuration.md, the README's table and what
// docs/operations.md promises about stopping. deploy/ is checked against these pages in its
// own tests, so a change to a default fails here, and a deploy that relies on it fails there.

import (
	"flag"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/internal/repotest"
)

func noEnv(string) string { return "" }

// flagInfo is one flag of the real flag set.
type flagInfo struct {
	*flag.Flag
	typ, env string // typ as flag.UnquoteUsage names it ("bool" for a boolean flag)
}

var envInUsage = regexp.MustCompile(`\(env ([A-Z0-9_]+)\)$`)

// flags returns the flag set parseConfig builds with an empty environment: every flag, its
// type, its environment variable (as its usage names it) and its default.
func flags(tb testing.TB) map[string]flagInfo {
	tb.Helper()
	out := map[string]flagInfo{}
	newFlagSet(noEnv, io.Discard).VisitAll(func(f *flag.Flag) {
		typ, _ := flag.UnquoteUsage(f)
		if typ == "" {
			typ = "bool"
		}
		fi := flagInfo{Flag: f, typ: typ}
		if m := envInUsage.FindStringSubmatch(f.Usage); m != nil {
			fi.env = m[1]
		}
		out[f.Name] = fi
	})
	return out
}

// sameDefault reports whether a documented default, written as text, is the flag's
// default: the text is set on a fresh value of the flag's own type, so `1m` matches 1m0s,
// `0.2` matches 0.2 and `100,000` matches 100000.
func sameDefault(f flagInfo, doc string) (bool, error) {
	if f.typ == "int" {
		doc = strings.ReplaceAll(doc, ",", "")
	}
	v := reflect.New(reflect.TypeOf(f.Value).Elem()).Interface().(flag.Value)
	if err := v.Set(doc); err != nil {
		return false, err
	}
	return v.String() == f.DefValue, nil
}

// TestFlagsRead guards the reading above: a flag of each type, as the code defines it.
func TestFlagsRead(t *testing.T) {
	fl := flags(t)
	want := map[string]struct{ typ, env, def string }{
		"api-url":      {"string", "TELEGRAM_API_URL", "https://api.telegram.org"},
		"token":        {"string", "TELEGRAM_BOT_TOKEN", ""},
		"chaos":        {"bool", "BOT_CHAOS", "false"},
		"idle-timeout": {"duration", "BOT_IDLE_TIMEOUT", "10m0s"},
		"rate-chat":    {"float", "BOT_RATE_CHAT", "1"},
		"flood-burst":  {"int", "BOT_FLOOD_BURST", "30"},
		"listen":       {"string", "PORT", ":8080"},
		"webhook-url":  {"string", "WEBHOOK_URL", ""},
		"version":      {"bool", "", "false"},
	}
	for name, w := range want {
		got, ok := fl[name]
		if !ok {
			t.Errorf("-%s not in the flag set", name)
			continue
		}
		if got.typ != w.typ || got.env != w.env || got.DefValue != w.def {
			t.Errorf("-%s = type %q env %q default %q, want %q %q %q", name, got.typ, got.env, got.DefValue, w.typ, w.env, w.def)
		}
	}
	if same, err := sameDefault(fl["idle-timeout"], "10m"); !same || err != nil {
		t.Errorf("sameDefault(-idle-timeout, 10m) = %v, %v; want true", same, err)
	}
	if same, _ := sameDefault(fl["flood-burst"], "3,000"); same {
		t.Error("sameDefault(-flood-burst, 3,000) = true; want false")
	}
}

// flagRow is a row of a markdown table whose first column is a flag.
type flagRow struct {
	line             int
	flag, env, deflt string
	meaning          string
	cells            int
}

var codeSpan = regexp.MustCompile("`([^`]*)`")

// flagRows returns the rows of every table in doc headed "| flag | env | …" whose first
// cell is a flag in a code span (`-name`); env is the code span of the second cell ("" for
// a dash), and, in tables of four columns, deflt is the third cell as written. Other tables
// may name flags as they like (which port to expose where, say).
func flagRows(doc string) []flagRow {
	var rows []flagRow
	inFlagTable := false
	for i, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "|") {
			inFlagTable = false
			continue
		}
		if header := strings.Fields(strings.Trim(line, "| ")); len(header) > 2 && header[0] == "flag" && header[1] == "|" && header[2] == "env" {
			inFlagTable = true
		}
		if !inFlagTable || !strings.HasPrefix(line, "| `-") {
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), " | ")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		r := flagRow{line: i + 1, flag: strings.TrimPrefix(strings.Trim(cells[0], "`"), "-"), cells: len(cells)}
		if len(cells) > 1 {
			if m := codeSpan.FindStringSubmatch(cells[1]); m != nil {
				r.env = m[1]
			}
		}
		if len(cells) == 4 {
			r.deflt, r.meaning = cells[2], cells[3]
		} else if len(cells) > 2 {
			r.meaning = cells[len(cells)-1]
		}
		rows = append(rows, r)
	}
	return rows
}

// TestConfigurationDoc checks docs/configuration.md against the real flag set: every flag
// is documented, every documented flag exists, with its environment variable and default.
func TestConfigurationDoc(t *testing.T) {
	fl := flags(t)
	rows := flagRows(repotest.ReadFile(t, "docs/configuration.md"))
	documented := map[string]bool{}
	for _, r := range rows {
		at := fmt.Sprintf("docs/configuration.md:%d: -%s", r.line, r.flag)
		f, ok := fl[r.flag]
		if !ok {
			t.Errorf("%s: no such flag", at)
			continue
		}
		if documented[r.flag] {
			t.Errorf("%s: documented twice", at)
		}
		documented[r.flag] = true
		if r.cells != 4 {
			t.Errorf("%s: %d columns, want 4 (flag, env, default, meaning)", at, r.cells)
			continue
		}
		if r.env != f.env {
			t.Errorf("%s: env %q, but the flag reads %q", at, r.env, f.env)
		}
		if r.meaning == "" {
			t.Errorf("%s: no meaning given", at)
		}
		switch {
		case r.flag == "max-resident":
			// Sized to the machine's memory, so no one number is right.
			if !strings.Contains(r.deflt, "sized to memory") {
				t.Errorf("%s: default %q, want it to say \"sized to memory\"", at, r.deflt)
			}
		case f.typ == "string" && f.DefValue == "":
			if !strings.HasPrefix(r.deflt, "none") {
				t.Errorf("%s: default %q, but the flag has none (write \"none\")", at, r.deflt)
			}
		default:
			m := codeSpan.FindStringSubmatch(r.deflt)
			if m == nil {
				t.Errorf("%s: default %q has no `value`; the flag's is %q", at, r.deflt, f.DefValue)
				continue
			}
			if same, err := sameDefault(f, m[1]); err != nil || !same {
				t.Errorf("%s: default `%s`, but the flag's is %q (%v)", at, m[1], f.DefValue, err)
			}
		}
	}
	for name, f := range fl {
		if !documented[name] {
			t.Errorf("docs/configuration.md lacks -%s (env %s)", name, f.env)
		}
	}
}

// TestReadmeFlags checks whatever flag table the README keeps against the flag set.
func TestReadmeFlags(t *testing.T) {
	fl := flags(t)
	for _, r := range flagRows(repotest.ReadFile(t, "README.md")) {
		f, ok := fl[r.flag]
		switch {
		case !ok:
			t.Errorf("README.md:%d: -%s: no such flag", r.line, r.flag)
		case r.env != f.env:
			t.Errorf("README.md:%d: -%s: env %q, but the flag reads %q", r.line, r.flag, r.env, f.env)
		}
	}
}

// stopPromise is how docs/operations.md states the longest the bot takes to stop after
// SIGTERM; deploy/'s tests hold the platforms' grace periods to the first number.
var stopPromise = regexp.MustCompile(`more\s+than\s+(\d+)\s+s\s+\((\d+)\s+s\s+to\s+drain,\s+(\d+)\s+s\s+to\s+stop\s+the\s+HTTP\s+server\)`)

// TestStopDeadlineDoc checks that promise against the code: the drain (bot.New's default
// DrainTimeout), then the HTTP server's shutdown (shutdown in main.go).
func TestStopDeadlineDoc(t *testing.T) {
	m := stopPromise.FindStringSubmatch(repotest.ReadFile(t, "docs/operations.md"))
	if m == nil {
		t.Fatalf("docs/operations.md does not say %q", "more than N s (D s to drain, H s to stop the HTTP server)")
	}
	sec := func(s string) time.Duration { n, _ := strconv.Atoi(s); return time.Duration(n) * time.Second }
	total, drain, http := sec(m[1]), sec(m[2]), sec(m[3])
	if drain != bot.DefaultDrainTimeout || http != shutdownTimeout || total != drain+http {
		t.Errorf("docs/operations.md: %q, but the bot drains in %v and stops its HTTP server in %v", m[0], bot.DefaultDrainTimeout, shutdownTimeout)
	}
}
