package ops_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/troupebot/troupe/bot/intake"
	"github.com/troupebot/troupe/bot/ops"
)

// hostileConns is how many attackers the benchmark runs at once.
const hostileConns = 400

// BenchmarkHostile measures resident memory while 400 hostile connections attack at once:
// "headers" sends about 1 MB of headers on each, "slowbody" declares a 200 KB body on each
// (small enough that net/http reads an unwanted one to its end) and trickles it, a byte
// every 100 ms, for 2 s. It reports the peak RSS seen (sampled
// every 5 ms) and the RSS before the attack.
//
// By default the target is an ops.Server with the bot's defaults in this process, serving
// the operator's endpoints and a webhook with a secret (the RSS then includes the
// attackers' side). HOSTILE_ADDR=host:port HOSTILE_PID=pid aim the attack at a running bot
// instead, and read that process's RSS: docs/performance.md has the command.
func BenchmarkHostile(b *testing.B) {
	// Built once: the attackers' side must not weigh in the RSS of this process.
	bigHeader := []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("a", 1<<20) + "\r\n\r\n")
	slowStart := []byte(fmt.Sprintf("POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 200_000))
	attacks := []struct {
		name   string
		attack func(c net.Conn)
	}{
		{"headers", func(c net.Conn) {
			c.Write(bigHeader)
			io.Copy(io.Discard, c)
		}},
		{"slowbody", func(c net.Conn) {
			c.Write(slowStart)
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			stop := time.After(2 * time.Second)
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := io.WriteString(c, "{"); err != nil {
						return
					}
				}
			}
		}},
	}
	for _, a := range attacks {
		b.Run(a.name, func(b *testing.B) {
			addr, pid := hostileTarget(b)
			base := rss(b, pid)
			var peak atomic.Int64
			done := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				tick := time.NewTicker(5 * time.Millisecond)
				defer tick.Stop()
				for {
					if r := rss(b, pid); r > peak.Load() {
						peak.Store(r)
					}
					select {
					case <-done:
						return
					case <-tick.C:
					}
				}
			}()
			for b.Loop() {
				var wg sync.WaitGroup
				for range hostileConns {
					wg.Go(func() {
						c, err := net.DialTimeout("tcp", addr, 10*time.Second)
						if err != nil {
							b.Error(err)
							return
						}
						defer c.Close()
						c.SetDeadline(time.Now().Add(30 * time.Second))
						a.attack(c)
					})
				}
				wg.Wait()
			}
			close(done)
			<-sampled
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-RSS-MiB")
			b.ReportMetric(float64(base)/(1<<20), "base-RSS-MiB")
		})
	}
}

// hostileTarget returns the address to attack and the process whose memory to read.
func hostileTarget(b *testing.B) (addr, pid string) {
	if addr := os.Getenv("HOSTILE_ADDR"); addr != "" {
		pid := os.Getenv("HOSTILE_PID")
		if pid == "" {
			b.Fatal("HOSTILE_ADDR needs HOSTILE_PID, the process to measure")
		}
		return addr, pid
	}
	log := slog.New(slog.DiscardHandler)
	mux := ops.Handler(&readiness{}, prometheus.NewRegistry())
	mux.Handle("/webhook", intake.NewWebhook(finisher{}, intake.WebhookConfig{Secret: "s3cret", Logger: log}))
	_, addr = serveOn(b, mux, ops.ServerConfig{Logger: log})
	return addr, "self"
}

// rss reads a process's resident set size from /proc, in bytes.
func rss(tb testing.TB, pid string) int64 {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		tb.Fatalf("resident memory of %s: %v", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				tb.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	tb.Fatalf("no VmRSS in /proc/%s/status", pid)
	return 0
}
