package main

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want config
		err  string
	}{
		{
			name: "defaults",
			want: config{apiURL: "https://api.telegram.org", mode: "polling", listen: ":8080"},
		},
		{
			name: "environment",
			env:  map[string]string{"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_API_URL": "http://127.0.0.1:9", "PORT": "10000", "BOT_ADMINS": "1, 2", "BOT_CHAOS": "true"},
			want: config{token: "1:x", apiURL: "http://127.0.0.1:9", mode: "polling", listen: ":10000", admins: []int64{1, 2}, chaos: true},
		},
		{
			name: "flags win over environment",
			args: []string{"-token", "2:y", "-listen", "127.0.0.1:9000", "-admins", "7", "-chaos=false"},
			env:  map[string]string{"TELEGRAM_BOT_TOKEN": "1:x", "PORT": "10000", "BOT_ADMINS": "1", "BOT_CHAOS": "1"},
			want: config{token: "2:y", apiURL: "https://api.telegram.org", mode: "polling", listen: "127.0.0.1:9000", admins: []int64{7}},
		},
		{name: "bad port", env: map[string]string{"PORT": "http"}, err: `PORT="http": not a port number`},
		{name: "bad chaos", env: map[string]string{"BOT_CHAOS": "maybe"}, err: `BOT_CHAOS="maybe": not true or false`},
		{name: "bad admin", args: []string{"-admins", "1,bob"}, err: `-admins (env BOT_ADMINS): "bob" is not a user id`},
		{name: "bad mode", args: []string{"-mode", "carrier-pigeon"}, err: `-mode (env BOT_MODE) "carrier-pigeon"`},
		{name: "stray argument", args: []string{"serve"}, err: `unexpected argument "serve"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("config = %+v\nwant     %+v", got, tt.want)
			}
		})
	}
}

// TestEverySettingIsAFlag keeps the settings table and the flag set in step.
func TestEverySettingIsAFlag(t *testing.T) {
	for _, s := range settings {
		var out bytes.Buffer
		parseConfig([]string{"-h"}, func(string) string { return "" }, &out)
		if !strings.Contains(out.String(), "-"+s.flag) || !strings.Contains(out.String(), "env "+s.env) {
			t.Errorf("-h does not show -%s (env %s)", s.flag, s.env)
		}
	}
}

// TestSandboxTranscript pipes a conversation into the built binary, as a newcomer would,
// and checks the transcript.
func TestSandboxTranscript(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bot")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	script := strings.Join([]string{"/start", "5", "hello", "12.5 coffee", "/stats", "panic", "/undo", "/reset", ":tap 2", "/status", "/nope"}, "\n") + "\n"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-chaos")
	cmd.Stdin = strings.NewReader(script)
	cmd.Env = []string{"HOME=/nonexistent"} // no token: sandbox mode
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sandbox: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	got := stdout.String()
	want := []string{
		"you: /start\nbot: Hi User! I'm a notebook for numbers.",
		"you: 5\nbot: #1 Recorded 5. 1 value, mean 5.\n",
		"you: hello\nbot: #2 “hello” is not a number.",
		"you: 12.5 coffee\nbot: #3 Recorded 12.5 (coffee). 2 values, mean 8.75.\n",
		"you: /stats\nbot: 2 values\n     sum 17.5 · mean 8.75\n     min 5 · max 12.5 (coffee)\n     last 12.5 (coffee)\n",
		"you: panic\nbot: Sorry, something went wrong with that message; nothing was recorded. Please try again.\n",
		"you: /undo\nbot: Removed 12.5 (coffee). 1 value left.\n",
		"you: /reset\nbot: Delete your 1 value? This cannot be undone.\n     [1: Delete all] [2: Cancel]   (:tap N)\n",
		"you: :tap 2\nbot (notification): Cancelled\nbot (edited its message): Reset cancelled; your value stays.\n",
		"you: /status\nbot: Troupe dev, up ",
		"you: /nope\nbot: I don't know /nope. /help lists the commands.\n",
	}
	rest := got
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("transcript lacks (in order) %q\ntranscript:\n%s", w, got)
		}
		rest = rest[i+len(w):]
	}
}
