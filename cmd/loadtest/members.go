package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// plan is what happens to a cluster's members during a run (-kill-member, -join-member,
// -stop-member): each at its time after the load began, 0 for never.
type plan struct {
	kill, join, stop time.Duration
}

// members is a cluster of bot processes (-members N): each is -bot-cmd with a member's
// environment, all on the run's store, found by automanaged on loopback. In webhook mode the
// harness plays the platform's load balancer in front of them: the webhook URL the members
// register is the front's, which hands each POST to the next ready member in turn. In
// polling mode the member holding the polling lease polls, and the others stand by.
type members struct {
	line string
	n    int
	plan plan
}

func (m members) name() string { return fmt.Sprintf("%s × %d members", m.line, m.n) }

// memberPorts are one member's loopback ports: its HTTP (webhook, /readyz, /metrics), its
// cluster remote and its automanaged health endpoint.
type memberPorts struct{ http, remote, manage int }

func (m members) start(env botEnv) (running, error) {
	if env.store == "" {
		return nil, errors.New("-members: a cluster needs a durable store (-store redis)")
	}
	total := m.n
	if m.plan.join > 0 {
		total++ // the joiner's ports are known to all from the start, as a static list would
	}
	ports := make([]memberPorts, total)
	for i := range ports {
		p, err := freePorts(3)
		if err != nil {
			return nil, err
		}
		ports[i] = memberPorts{http: p[0], remote: p[1], manage: p[2]}
	}
	var peers []string
	for _, p := range ports {
		peers = append(peers, "127.0.0.1:"+strconv.Itoa(p.manage))
	}
	r := &membersRun{m: m, env: env, ports: ports, peers: strings.Join(peers, ","), done: make(chan struct{}), began: make(chan struct{})}
	if env.webhookURL != "" {
		front, err := newFront(env.listen, r)
		if err != nil {
			return nil, err
		}
		r.front = front
	}
	for i := 0; i < m.n; i++ {
		if err := r.startMember(i); err != nil {
			r.stop(time.Second)
			return nil, err
		}
	}
	go r.run()
	return r, nil
}

// freePorts returns n loopback ports nothing listens on now.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var out []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("-members: find a free port: %w", err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// membersRun is a started cluster.
type membersRun struct {
	m     members
	env   botEnv
	ports []memberPorts
	peers string
	front *front

	mu     sync.Mutex
	procs  []*memberProc // by index; nil until started
	events []memberEvent

	began     chan struct{} // closed when the load begins (loadStarted)
	beganAt   time.Time
	beganOnce sync.Once
	done      chan struct{} // closed once every member has exited
	doneOnce  sync.Once
	stopping  atomic.Bool
}

// memberProc is one member process.
type memberProc struct {
	index int
	run   *commandRun
	ready atomic.Bool
	state string // "running", "killed", "stopped", "exited"
	last  usage  // its usage when last read: what a dead member used
	final memberFigures
}

// memberEvent is a planned change, when it happened (since the load began).
type memberEvent struct {
	what   string
	member int
	at     time.Duration
}

func (r *membersRun) startMember(i int) error {
	p := r.ports[i]
	env := r.env
	env.listen = "127.0.0.1:" + strconv.Itoa(p.http)
	env.extra = []string{
		"PORT=" + strconv.Itoa(p.http), // in polling mode too: its /readyz and /metrics
		"BOT_CLUSTER=loadtest", "BOT_CLUSTER_PROVIDER=automanaged",
		"BOT_CLUSTER_ADDR=127.0.0.1:" + strconv.Itoa(p.remote),
		"BOT_CLUSTER_MANAGE_PORT=" + strconv.Itoa(p.manage),
		"BOT_CLUSTER_PEERS=" + r.peers,
	}
	if env.log != nil {
		env.log = &prefixed{w: env.log, prefix: fmt.Sprintf("[member %d] ", i)}
	}
	started, err := command{line: r.m.line}.start(env)
	if err != nil {
		return fmt.Errorf("-members: member %d: %w", i, err)
	}
	mp := &memberProc{index: i, run: started.(*commandRun), state: "running"}
	r.mu.Lock()
	for len(r.procs) <= i {
		r.procs = append(r.procs, nil)
	}
	r.procs[i] = mp
	r.mu.Unlock()
	go func() {
		<-mp.run.done
		mp.ready.Store(false)
		r.mu.Lock()
		if mp.state == "running" && !r.stopping.Load() {
			mp.state = "exited" // by itself, during the run
		}
		all := true
		for _, q := range r.procs {
			if q != nil && q.state == "running" {
				all = false
			}
		}
		r.mu.Unlock()
		if all {
			r.closeDone()
		}
	}()
	return nil
}

func (r *membersRun) closeDone() {
	r.doneOnce.Do(func() { close(r.done) })
}

// run watches the members' readiness, as the platform's health checks do, and carries out
// the plan once the load began.
func (r *membersRun) run() {
	go r.watchReady()
	select {
	case <-r.began:
	case <-r.done:
		return
	}
	type step struct {
		at time.Duration
		do func()
	}
	var steps []step
	// By webhook every member takes updates alike: the last one is killed, the first one
	// stopped. By polling, the one that matters is the holder of the polling lease.
	killed, stopped := func() int { return r.m.n - 1 }, func() int { return 0 }
	if r.front == nil {
		killed, stopped = r.leaseHolder, r.leaseHolder
	}
	if d := r.m.plan.kill; d > 0 {
		steps = append(steps, step{d, func() { r.signal(killed(), syscall.SIGKILL, "killed") }})
	}
	if d := r.m.plan.stop; d > 0 {
		steps = append(steps, step{d, func() { r.signal(stopped(), syscall.SIGTERM, "stopped") }})
	}
	if d := r.m.plan.join; d > 0 {
		steps = append(steps, step{d, func() {
			if err := r.startMember(r.m.n); err == nil {
				r.record("joined", r.m.n)
			}
		}})
	}
	for _, s := range steps {
		t := time.NewTimer(time.Until(r.beganAt.Add(s.at)))
		select {
		case <-t.C:
			s.do()
		case <-r.done:
			t.Stop()
			return
		}
	}
}

// leaseHolder is the index of the member that holds the polling lease now, -1 if none says so.
func (r *membersRun) leaseHolder() int {
	for _, mp := range r.live() {
		if held, err := r.metrics(mp, "troupe_polling_lease_held"); err == nil && held[0] == 1 {
			return mp.index
		}
	}
	return -1
}

// memberClient asks the members for their readiness and figures.
var memberClient = &http.Client{Timeout: 2 * time.Second}

// url is path on member mp's HTTP port.
func (r *membersRun) url(mp *memberProc, path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(r.ports[mp.index].http) + path
}

// metrics reads the named unlabelled metrics from member mp's /metrics now.
func (r *membersRun) metrics(mp *memberProc, names ...string) ([]float64, error) {
	resp, err := memberClient.Get(r.url(mp, "/metrics"))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return parseMetrics(resp.Body, names...), nil
}

// signal sends sig to member i's process group, and records it as what.
func (r *membersRun) signal(i int, sig syscall.Signal, what string) {
	r.mu.Lock()
	var mp *memberProc
	if i >= 0 && i < len(r.procs) {
		mp = r.procs[i]
	}
	if mp == nil || mp.state != "running" {
		r.mu.Unlock()
		return
	}
	mp.state = what
	r.mu.Unlock()
	if u, err := mp.run.usage(); err == nil {
		r.mu.Lock()
		mp.last = u
		r.mu.Unlock()
	}
	mp.ready.Store(false) // the load balancer stops sending to it now
	syscall.Kill(-mp.run.pid, sig)
	r.record(what, i)
}

func (r *membersRun) record(what string, i int) {
	r.mu.Lock()
	r.events = append(r.events, memberEvent{what: what, member: i, at: time.Since(r.beganAt)})
	r.mu.Unlock()
}

// watchReady keeps each member's readiness (/readyz) every 100 ms, and its figures every
// second (a member killed keeps the last ones read), until every member exited.
func (r *membersRun) watchReady() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for tick := 0; ; tick++ {
		if tick%10 == 0 {
			r.collect()
		}
		for _, mp := range r.live() {
			resp, err := memberClient.Get(r.url(mp, "/readyz"))
			ok := err == nil && resp.StatusCode == http.StatusOK
			if resp != nil {
				resp.Body.Close()
			}
			r.mu.Lock()
			ok = ok && mp.state == "running"
			r.mu.Unlock()
			mp.ready.Store(ok)
		}
		select {
		case <-r.done:
			return
		case <-t.C:
		}
	}
}

// live returns the members still running.
func (r *membersRun) live() []*memberProc {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*memberProc
	for _, mp := range r.procs {
		if mp != nil && mp.state == "running" {
			out = append(out, mp)
		}
	}
	return out
}

// loadStarted starts the plan's clock.
func (r *membersRun) loadStarted() {
	r.beganOnce.Do(func() {
		r.beganAt = time.Now()
		close(r.began)
	})
}

func (r *membersRun) inProcess() bool { return false }

// usage sums the members' CPU and memory; a member no longer running counts with what it
// had used when last read.
func (r *membersRun) usage() (usage, error) {
	r.mu.Lock()
	procs := append([]*memberProc(nil), r.procs...)
	r.mu.Unlock()
	var total usage
	for _, mp := range procs {
		if mp == nil {
			continue
		}
		u, err := mp.run.usage()
		r.mu.Lock()
		if err == nil && u.cpu > 0 {
			mp.last = u
		}
		total.cpu += mp.last.cpu
		total.rss += mp.last.rss
		r.mu.Unlock()
	}
	return total, nil
}

// exited is closed once every member has stopped: one planned stop or kill is no end of
// the run.
func (r *membersRun) exited() <-chan struct{} { return r.done }

func (r *membersRun) stop(grace time.Duration) error {
	r.stopping.Store(true)
	r.collect() // the last figures, before the members stop
	var errs []error
	for _, mp := range r.live() {
		if err := mp.run.stop(grace); err != nil {
			errs = append(errs, err)
		}
	}
	r.closeDone()
	if r.front != nil {
		r.front.close()
	}
	return errors.Join(errs...)
}

// memberFigures is what a member's /metrics said at the end of the run.
type memberFigures struct {
	handled, hosted, forwards, retries float64
}

// collect reads every live member's /metrics once.
func (r *membersRun) collect() {
	for _, mp := range r.live() {
		vals, err := r.metrics(mp, "troupe_updates_handled_total", "troupe_cluster_hosted_users", "troupe_cluster_forwards_total", "troupe_cluster_forward_retries_total")
		if err != nil {
			continue
		}
		r.mu.Lock()
		mp.final = memberFigures{handled: vals[0], hosted: max(mp.final.hosted, vals[1]), forwards: vals[2], retries: vals[3]}
		r.mu.Unlock()
		if u, err := mp.run.usage(); err == nil && u.cpu > 0 {
			r.mu.Lock()
			mp.last = u
			r.mu.Unlock()
		}
	}
}

// parseMetrics reads the values of the named unlabelled metrics from a Prometheus text page.
func parseMetrics(body io.Reader, names ...string) []float64 {
	out := make([]float64, len(names))
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		line := sc.Text()
		for i, n := range names {
			if rest, ok := strings.CutPrefix(line, n+" "); ok {
				out[i], _ = strconv.ParseFloat(strings.TrimSpace(rest), 64)
			}
		}
	}
	return out
}

// MemberReport is one member's part of a cluster run.
type MemberReport struct {
	Index int    `json:"index"`
	State string `json:"state"` // running (to the end), killed, stopped, exited
	// Handled and Hosted are from its /metrics, read every second (a member killed keeps
	// the last read): updates its runtime committed, and the most user identities it hosted.
	Handled         int64   `json:"handled"`
	Hosted          int64   `json:"hosted_users_peak"` // the most seen at once
	Forwards        int64   `json:"forwards"`
	ForwardRetries  int64   `json:"forward_retries"`
	CPUSeconds      float64 `json:"cpu_seconds"`
	CPUPerUpdateUS  float64 `json:"cpu_us_per_update"` // per update it handled
	PeakRSSBytes    int64   `json:"rss_bytes"`
	EventAtSeconds  float64 `json:"event_at_s,omitempty"` // when it was killed, stopped or joined
	EventWhat       string  `json:"event,omitempty"`
	UpdatesPerShare float64 `json:"share_of_handled"` // its handled over all members'
}

// reports describes the members for the report.
func (r *membersRun) reports() []MemberReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	var sum float64
	for _, mp := range r.procs {
		if mp != nil {
			sum += mp.final.handled
		}
	}
	var out []MemberReport
	for _, mp := range r.procs {
		if mp == nil {
			continue
		}
		mr := MemberReport{Index: mp.index, State: mp.state, Handled: int64(mp.final.handled), Hosted: int64(mp.final.hosted),
			Forwards: int64(mp.final.forwards), ForwardRetries: int64(mp.final.retries),
			CPUSeconds: mp.last.cpu.Seconds(), PeakRSSBytes: mp.last.rss}
		if mp.final.handled > 0 {
			mr.CPUPerUpdateUS = float64(mp.last.cpu.Microseconds()) / mp.final.handled
		}
		if sum > 0 {
			mr.UpdatesPerShare = mp.final.handled / sum
		}
		for _, e := range r.events {
			if e.member == mp.index {
				mr.EventAtSeconds, mr.EventWhat = e.at.Seconds(), e.what
			}
		}
		out = append(out, mr)
	}
	return out
}

// killedAt is when the plan killed a member, since the load began; 0 if none was.
func (r *membersRun) killedAt() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.what == "killed" {
			return e.at
		}
	}
	return 0
}

// front is the load balancer: every POST to the webhook goes to the next ready member; a
// member that cannot be reached is skipped, as a platform's balancer retries a connection
// it could not open; with none ready the answer is 503, and the emulator, like Telegram,
// sends the update again.
type front struct {
	srv    *http.Server
	r      *membersRun
	next   atomic.Uint64
	client *http.Client
}

func newFront(addr string, r *membersRun) (*front, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-members: the load balancer on %s: %w", addr, err)
	}
	f := &front{r: r, client: &http.Client{Timeout: 70 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go f.srv.Serve(ln)
	return f, nil
}

func (f *front) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 1<<20))
	if err != nil {
		http.Error(w, "body", http.StatusBadRequest)
		return
	}
	live := f.r.live()
	for range len(live) {
		mp := live[f.next.Add(1)%uint64(len(live))]
		if !mp.ready.Load() {
			continue
		}
		out, err := http.NewRequestWithContext(req.Context(), http.MethodPost, "http://127.0.0.1:"+strconv.Itoa(f.r.ports[mp.index].http)+req.URL.Path, bytes.NewReader(body))
		if err != nil {
			break
		}
		out.Header = req.Header.Clone()
		resp, err := f.client.Do(out)
		if err != nil {
			continue // not reachable: the next one
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no member ready", http.StatusServiceUnavailable)
}

func (f *front) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	f.srv.Shutdown(ctx)
}

// prefixed writes each line with a prefix, so that the members' logs can be told apart.
type prefixed struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixed) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i])
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}
