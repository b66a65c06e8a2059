package deploy

import (
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/troupebot/troupe/internal/repotest"
)

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
	stages := parseDockerfile(tb, repotest.ReadFile(tb, "deploy/Dockerfile"))
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
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(repotest.ReadFile(t, "go.mod"))
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
	if expose, listen := im.final.all("EXPOSE"), defaultListen(t); len(expose) != 1 || ":"+expose[0].args != listen {
		t.Errorf("EXPOSE %v, want the default -listen %s", expose, listen)
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
			run.Dir = repotest.Root(t)
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
	build := map[string]string{}
	for _, s := range info.Settings {
		build[s.Key] = s.Value
	}
	if build["CGO_ENABLED"] != "0" || build["-trimpath"] != "true" {
		tb.Errorf("build settings CGO_ENABLED=%q -trimpath=%q, want 0 and true", build["CGO_ENABLED"], build["-trimpath"])
	}
}
