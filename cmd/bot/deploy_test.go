package main

// These tests keep deploy/ and docs/ honest without Docker or a cluster: they read the
// Dockerfile, the Render Blueprints, the Kubernetes manifests and the docs, and check them
// against the bot itself — its flag set, its HTTP routes, its metrics, its drain deadline —
// so that a change on either side that breaks a deploy fails here first.

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"fmt"
	"go/format"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/yaml"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/ops"
)

// root is the repository root, seen from this package's directory (where go test runs).
const root = "../.."

func readFile(tb testing.TB, rel string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func noEnv(string) string { return "" }

// envOf makes a getenv from a map.
func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// ---------------------------------------------------------------------------------------
// The flag set, as `bot -h` prints it.

// flagInfo is one flag of the real flag set.
type flagInfo struct {
	name, typ, env, usage string
	def                   string // the default as the flag package prints it; "" for a zero value
}

var (
	flagHeader = regexp.MustCompile(`^  -(\S+)(?: (\S+))?$`)
	flagUsage  = regexp.MustCompile(`^(.*?)(?: \(env ([A-Z0-9_]+)\))?(?: \(default ("(?:[^"\\]|\\.)*"|[^"()]*)\))?$`)
)

// flagSet parses the usage text parseConfig prints for -h, with an empty environment:
// every flag, its type, its environment variable and its default.
func flagSet(tb testing.TB) map[string]flagInfo {
	tb.Helper()
	var out bytes.Buffer
	parseConfig([]string{"-h"}, noEnv, &out)
	flags := map[string]flagInfo{}
	var cur *flagInfo
	flush := func() {
		if cur == nil {
			return
		}
		m := flagUsage.FindStringSubmatch(strings.TrimSpace(cur.usage))
		cur.usage, cur.env, cur.def = m[1], m[2], m[3]
		if cur.typ == "string" && cur.def != "" {
			def, err := strconv.Unquote(cur.def)
			if err != nil {
				tb.Fatalf("-%s: default %s is not quoted: %v", cur.name, cur.def, err)
			}
			cur.def = def
		}
		flags[cur.name] = *cur
	}
	for line := range strings.Lines(out.String()) {
		line = strings.TrimRight(line, "\n")
		if m := flagHeader.FindStringSubmatch(line); m != nil {
			flush()
			typ := m[2]
			if typ == "" {
				typ = "bool"
			}
			cur = &flagInfo{name: m[1], typ: typ}
			continue
		}
		if cur != nil && strings.HasPrefix(line, "    \t") {
			cur.usage += " " + strings.TrimPrefix(line, "    \t")
		}
	}
	flush()
	if len(flags) < len(settings) {
		tb.Fatalf("parsed %d flags from -h, fewer than the %d settings:\n%s", len(flags), len(settings), out.String())
	}
	return flags
}

// sameDefault reports whether a documented default, written as text, is the flag's
// default: compared as values of the flag's type, so `1m` matches 1m0s and `0.2` matches
// 0.2.
func sameDefault(f flagInfo, doc string) (bool, error) {
	def := f.def
	switch f.typ {
	case "string":
		return doc == def, nil
	case "bool":
		want := def == "true"
		got, err := strconv.ParseBool(doc)
		return got == want, err
	case "int":
		want, _ := strconv.Atoi(orZero(def, "0"))
		got, err := strconv.Atoi(strings.ReplaceAll(doc, ",", ""))
		return got == want, err
	case "float":
		want, _ := strconv.ParseFloat(orZero(def, "0"), 64)
		got, err := strconv.ParseFloat(doc, 64)
		return got == want, err
	case "duration":
		want, _ := time.ParseDuration(orZero(def, "0s"))
		got, err := time.ParseDuration(doc)
		return got == want, err
	}
	return false, fmt.Errorf("flag type %q unknown to this test", f.typ)
}

func orZero(s, zero string) string {
	if s == "" {
		return zero
	}
	return s
}

// TestFlagSetParsed guards the parser above: a flag of each type, as the code defines it.
func TestFlagSetParsed(t *testing.T) {
	flags := flagSet(t)
	want := map[string]flagInfo{
		"api-url":      {typ: "string", env: "TELEGRAM_API_URL", def: "https://api.telegram.org"},
		"token":        {typ: "string", env: "TELEGRAM_BOT_TOKEN"},
		"chaos":        {typ: "bool", env: "BOT_CHAOS"},
		"idle-timeout": {typ: "duration", env: "BOT_IDLE_TIMEOUT", def: "10m0s"},
		"rate-chat":    {typ: "float", env: "BOT_RATE_CHAT", def: "1"},
		"flood-burst":  {typ: "int", env: "BOT_FLOOD_BURST", def: "30"},
		"listen":       {typ: "string", env: "PORT", def: ":8080"},
		"webhook-url":  {typ: "string", env: "WEBHOOK_URL"},
		"version":      {typ: "bool"},
	}
	for name, w := range want {
		got, ok := flags[name]
		if !ok {
			t.Errorf("-%s not parsed", name)
			continue
		}
		if got.typ != w.typ || got.env != w.env || got.def != w.def {
			t.Errorf("-%s = type %q env %q default %q, want %q %q %q", name, got.typ, got.env, got.def, w.typ, w.env, w.def)
		}
	}
}

// ---------------------------------------------------------------------------------------
// Markdown tables.

// flagRow is a row of a markdown table whose first column is a flag.
type flagRow struct {
	line             int
	flag, env, deflt string
	meaning          string
	cells            int
}

var codeSpan = regexp.MustCompile("`([^`]*)`")

// flagRows returns the rows of every table in doc whose first cell is a flag in a code
// span (`-name`); env is the code span of the second cell ("" for a dash), and, in tables
// of four columns, deflt is the third cell as written.
func flagRows(doc string) []flagRow {
	var rows []flagRow
	for i, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "| `-") {
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
	flags := flagSet(t)
	rows := flagRows(readFile(t, "docs/configuration.md"))
	documented := map[string]bool{}
	for _, r := range rows {
		at := fmt.Sprintf("docs/configuration.md:%d: -%s", r.line, r.flag)
		f, ok := flags[r.flag]
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
		case f.typ == "string" && f.def == "":
			if !strings.HasPrefix(r.deflt, "none") {
				t.Errorf("%s: default %q, but the flag has none (write \"none\")", at, r.deflt)
			}
		default:
			m := codeSpan.FindStringSubmatch(r.deflt)
			if m == nil {
				t.Errorf("%s: default %q has no `value`; the flag's is %q", at, r.deflt, f.def)
				continue
			}
			if same, err := sameDefault(f, m[1]); err != nil || !same {
				t.Errorf("%s: default `%s`, but the flag's is %q (%v)", at, m[1], f.def, err)
			}
		}
	}
	for name := range flags {
		if !documented[name] {
			t.Errorf("docs/configuration.md lacks -%s (env %s)", name, flags[name].env)
		}
	}
}

// TestReadmeFlags checks whatever flag table the README keeps against the flag set.
func TestReadmeFlags(t *testing.T) {
	flags := flagSet(t)
	for _, r := range flagRows(readFile(t, "README.md")) {
		f, ok := flags[r.flag]
		switch {
		case !ok:
			t.Errorf("README.md:%d: -%s: no such flag", r.line, r.flag)
		case r.env != f.env:
			t.Errorf("README.md:%d: -%s: env %q, but the flag reads %q", r.line, r.flag, r.env, f.env)
		}
	}
}

// ---------------------------------------------------------------------------------------
// The Dockerfile.

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line      int
	cmd, args string
}

type stage struct {
	from, name string
	ins        []instruction
}

func parseDockerfile(tb testing.TB, text string) []stage {
	tb.Helper()
	var stages []stage
	var joined strings.Builder
	start := 0
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if joined.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if joined.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, `\`) {
			joined.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		joined.WriteString(trimmed)
		cmd, args, _ := strings.Cut(joined.String(), " ")
		joined.Reset()
		in := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			tb.Fatalf("Dockerfile:%d: %s before FROM", in.line, in.cmd)
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	return stages
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// execForm parses a JSON-array (exec form) argument list.
func execForm(tb testing.TB, in instruction) []string {
	tb.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(in.args), &argv); err != nil {
		tb.Fatalf("Dockerfile:%d: %s %s: not the exec form [\"...\"]: the image has no shell", in.line, in.cmd, in.args)
	}
	return argv
}

// image is what the tests read of deploy/Dockerfile.
type image struct {
	build, final stage
	buildCmd     string // the RUN that runs go build
	output       string // where go build writes the binary
	binary       string // where the final image has it
	uid          int
}

func readImage(tb testing.TB) image {
	tb.Helper()
	stages := parseDockerfile(tb, readFile(tb, "deploy/Dockerfile"))
	if len(stages) < 2 {
		tb.Fatalf("deploy/Dockerfile has %d stages, want a build stage and a final one", len(stages))
	}
	im := image{final: stages[len(stages)-1]}
	copies := im.final.all("COPY")
	if len(copies) != 1 {
		tb.Fatalf("the final stage has %d COPY instructions, want one: the binary", len(copies))
	}
	f := strings.Fields(copies[0].args)
	from, ok := strings.CutPrefix(f[0], "--from=")
	if !ok || len(f) != 3 {
		tb.Fatalf("Dockerfile:%d: COPY %s: want COPY --from=<build stage> <binary> <path>", copies[0].line, copies[0].args)
	}
	im.output, im.binary = f[1], f[2]
	for _, s := range stages {
		if s.name == from {
			im.build = s
		}
	}
	if im.build.name == "" {
		tb.Fatalf("Dockerfile: COPY --from=%s: no such stage", from)
	}
	for _, in := range im.build.all("RUN") {
		if strings.Contains(in.args, "go build") {
			im.buildCmd = in.args
		}
	}
	if im.buildCmd == "" {
		tb.Fatal("Dockerfile: the build stage has no RUN with go build")
	}
	users := im.final.all("USER")
	if len(users) == 0 {
		tb.Fatal("Dockerfile: the final stage sets no USER, so it runs as root")
	}
	user, _, _ := strings.Cut(users[len(users)-1].args, ":")
	uid, err := strconv.Atoi(user)
	if err != nil {
		// Kubernetes' runAsNonRoot cannot check a user name without reading the image.
		tb.Fatalf("Dockerfile:%d: USER %s: want a numeric uid", users[len(users)-1].line, users[len(users)-1].args)
	}
	im.uid = uid
	return im
}

// TestDockerfile checks the image's shape: multi-stage, Go as go.mod asks, a static
// build with the version stamped, a minimal non-root final image that checks its own
// health with the binary and needs no shell.
func TestDockerfile(t *testing.T) {
	im := readImage(t)
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(readFile(t, "go.mod"))
	if !strings.HasPrefix(im.build.from, "golang:"+goVersion[1]) {
		t.Errorf("build stage FROM %s, want golang:%s (go.mod's go version)", im.build.from, goVersion[1])
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=", "-o " + im.output, "./cmd/bot"} {
		if !strings.Contains(im.buildCmd, want) {
			t.Errorf("the go build line lacks %q: %s", want, im.buildCmd)
		}
	}
	if !strings.HasPrefix(im.final.from, "gcr.io/distroless/static") && im.final.from != "scratch" {
		t.Errorf("final stage FROM %s, want distroless static or scratch", im.final.from)
	}
	if im.uid == 0 {
		t.Error("the final stage runs as uid 0")
	}
	for _, cmd := range []string{"RUN", "VOLUME", "ENV"} {
		// No shell to RUN; nothing to write to; configuration comes from the platform.
		for _, in := range im.final.all(cmd) {
			t.Errorf("Dockerfile:%d: %s in the final stage", in.line, cmd)
		}
	}
	entry := im.final.all("ENTRYPOINT")
	if len(entry) != 1 || !slices.Equal(execForm(t, entry[0]), []string{im.binary}) {
		t.Errorf("ENTRYPOINT = %v, want [%q]", entry, im.binary)
	}
	hc := im.final.all("HEALTHCHECK")
	if len(hc) != 1 {
		t.Fatalf("the final stage has %d HEALTHCHECKs, want 1", len(hc))
	}
	opts, cmd, ok := strings.Cut(hc[0].args, "CMD ")
	if !ok {
		t.Fatalf("Dockerfile:%d: HEALTHCHECK %s: no CMD", hc[0].line, hc[0].args)
	}
	if argv := execForm(t, instruction{line: hc[0].line, cmd: "HEALTHCHECK CMD", args: cmd}); !slices.Equal(argv, []string{im.binary, "healthcheck"}) {
		t.Errorf("HEALTHCHECK CMD %v, want [%q \"healthcheck\"]", argv, im.binary)
	}
	if !strings.Contains(opts, "--timeout=") {
		t.Errorf("HEALTHCHECK %s: no --timeout (Docker's default is 30 s)", opts)
	}
	// EXPOSE documents the port the bot listens on when nothing sets PORT.
	cfg, err := parseConfig(nil, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if expose := im.final.all("EXPOSE"); len(expose) != 1 || ":"+expose[0].args != cfg.listen {
		t.Errorf("EXPOSE %v, want the default -listen %s", expose, cfg.listen)
	}
}

// TestImageBinary runs the Dockerfile's go build line as written (with the output path
// moved to a temporary directory) and checks what it makes: a static binary, no cgo,
// trimmed paths, and the version from the build arguments, as `bot -version` prints it.
func TestImageBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary three times")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to run the Dockerfile's RUN line")
	}
	im := readImage(t)
	tests := []struct {
		name string
		args map[string]string // build arguments
		want string
	}{
		{"VERSION given", map[string]string{"VERSION": "v1.2.3-test", "RENDER_GIT_COMMIT": "0123abc"}, "v1.2.3-test"},
		{"Render's commit", map[string]string{"RENDER_GIT_COMMIT": "0123abc"}, "0123abc"},
		{"nothing given", nil, "dev"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "bot")
			// The RUN line runs in the build stage's WORKDIR, a copy of the repository.
			run := exec.Command(sh, "-c", strings.ReplaceAll(im.buildCmd, im.output, bin))
			run.Dir = root
			env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
				return strings.HasPrefix(kv, "VERSION=") || strings.HasPrefix(kv, "RENDER_GIT_COMMIT=")
			})
			for k, v := range tt.args {
				env = append(env, k+"="+v)
			}
			run.Env = env
			if out, err := run.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", im.buildCmd, err, out)
			}
			out, err := exec.Command(bin, "-version").Output()
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(string(out)); got != tt.want {
				t.Errorf("bot -version = %q, want %q", got, tt.want)
			}
			if i == 0 {
				checkStatic(t, bin)
			}
		})
	}
}

// checkStatic fails unless bin needs nothing from the image at run time: no dynamic
// loader (PT_INTERP), no shared libraries (DT_NEEDED), built without cgo and with
// -trimpath.
func checkStatic(tb testing.TB, bin string) {
	tb.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			tb.Error("the binary asks for a dynamic loader (PT_INTERP): it would not start on distroless/static or scratch")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		tb.Errorf("the binary needs shared libraries %v (%v)", libs, err)
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		tb.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		tb.Errorf("build settings CGO_ENABLED=%q -trimpath=%q, want 0 and true", settings["CGO_ENABLED"], settings["-trimpath"])
	}
}

// ---------------------------------------------------------------------------------------
// The bot's deadlines and routes, as the code has them.

// stopDeadline is the longest the bot takes to stop after SIGTERM: the drain (bot.New's
// default DrainTimeout) and then the HTTP server's shutdown (shutdown in main.go).
func stopDeadline(tb testing.TB) time.Duration {
	tb.Helper()
	return bot.DefaultDrainTimeout + shutdownTimeout
}

type readiness bool

func (r readiness) Ready() bool { return bool(r) }

// status returns the code the bot's operator endpoints answer GET path with.
func status(path string, ready bool) int {
	rec := httptest.NewRecorder()
	ops.Handler(readiness(ready), prometheus.NewRegistry()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}

// checkLiveness fails unless path is a liveness check: 200 whether or not the bot is
// ready (a restart would not make a draining bot ready sooner).
func checkLiveness(tb testing.TB, where, path string) {
	tb.Helper()
	if a, b := status(path, true), status(path, false); a != http.StatusOK || b != http.StatusOK {
		tb.Errorf("%s: health check %s answers %d when ready, %d when not; want 200 both", where, path, a, b)
	}
}

func checkReadiness(tb testing.TB, where, path string) {
	tb.Helper()
	if a, b := status(path, true), status(path, false); a != http.StatusOK || b != http.StatusServiceUnavailable {
		tb.Errorf("%s: readiness check %s answers %d when ready, %d when not; want 200 and 503", where, path, a, b)
	}
}

// knownEnv is every variable a deploy may set: the settings table's, and the Go runtime's
// that the docs recommend.
func knownEnv() map[string]bool {
	known := map[string]bool{"GOMEMLIMIT": true, "GOGC": true}
	for _, s := range settings {
		known[s.env] = true
	}
	return known
}

// Stand-ins for the values a deploy takes from its secrets: valid, so that the
// configuration must parse with them.
var secretStandIns = map[string]string{
	"TELEGRAM_BOT_TOKEN": "123456789:stand-in",
	"WEBHOOK_SECRET":     "0123456789abcdef0123456789abcdef",
	"BOT_ADMINS":         "123456789",
}

// show prints an optional field of a manifest: its value, or "unset".
func show[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

// ---------------------------------------------------------------------------------------
// Render.

// renderBlueprint is the part of Render's Blueprint spec the files use. The files are read
// strictly: a misspelt field (Render would ignore it, or refuse the Blueprint) fails here.
// Add a field here when a Blueprint needs one Render's spec has.
type renderBlueprint struct {
	Services []renderService `json:"services"`
}

type renderService struct {
	Type                    string      `json:"type"`
	Name                    string      `json:"name"`
	Runtime                 string      `json:"runtime"`
	DockerfilePath          string      `json:"dockerfilePath"`
	DockerContext           string      `json:"dockerContext"`
	Plan                    string      `json:"plan"`
	Region                  string      `json:"region"`
	NumInstances            *int        `json:"numInstances"`
	HealthCheckPath         string      `json:"healthCheckPath"`
	MaxShutdownDelaySeconds *int        `json:"maxShutdownDelaySeconds"`
	EnvVars                 []renderEnv `json:"envVars"`
}

type renderEnv struct {
	Key           string  `json:"key"`
	Value         *string `json:"value"`
	Sync          *bool   `json:"sync"`
	GenerateValue *bool   `json:"generateValue"`
}

// TestRenderBlueprints checks both Blueprints against the bot and Render's rules.
func TestRenderBlueprints(t *testing.T) {
	deadline := stopDeadline(t)
	known := knownEnv()
	regions := []string{"oregon", "ohio", "virginia", "frankfurt", "singapore"}
	tests := []struct {
		file, typ, mode string
	}{
		{"deploy/render.yaml", "web", "webhook"},
		{"deploy/render-polling.yaml", "worker", "polling"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			var bp renderBlueprint
			if err := yaml.UnmarshalStrict([]byte(readFile(t, tt.file)), &bp); err != nil {
				t.Fatalf("%s: %v", tt.file, err)
			}
			if len(bp.Services) != 1 {
				t.Fatalf("%s: %d services, want 1 (the two modes must not run with one token)", tt.file, len(bp.Services))
			}
			s := bp.Services[0]
			if s.Type != tt.typ || s.Runtime != "docker" || s.Name == "" {
				t.Errorf("service type %q runtime %q name %q, want %s, docker, a name", s.Type, s.Runtime, s.Name, tt.typ)
			}
			if path := filepath.Clean(s.DockerfilePath); path != "deploy/Dockerfile" || filepath.Clean(s.DockerContext) != "." {
				t.Errorf("dockerfilePath %q dockerContext %q, want ./deploy/Dockerfile from the repository root", s.DockerfilePath, s.DockerContext)
			}
			if s.Plan == "" || s.Plan == "free" {
				t.Errorf("plan %q: the free plan stops idle services, and every context with them", s.Plan)
			}
			if !slices.Contains(regions, s.Region) {
				t.Errorf("region %q, want one of %v", s.Region, regions)
			}
			if s.NumInstances == nil || *s.NumInstances != 1 {
				t.Errorf("numInstances %s, want exactly 1: users' contexts live in one process", show(s.NumInstances))
			}
			if s.MaxShutdownDelaySeconds == nil {
				t.Errorf("no maxShutdownDelaySeconds")
			} else if d := time.Duration(*s.MaxShutdownDelaySeconds) * time.Second; d <= deadline || d > 300*time.Second {
				t.Errorf("maxShutdownDelaySeconds %v: want more than the bot's %v to stop, and at most Render's 300 s", d, deadline)
			}

			env := map[string]string{}
			for _, e := range s.EnvVars {
				if !known[e.Key] {
					t.Errorf("envVars: %s is not a variable the bot reads", e.Key)
				}
				sources := 0
				for _, set := range []bool{e.Value != nil, e.Sync != nil && !*e.Sync, e.GenerateValue != nil && *e.GenerateValue} {
					if set {
						sources++
					}
				}
				if sources != 1 {
					t.Errorf("envVars: %s has %d sources, want one of value, sync: false, generateValue", e.Key, sources)
				}
				switch {
				case e.Value != nil:
					if _, secret := secretStandIns[e.Key]; secret && e.Key != "BOT_ADMINS" {
						t.Errorf("envVars: %s has a value in the repository; want sync: false", e.Key)
					}
					env[e.Key] = *e.Value
				case e.GenerateValue != nil:
					if e.Key != "WEBHOOK_SECRET" {
						t.Errorf("envVars: %s: generateValue is for the webhook secret only", e.Key)
					}
					// Render generates base64; the bot, which registers the webhook, turns
					// it into a token Telegram accepts.
					env[e.Key] = "dGhlIHNlY3JldA+/=="
				default:
					v, ok := secretStandIns[e.Key]
					if !ok {
						t.Errorf("envVars: %s is set in the dashboard, but this test has no stand-in for it", e.Key)
					}
					env[e.Key] = v
				}
			}
			if _, ok := env["TELEGRAM_BOT_TOKEN"]; !ok {
				t.Error("envVars: no TELEGRAM_BOT_TOKEN: the bot would start its sandbox")
			}
			if tt.typ == "web" {
				// What Render sets on a web service.
				env["RENDER_EXTERNAL_URL"] = "https://" + s.Name + ".onrender.com"
				if env["PORT"] == "" {
					env["PORT"] = "10000"
				}
			}
			cfg, err := parseConfig(nil, envOf(env), io.Discard)
			if err != nil {
				t.Fatalf("the bot refuses this service's environment: %v", err)
			}
			if cfg.mode != tt.mode {
				t.Errorf("mode %q, want %q", cfg.mode, tt.mode)
			}
			switch tt.typ {
			case "web":
				if _, ok := env["WEBHOOK_SECRET"]; !ok {
					t.Error("envVars: no WEBHOOK_SECRET: anyone could post updates to the webhook")
				}
				if cfg.listen != ":"+env["PORT"] {
					t.Errorf("the bot listens on %q, Render routes to PORT %s", cfg.listen, env["PORT"])
				}
				if want := env["RENDER_EXTERNAL_URL"] + "/webhook"; cfg.webhookURL != want {
					t.Errorf("webhook URL %q, want %q", cfg.webhookURL, want)
				}
				if s.HealthCheckPath != "/healthz" {
					t.Errorf("healthCheckPath %q, want /healthz", s.HealthCheckPath)
				}
				checkLiveness(t, tt.file, s.HealthCheckPath)
				if p := cfg.webhookPath(); status(p, true) != http.StatusNotFound {
					t.Errorf("the webhook path %s collides with an operator endpoint", p)
				}
			case "worker":
				if s.HealthCheckPath != "" {
					t.Errorf("healthCheckPath %q on a worker: Render checks only web services", s.HealthCheckPath)
				}
				for _, k := range []string{"WEBHOOK_URL", "WEBHOOK_SECRET", "PORT"} {
					if _, ok := env[k]; ok {
						t.Errorf("envVars: %s on a polling worker, which serves no webhook", k)
					}
				}
			}
		})
	}
}

// ---------------------------------------------------------------------------------------
// Kubernetes.

// The parts of the Kubernetes objects the tests read; fields not named here are ignored.
type k8sObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
}

type k8sDeployment struct {
	k8sObject
	Spec struct {
		Replicas *int `json:"replicas"`
		Strategy struct {
			Type string `json:"type"`
		} `json:"strategy"`
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Spec struct {
				AutomountServiceAccountToken  *bool `json:"automountServiceAccountToken"`
				TerminationGracePeriodSeconds *int  `json:"terminationGracePeriodSeconds"`
				SecurityContext               struct {
					RunAsNonRoot *bool `json:"runAsNonRoot"`
					RunAsUser    *int  `json:"runAsUser"`
				} `json:"securityContext"`
				Containers []k8sContainer `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

type k8sContainer struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	Ports []struct {
		Name          string `json:"name"`
		ContainerPort int    `json:"containerPort"`
	} `json:"ports"`
	Env []struct {
		Name      string  `json:"name"`
		Value     *string `json:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name string `json:"name"`
				Key  string `json:"key"`
			} `json:"secretKeyRef"`
		} `json:"valueFrom"`
	} `json:"env"`
	Resources struct {
		Requests map[string]string `json:"requests"`
		Limits   map[string]string `json:"limits"`
	} `json:"resources"`
	LivenessProbe  *k8sProbe `json:"livenessProbe"`
	ReadinessProbe *k8sProbe `json:"readinessProbe"`
	Security       struct {
		ReadOnlyRootFilesystem   *bool `json:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `json:"allowPrivilegeEscalation"`
		RunAsNonRoot             *bool `json:"runAsNonRoot"`
		Capabilities             struct {
			Drop []string `json:"drop"`
		} `json:"capabilities"`
	} `json:"securityContext"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `json:"path"`
		Port any    `json:"port"`
	} `json:"httpGet"`
}

type k8sService struct {
	k8sObject
	Spec struct {
		Selector map[string]string `json:"selector"`
		Ports    []struct {
			Port       int `json:"port"`
			TargetPort any `json:"targetPort"`
		} `json:"ports"`
	} `json:"spec"`
}

type k8sSecret struct {
	k8sObject
	StringData map[string]string `json:"stringData"`
}

func readK8s(tb testing.TB, file string, v any) {
	tb.Helper()
	if err := yaml.Unmarshal([]byte(readFile(tb, filepath.Join("deploy/k8s", file))), v); err != nil {
		tb.Fatalf("deploy/k8s/%s: %v", file, err)
	}
}

// Measured in docs/performance.md (BenchmarkResidentMemory, typical context, the most of
// the three runs; the idle process's RSS as /status shows it): what the Deployment's
// memory must hold for each resident user it lets in.
const (
	residentUserBytes = 2941
	idleProcessBytes  = 30 << 20
)

var quantity = regexp.MustCompile(`^(\d+)(Ki|Mi|Gi|KiB|MiB|GiB|k|M|G|B)?$`)

// bytesOf reads a memory size as Kubernetes (768Mi) or GOMEMLIMIT (600MiB) writes it.
func bytesOf(tb testing.TB, s string) int64 {
	tb.Helper()
	m := quantity.FindStringSubmatch(s)
	if m == nil {
		tb.Fatalf("memory size %q: not understood", s)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	mult := map[string]int64{"": 1, "B": 1, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 1 << 10, "KiB": 1 << 10, "Mi": 1 << 20, "MiB": 1 << 20, "Gi": 1 << 30, "GiB": 1 << 30}
	return n * mult[m[2]]
}

// TestKubernetesManifests checks the Deployment, Service, Secret example and kustomization
// against the bot and the image.
func TestKubernetesManifests(t *testing.T) {
	var d k8sDeployment
	var svc k8sService
	var secret k8sSecret
	var kust struct {
		Resources []string `json:"resources"`
	}
	readK8s(t, "deployment.yaml", &d)
	readK8s(t, "service.yaml", &svc)
	readK8s(t, "secret.example.yaml", &secret)
	readK8s(t, "kustomization.yaml", &kust)
	im := readImage(t)
	spec := d.Spec.Template.Spec

	if d.Kind != "Deployment" || svc.Kind != "Service" || secret.Kind != "Secret" {
		t.Fatalf("kinds %q %q %q, want Deployment, Service, Secret", d.Kind, svc.Kind, secret.Kind)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Errorf("replicas %s, want exactly 1: users' contexts live in one process", show(d.Spec.Replicas))
	}
	if d.Spec.Strategy.Type != "Recreate" {
		t.Errorf("strategy %q, want Recreate: a rolling update runs two replicas at once", d.Spec.Strategy.Type)
	}
	for k, v := range d.Spec.Selector.MatchLabels {
		if d.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod's labels", k, v)
		}
	}
	if g := spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= stopDeadline(t) {
		t.Errorf("terminationGracePeriodSeconds %s, want more than the bot's %v to stop", show(g), stopDeadline(t))
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken is not false: the bot needs no API token")
	}
	psc := spec.SecurityContext
	if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != im.uid {
		t.Errorf("pod securityContext runAsNonRoot %s runAsUser %s, want true and the image's uid %d", show(psc.RunAsNonRoot), show(psc.RunAsUser), im.uid)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	sc := c.Security
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("container runAsNonRoot is not true")
	}
	if !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) {
		t.Errorf("capabilities drop %v, want [ALL]", sc.Capabilities.Drop)
	}

	// The environment, with the Secret's values, must be one the bot accepts.
	known := knownEnv()
	env := map[string]string{}
	for _, e := range c.Env {
		if !known[e.Name] {
			t.Errorf("env %s is not a variable the bot reads", e.Name)
		}
		switch {
		case e.Value != nil:
			if _, secret := secretStandIns[e.Name]; secret && e.Name != "BOT_ADMINS" {
				t.Errorf("env %s has its value in the manifest; want a secretKeyRef", e.Name)
			}
			env[e.Name] = *e.Value
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v, ok := secret.StringData[ref.Key]
			if ref.Name != secret.Metadata.Name || !ok {
				t.Errorf("env %s: secret %s key %s is not in secret.example.yaml", e.Name, ref.Name, ref.Key)
			}
			env[e.Name] = v
		default:
			t.Errorf("env %s: neither a value nor a secretKeyRef", e.Name)
		}
	}
	cfg, err := parseConfig(nil, envOf(env), io.Discard)
	if err != nil {
		t.Fatalf("the bot refuses the Deployment's environment: %v", err)
	}
	if cfg.mode != "webhook" || cfg.webhookSecret == "" {
		t.Errorf("mode %q with secret %v, want webhook with a secret", cfg.mode, cfg.webhookSecret != "")
	}
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if cfg.listen != fmt.Sprintf(":%d", ports["http"]) {
		t.Errorf("the bot listens on %q, the container port named http is %d", cfg.listen, ports["http"])
	}

	// Probes: paths the bot serves, on the port it listens on.
	probes := []struct {
		name  string
		p     *k8sProbe
		check func(testing.TB, string, string)
	}{{"livenessProbe", c.LivenessProbe, checkLiveness}, {"readinessProbe", c.ReadinessProbe, checkReadiness}}
	for _, pr := range probes {
		if pr.p == nil || pr.p.HTTPGet == nil {
			t.Errorf("no %s.httpGet", pr.name)
			continue
		}
		pr.check(t, "deployment.yaml "+pr.name, pr.p.HTTPGet.Path)
		if port := fmt.Sprint(pr.p.HTTPGet.Port); port != "http" && port != strconv.Itoa(ports["http"]) {
			t.Errorf("%s port %s is not the bot's", pr.name, port)
		}
	}
	if c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("livenessProbe path %s, want /healthz", c.LivenessProbe.HTTPGet.Path)
	}

	// Memory: the limit holds GOMEMLIMIT, which holds the resident users let in.
	limit := bytesOf(t, c.Resources.Limits["memory"])
	if req := c.Resources.Requests["memory"]; req == "" || bytesOf(t, req) != limit {
		t.Errorf("memory request %q, want it equal to the limit %s", req, c.Resources.Limits["memory"])
	}
	if c.Resources.Requests["cpu"] == "" {
		t.Error("no cpu request")
	}
	if _, ok := c.Resources.Limits["cpu"]; ok {
		t.Error("a cpu limit: throttling stalls the collector and the chart renderers")
	}
	memLimit := bytesOf(t, env["GOMEMLIMIT"])
	if memLimit >= limit {
		t.Errorf("GOMEMLIMIT %s is not below the memory limit %s", env["GOMEMLIMIT"], c.Resources.Limits["memory"])
	}
	if live := int64(cfg.maxResident)*residentUserBytes + idleProcessBytes; live > memLimit {
		t.Errorf("%d resident users need about %d MiB, over GOMEMLIMIT %s", cfg.maxResident, live>>20, env["GOMEMLIMIT"])
	}

	// The Service reaches the pod's HTTP port.
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("Service selector %s=%s does not match the pod's labels", k, v)
		}
	}
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("Service has %d ports, want 1", len(svc.Spec.Ports))
	}
	if tp := fmt.Sprint(svc.Spec.Ports[0].TargetPort); tp != "http" && tp != strconv.Itoa(ports["http"]) {
		t.Errorf("Service targetPort %s is not the bot's port", tp)
	}

	// kubectl apply -k applies the Deployment and Service, never the example Secret.
	if !slices.Equal(kust.Resources, []string{"deployment.yaml", "service.yaml"}) {
		t.Errorf("kustomization resources %v, want deployment.yaml and service.yaml", kust.Resources)
	}
}

// ---------------------------------------------------------------------------------------
// docs/operations.md: the names the bot really exports, the lines /status really prints.

// TestOperationsDoc checks that every metric the bot exports is explained, every troupe_
// name the doc mentions exists, and every line of /status is explained.
func TestOperationsDoc(t *testing.T) {
	doc := readFile(t, "docs/operations.md")
	b, err := bot.New(bot.Config{Token: "1:metrics", APIURL: "http://127.0.0.1:1", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	families, err := b.Registry().Gather()
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

// pendingDocs are pages other issues write; a link to one is fine before it lands.
var pendingDocs = map[string]bool{
	"docs/loadtest.md": true, // the load-test harness issue
}

var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocLinks checks that every relative link in the README and docs/ names a file (or
// directory) of the repository.
func TestDocLinks(t *testing.T) {
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
		for _, m := range mdLink.FindAllStringSubmatch(string(text), -1) {
			target, _, _ := strings.Cut(m[1], "#")
			if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path := filepath.Join(filepath.Dir(rel), target)
			if _, err := os.Stat(filepath.Join(root, path)); err != nil && !pendingDocs[filepath.ToSlash(path)] {
				t.Errorf("%s: link to %s: %v", rel, m[1], err)
			}
		}
	}
}

// TestExtendingExample compiles and tests the example bot in docs/extending.md, so the
// page cannot drift from the runtime's API: every ```go block whose first line is
// "// File: NAME.go" becomes docs/NAME.go in an overlay (nothing is written to the
// repository), and `go test` runs them as a package.
func TestExtendingExample(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the example")
	}
	doc := readFile(t, "docs/extending.md")
	blocks := regexp.MustCompile("(?s)```go\n// File: ([a-z_]+\\.go)\n(.*?)```").FindAllStringSubmatch(doc, -1)
	if len(blocks) < 2 {
		t.Fatalf("docs/extending.md has %d example files, want the bot and its test", len(blocks))
	}
	abs, err := filepath.Abs(filepath.Join(root, "docs"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	overlay := map[string]map[string]string{"Replace": {}}
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
