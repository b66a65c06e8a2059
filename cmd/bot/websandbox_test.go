package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/troupebot/troupe/internal/repotest"
)

// browserWait bounds each step of the browser test: a wait on the page, never a sleep.
const browserWait = 30 * time.Second

// chromium returns the browser's path, or skips the test (fails it under CI, which
// installs it: .ci/run) when it is missing.
func chromium(tb testing.TB) string {
	tb.Helper()
	return repotest.Tool(tb, "chromium", "apt-get install chromium", "the web sandbox's browser test")
}

// startWebSandbox runs `bot -web` in-process on a free loopback port and returns the URL it
// printed. The session ends, and is checked to exit 0, when the test does.
func startWebSandbox(tb testing.TB) string {
	tb.Helper()
	stdin, feed := io.Pipe()
	out, stdout := io.Pipe()
	var stderr bytes.Buffer
	exit := make(chan int, 1)
	go func() {
		code := run([]string{"-web", "-listen", "127.0.0.1:0"}, stdin, stdout, &stderr, noEnv)
		stdout.Close()
		exit <- code
	}()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "open "); ok {
				if url, _, ok := strings.Cut(rest, " "); ok {
					urls <- url
				}
			}
		}
	}()
	tb.Cleanup(func() {
		feed.Close() // the end of input ends the session
		select {
		case code := <-exit:
			if code != 0 {
				tb.Errorf("bot -web exited %d; stderr:\n%s", code, stderr.String())
			}
		case <-time.After(browserWait):
			tb.Errorf("bot -web did not end within %v of its input ending", browserWait)
		}
	})
	select {
	case url := <-urls:
		return url
	case code := <-exit:
		tb.Fatalf("bot -web exited %d before printing its URL; stderr:\n%s", code, stderr.String())
	case <-time.After(browserWait):
		tb.Fatalf("bot -web printed no URL within %v", browserWait)
	}
	return ""
}

// TestWebSandboxInBrowser drives the web sandbox's page in headless chromium, as a person
// would: two values, a chart whose PNG decodes at 800×500, /reset confirmed with its
// button, a crash that is apologised for while the counter carries on, the operator's
// figures moving, and a load run audited.
func TestWebSandboxInBrowser(t *testing.T) {
	browser := chromium(t)
	url := startWebSandbox(t)
	dir := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox, // CI runs as root
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.WindowSize(1400, 900),
		// The browser's own files (crash reports, caches) stay under the test's directory.
		chromedp.Env("HOME="+dir, "TMPDIR="+dir, "XDG_CONFIG_HOME="+dir, "XDG_CACHE_HOME="+dir),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTime := context.WithTimeout(ctx, 5*browserWait)
	defer cancelTime()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			shot(t, ctx, dir, "failed")
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("messages").innerHTML`))
			t.Fatalf("%s: %v\nthe chat shows: %s", what, err, page)
		}
	}
	until := func(what, predicate string) {
		t.Helper()
		do(what, chromedp.Action[chromedp.Void](func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Poll[bool](predicate, chromedp.WithPollingTimeout(browserWait))(ctx, tg)
			return chromedp.Void{}, err
		}))
	}
	figure := func(name string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#fig-"+name)))
		if err != nil {
			t.Fatalf("read the %s figure: %v", name, err)
		}
		return v
	}
	// botSaid is a predicate: a bot message in the open chat has text starting with prefix.
	botSaid := func(prefix string) string {
		return fmt.Sprintf(`[...document.querySelectorAll("#messages .msg.bot .text")].some(e => e.textContent.startsWith(%q))`, prefix)
	}
	send := func(text string) {
		t.Helper()
		do("type "+text, chromedp.SendKeys(chromedp.CSS("#input"), text+"\r"))
	}

	do("load the page", chromedp.Navigate(url))
	until("the page's stream to open", `document.body.dataset.ready === "true"`)
	spawned0, replies0 := figure("spawned"), figure("replies")

	send("5")
	until("the reply to 5", botSaid("Recorded 5."))
	send("7 tea")
	until("the reply to 7 tea", botSaid("Recorded 7 (tea)."))

	send("/chart")
	until("the chart to show", `[...document.querySelectorAll("#messages .msg.bot img.photo")].some(i => i.complete && i.naturalWidth === 800 && i.naturalHeight === 500)`)
	src, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#messages .msg.bot img.photo").getAttribute("src")`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(strings.TrimSuffix(url, "/") + src)
	if err != nil {
		t.Fatal(err)
	}
	png, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	img, format, err := image.Decode(bytes.NewReader(png))
	if err != nil || format != "png" || img.Bounds().Dx() != 800 || img.Bounds().Dy() != 500 {
		t.Fatalf("the chart's bytes (%s) decode as %q %v, %v; want an 800×500 PNG", src, format, img.Bounds(), err)
	}

	send("/reset")
	until("the confirmation keyboard", `document.querySelector('#messages .kb button[data-data^="reset:yes"]') !== null`)
	do("tap Delete all", chromedp.Click(chromedp.CSS(`#messages .kb button[data-data^="reset:yes"]`)))
	until("the confirmation edited in place", botSaid("Deleted all 2 values")+` && document.querySelector('#messages .kb') === null`)
	until("the callback answer as a toast", `document.querySelector("#toasts .toast") !== null`)

	send("9")
	until("the reply to 9", botSaid("Recorded 9. 1 value"))
	do("crash my actor", chromedp.Click(chromedp.CSS("#crash")))
	until("the apology", botSaid("Sorry, something went wrong"))
	send("8")
	until("the counter carrying on", botSaid("Recorded 8. 2 values"))

	until("the operator's figures to count the restart", `Number(document.getElementById("fig-restarts").textContent) >= 1`)
	if got := figure("spawned"); got == spawned0 {
		t.Errorf("spawned stayed %s after the page's users wrote", got)
	}
	if got := figure("replies"); got == replies0 {
		t.Errorf("replies stayed %s after the bot answered", got)
	}
	until("the throughput chart", `document.getElementById("throughput").complete && document.getElementById("throughput").naturalWidth === 480`)

	do("run a load test", chromedp.Click(chromedp.CSS("#load-run")))
	until("the load run to pass its audit", `document.getElementById("load-status").textContent.includes("audit passed") && document.getElementById("load-status").dataset.answered === "500"`)
	until("the operator's figures to show the run's actors", `Number(document.getElementById("fig-spawned").textContent) >= 51`)
	shot(t, ctx, dir, "websandbox")
}

// shot saves a screenshot of the page under dir, the test's temporary directory.
func shot(tb testing.TB, ctx context.Context, dir, name string) {
	tb.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o600); err != nil {
		tb.Logf("screenshot %s: %v", name, err)
		return
	}
	tb.Logf("screenshot: %s", path)
}

// TestWebListen: the page binds loopback unless -listen names a host.
func TestWebListen(t *testing.T) {
	tests := []struct{ listen, want string }{
		{":8080", "127.0.0.1:8080"},
		{":0", "127.0.0.1:0"},
		{"0.0.0.0:8080", "0.0.0.0:8080"},
		{"127.0.0.1:9000", "127.0.0.1:9000"},
		{"[::1]:8080", "[::1]:8080"},
		{"localhost:8080", "localhost:8080"},
	}
	for _, tt := range tests {
		if got := webListen(tt.listen); got != tt.want {
			t.Errorf("webListen(%q) = %q; want %q", tt.listen, got, tt.want)
		}
	}
}

// TestWebNeedsNoToken: -web is the sandbox's; with a token it is refused, not ignored.
func TestWebNeedsNoToken(t *testing.T) {
	var stderr bytes.Buffer
	code := run([]string{"-web", "-token", "123:abc"}, strings.NewReader(""), io.Discard, &stderr, noEnv)
	if code != 2 || !strings.Contains(stderr.String(), "-web serves the sandbox's chat page") || strings.Contains(stderr.String(), "123:abc") {
		t.Errorf("bot -web -token … exited %d, said %q; want 2 and why, without the token", code, stderr.String())
	}
}

// TestWebLoopbackHosts: bound to loopback, the sandbox answers only requests that name the
// loopback, so another site's page cannot reach it through a name rebound to 127.0.0.1.
func TestWebLoopbackHosts(t *testing.T) {
	srv := httptest.NewServer(loopbackHosts(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "page")
	})))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, tc := range []struct {
		host string
		want int
	}{
		{"127.0.0.1:" + port, http.StatusOK},
		{"localhost:" + port, http.StatusOK},
		{"[::1]:" + port, http.StatusOK},
		{"127.0.0.1", http.StatusOK},
		{"evil.example:" + port, http.StatusMisdirectedRequest},
		{"evil.example", http.StatusMisdirectedRequest},
		{"10.0.0.1:" + port, http.StatusMisdirectedRequest},
	} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tc.host
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Host %q: %d %q, want %d", tc.host, resp.StatusCode, body, tc.want)
		}
	}
}
