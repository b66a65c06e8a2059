package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/automanaged"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/k8s"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/troupebot/troupe/cluster/wire"
	"github.com/troupebot/troupe/internal/backoff"
	"github.com/troupebot/troupe/internal/ratelog"
)

// userKind is the cluster kind of a user's identity: its identity is the user's key.
const userKind = "user"

// statusName is the actor every member runs to answer StatusRequest.
const statusName = "troupe-status"

// The providers Config.Provider names.
const (
	Automanaged = "automanaged"
	Kubernetes  = "k8s"
	DNS         = "dns"
)

// Config is one member's place in a cluster.
type Config struct {
	// Name is the cluster's; members of another name are not members of this one.
	Name string
	// Provider finds the members: Automanaged, Kubernetes or DNS.
	Provider string
	// Addr is this member's remote (gRPC) host:port, which the others connect to; it is
	// bound as given. With DNS the host may be left out: it is this machine's address among
	// those the name resolves to.
	Addr string
	// ManagePort is the HTTP port of this member's health endpoint, which Automanaged and
	// DNS members probe each other on; 0 means 6330.
	ManagePort int
	// Peers: with Automanaged, every member's host:manage-port (this one's too); with DNS,
	// one name that resolves to every member's address. Kubernetes needs none.
	Peers []string
	// Refresh is how often Automanaged and DNS look at the members; 0 means 1s.
	Refresh time.Duration
	// Attempt bounds one try of a Forward (the identity's lookup or activation and the
	// request); 0 means 2s. Forward tries again until its context ends.
	Attempt time.Duration
	// Idle passivates a user's identity that got nothing for this long; 0 means 10m. It
	// holds no state, only the place, so passivating it loses nothing.
	Idle time.Duration
	// Logger receives the member's lines and protoactor's warnings; nil means slog.Default().
	Logger *slog.Logger

	lookup func(ctx context.Context, host string) ([]string, error) // DNS's resolver; tests replace it
}

// Handler is what this member does with an update another member (or itself) forwards to
// it: Accept returns once the update is in hand here, to be finished by this member's
// runtime, or with an error saying why it is refused (the sender tries again).
type Handler interface {
	Accept(key, updateID int64, raw []byte) error
}

// StatusFunc is this member's share of the users, for the others' /status.
type StatusFunc func() *wire.Status

// Member is this process as a member of a cluster. Each user's key is a cluster identity,
// placed on one member by protoactor's identity lookup (disthash: rendezvous hashing over the
// members); an update for the key is forwarded there with an acknowledged request.
type Member struct {
	cfg      Config
	log      *slog.Logger
	stuck    *ratelog.Logger // forwards failing for long
	system   *actor.ActorSystem
	c        *protocluster.Cluster
	handler  Handler
	status   StatusFunc
	leaving  atomic.Bool
	stopOnce sync.Once

	mu       sync.Mutex
	members  []*protocluster.Member
	hosted   int64         // identities active here
	changed  chan struct{} // closed and replaced when members or hosted change
	watchers []func(left int)

	forwards, retries, refusals atomic.Int64
	activations                 atomic.Int64
}

// New makes a member of cfg.Name; it joins the cluster in Start.
func New(cfg Config) (*Member, error) {
	if cfg.Name == "" {
		return nil, errors.New("cluster: no cluster name")
	}
	if cfg.ManagePort == 0 {
		cfg.ManagePort = 6330
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = time.Second
	}
	if cfg.Attempt <= 0 {
		cfg.Attempt = 2 * time.Second
	}
	if cfg.Idle <= 0 {
		cfg.Idle = 10 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	switch cfg.Provider {
	case Automanaged, DNS:
		if len(cfg.Peers) == 0 {
			return nil, fmt.Errorf("cluster: provider %s needs peers (-cluster-peers)", cfg.Provider)
		}
	case Kubernetes:
	default:
		return nil, fmt.Errorf("cluster: unknown provider %q (automanaged, k8s or dns)", cfg.Provider)
	}
	if _, _, err := splitAddr(cfg.Addr, cfg.Provider == DNS); err != nil {
		return nil, err
	}
	log := cfg.Logger.With(slog.String("cluster", cfg.Name))
	return &Member{cfg: cfg, log: log, stuck: ratelog.New(log, ratelog.Config{PerSecond: 1, Burst: 5}), changed: make(chan struct{})}, nil
}

// splitAddr parses a member address; the host may be empty only when the provider finds it.
func splitAddr(addr string, hostOptional bool) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("cluster: member address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("cluster: member address %q: port %q is not a port number", addr, p)
	}
	if host == "" && !hostOptional {
		return "", 0, fmt.Errorf("cluster: member address %q has no host", addr)
	}
	return host, port, nil
}

// Start joins the cluster: from now on this member hosts its share of the users' identities
// and hands what is forwarded to it to h. status answers the others' StatusRequest.
func (m *Member) Start(ctx context.Context, h Handler, status StatusFunc) error {
	m.handler, m.status = h, status
	host, port, _ := splitAddr(m.cfg.Addr, true)
	provider, err := m.provider(ctx, &host)
	if err != nil {
		return err
	}
	// protoactor logs every join and leave at Info; this member says what matters itself.
	quiet := &quieter{Handler: m.log.Handler(), min: slog.LevelWarn, every: 30 * time.Second, seen: &lastSeen{last: map[string]time.Time{}}}
	m.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(quiet) }))
	kind := protocluster.NewKind(userKind, actor.PropsFromProducer(func() actor.Actor { return &grain{m: m} }))
	cfg := protocluster.Configure(m.cfg.Name, provider, disthash.New(), remote.Configure(host, port), protocluster.WithKinds(kind))
	m.c = protocluster.New(m.system, cfg)
	m.system.EventStream.Subscribe(func(evt any) {
		if t, ok := evt.(*protocluster.ClusterTopology); ok {
			m.topology(t)
		}
	})
	if _, err := m.system.Root.SpawnNamed(actor.PropsFromFunc(m.answerStatus), statusName); err != nil {
		return fmt.Errorf("cluster: spawn the status actor: %w", err)
	}
	if err := startMember(m.c); err != nil {
		return err
	}
	m.log.Info("cluster member started", slog.String("member", m.system.ID), slog.String("addr", m.system.Address()), slog.String("provider", m.cfg.Provider))
	return nil
}

// startMember is protoactor's StartMember, which panics where it could return an error (a
// port taken, a provider that cannot start).
func startMember(c *protocluster.Cluster) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cluster: start member: %v", r)
		}
	}()
	c.StartMember()
	return nil
}

func (m *Member) provider(ctx context.Context, host *string) (protocluster.ClusterProvider, error) {
	switch m.cfg.Provider {
	case Automanaged:
		return automanaged.NewWithConfig(m.cfg.Refresh, m.cfg.ManagePort, m.cfg.Peers...), nil
	case Kubernetes:
		p, err := k8s.New()
		if err != nil {
			return nil, fmt.Errorf("cluster: kubernetes provider (is this a pod with the RBAC of deploy/k8s?): %w", err)
		}
		return p, nil
	default:
		d := newDNSProvider(m.cfg.Peers[0], m.cfg.ManagePort, m.cfg.Refresh, m.log)
		if m.cfg.lookup != nil {
			d.lookup = m.cfg.lookup
		}
		if *host == "" {
			own, err := d.ownAddress(ctx)
			if err != nil {
				return nil, err
			}
			*host = own
		}
		return d, nil
	}
}

// topology keeps the members and tells the watchers when members left.
func (m *Member) topology(t *protocluster.ClusterTopology) {
	m.mu.Lock()
	m.members = t.Members
	watchers := m.watchers
	m.changedLocked()
	m.mu.Unlock()
	for _, j := range t.Joined {
		m.log.Info("cluster member joined", slog.String("member", j.Id), slog.String("addr", j.Address()))
	}
	for _, l := range t.Left {
		m.log.Warn("cluster member left", slog.String("member", l.Id), slog.String("addr", l.Address()))
	}
	if len(t.Left) > 0 {
		for _, w := range watchers {
			w(len(t.Left))
		}
	}
}

// OnLeave registers f to be called whenever members leave the cluster (stopped or dead):
// the updates they had in hand and did not finish are in the journal, for a replay to hand
// to their new owners.
func (m *Member) OnLeave(f func(left int)) {
	m.mu.Lock()
	m.watchers = append(m.watchers, f)
	m.mu.Unlock()
}

// WaitMembers waits until this member sees at least n members, or ctx ends.
func (m *Member) WaitMembers(ctx context.Context, n int) error {
	return m.waitFor(ctx, func() error {
		if len(m.members) < n {
			return fmt.Errorf("cluster: %d of %d members seen", len(m.members), n)
		}
		return nil
	})
}

// waitFor waits until unmet, called under mu, returns nil, or ctx ends (its last error, with
// ctx's).
func (m *Member) waitFor(ctx context.Context, unmet func() error) error {
	for {
		m.mu.Lock()
		err, changed := unmet(), m.changed
		m.mu.Unlock()
		if err == nil {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", err, ctx.Err())
		}
	}
}

// changedLocked wakes the waiters; mu is held.
func (m *Member) changedLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// ID is this member's id in the cluster; empty before Start.
func (m *Member) ID() string {
	if m.system == nil {
		return ""
	}
	return m.system.ID
}

// MemberInfo is one member as /status shows it.
type MemberInfo struct {
	ID, Addr string
	Self     bool
}

// Members returns the members this one knows of.
func (m *Member) Members() []MemberInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]MemberInfo, 0, len(m.members))
	for _, mb := range m.members {
		out = append(out, MemberInfo{ID: mb.Id, Addr: mb.Address(), Self: mb.Id == m.ID()})
	}
	return out
}

// Forward hands an update to the member whose identity its key is, and returns once that
// member has it in hand. It tries until ctx ends: a member dies, an identity passivates, a
// member joins and takes the key; each try looks the identity up afresh after a failure
// (protoactor drops a cached place that timed out or is dead), never a fire-and-forget send
// to a cached PID.
func (m *Member) Forward(ctx context.Context, key, updateID int64, raw []byte) error {
	m.forwards.Add(1)
	msg := &wire.Deliver{Key: key, UpdateId: updateID, Update: raw}
	identity := strconv.FormatInt(key, 10)
	for attempt := 1; ; attempt++ {
		err := m.try(identity, msg)
		if err == nil {
			return nil
		}
		switch {
		case attempt == 1:
			// A member died, joined or is leaving: routine, and the next tries tell.
			m.log.Debug("forward failed; trying again", slog.Int64("key", key), slog.Int64("update", updateID), slog.Any("err", err))
		case attempt%20 == 0:
			// Some 15 s of tries: members that cannot reach each other. Every update on
			// its way says so, so the lines are rate-limited.
			m.stuck.Log(ctx, slog.LevelWarn, "forward still failing; trying again", slog.Int64("key", key), slog.Int64("update", updateID), slog.Int("attempt", attempt), slog.Any("err", err))
		}
		m.retries.Add(1)
		// Jittered: after a member's death every update on its way tries again at once.
		if serr := backoff.Sleep(ctx, forwardRetry.Delay(attempt, rand.Float64())); serr != nil {
			return fmt.Errorf("cluster: forward update %d of key %d: %w (last try: %w)", updateID, key, serr, err)
		}
	}
}

// forwardRetry spaces a Forward's tries: a member's death takes the provider a few seconds
// to notice, a refusal (a member stopping) less.
var forwardRetry = backoff.Policy{Initial: 50 * time.Millisecond, Max: time.Second, Jitter: 0.3}

// ErrRefused wraps a member's refusal of a forwarded update.
var ErrRefused = errors.New("cluster: update refused by its member")

func (m *Member) try(identity string, msg *wire.Deliver) error {
	if m.c == nil {
		return errors.New("cluster: member not started")
	}
	resp, err := m.c.Request(identity, userKind, msg, protocluster.WithTimeout(m.cfg.Attempt), protocluster.WithRetryCount(3))
	if err != nil {
		return err
	}
	d, ok := resp.(*wire.Delivered)
	if !ok {
		return fmt.Errorf("cluster: forward answered with %T", resp)
	}
	if d.Refused != "" {
		m.refusals.Add(1)
		return fmt.Errorf("%w: %s", ErrRefused, d.Refused)
	}
	return nil
}

// Stats are a member's forwarding counters, for /metrics.
type Stats struct {
	Members                     int
	Forwards, Retries, Refusals int64
	Hosted                      int64 // user identities active on this member
	Activations                 int64 // user identities activated here since the start
}

// Stats returns the member's counters.
func (m *Member) Stats() Stats {
	m.mu.Lock()
	n := len(m.members)
	m.mu.Unlock()
	st := Stats{Members: n, Forwards: m.forwards.Load(), Retries: m.retries.Load(), Refusals: m.refusals.Load(), Activations: m.activations.Load()}
	m.mu.Lock()
	st.Hosted = m.hosted
	m.mu.Unlock()
	return st
}

// Statuses asks every member for its share of the users; a member that does not answer
// within timeout is left out.
func (m *Member) Statuses(timeout time.Duration) []*wire.Status {
	m.mu.Lock()
	members := m.members
	m.mu.Unlock()
	out := make([]*wire.Status, len(members))
	var wg sync.WaitGroup
	for i, mb := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pid := actor.NewPID(mb.Address(), statusName)
			resp, err := m.system.Root.RequestFuture(pid, &wire.StatusRequest{}, timeout).Result()
			if st, ok := resp.(*wire.Status); ok && err == nil {
				out[i] = st
			}
		}()
	}
	wg.Wait()
	kept := out[:0]
	for _, st := range out {
		if st != nil {
			kept = append(kept, st)
		}
	}
	return kept
}

func (m *Member) answerStatus(c actor.Context) {
	if _, ok := c.Message().(*wire.StatusRequest); ok {
		st := &wire.Status{}
		if m.status != nil {
			st = m.status()
		}
		st.Member = m.ID()
		c.Respond(st)
	}
}

// Leave stops taking forwarded updates (they are refused, and their senders try the member
// that takes the key next) and leaves the cluster gracefully, so that the others place this
// member's users elsewhere at once; the updates already in hand here are the caller's to
// finish.
func (m *Member) Leave() {
	m.stopOnce.Do(func() {
		m.leaving.Store(true)
		if m.c != nil {
			m.c.Shutdown(true)
		}
		m.log.Info("cluster member left gracefully", slog.String("member", m.ID()))
	})
}

// hostedBy counts identities activated (+1) and stopped (-1) here.
func (m *Member) hostedBy(d int64) {
	m.mu.Lock()
	m.hosted += d
	m.changedLocked()
	m.mu.Unlock()
}

// grain is a user's identity on the member that hosts it. It holds no state: the user's
// actor is this member's runtime's, and the state is in the durable store. The grain is the
// place: where the cluster puts the key, the runtime there runs it.
type grain struct {
	m *Member
}

func (g *grain) Receive(c actor.Context) {
	switch msg := c.Message().(type) {
	case *protocluster.ClusterInit:
		g.m.activations.Add(1)
		g.m.hostedBy(1)
		c.SetReceiveTimeout(g.m.cfg.Idle)
	case *actor.Stopped:
		g.m.hostedBy(-1)
	case *wire.Deliver:
		c.Respond(g.deliver(msg))
	case *actor.ReceiveTimeout:
		// Passivating: a Deliver that reaches it after the PoisonPill is dropped unanswered,
		// and its sender's try times out and looks the identity up again.
		c.Poison(c.Self())
	}
}

func (g *grain) deliver(msg *wire.Deliver) *wire.Delivered {
	if g.m.leaving.Load() {
		return &wire.Delivered{Refused: "member is leaving the cluster"}
	}
	if err := g.m.handler.Accept(msg.Key, msg.UpdateId, msg.Update); err != nil {
		return &wire.Delivered{Refused: err.Error()}
	}
	return &wire.Delivered{}
}

// quieter is protoactor's log: records below min are dropped, and a message seen within
// every is dropped too. protoactor repeats itself: a dead peer of automanaged's list is an
// error line per refresh, for as long as the peer stays dead.
type quieter struct {
	slog.Handler
	min   slog.Level
	every time.Duration
	seen  *lastSeen // shared by every handler derived from this one
}

type lastSeen struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (h *quieter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h *quieter) Handle(ctx context.Context, r slog.Record) error {
	s := h.seen
	s.mu.Lock()
	at, seen := s.last[r.Message]
	if seen && r.Time.Sub(at) < h.every {
		s.mu.Unlock()
		return nil
	}
	if len(s.last) > 1000 {
		clear(s.last)
	}
	s.last[r.Message] = r.Time
	s.mu.Unlock()
	return h.Handler.Handle(ctx, r)
}

func (h *quieter) WithAttrs(as []slog.Attr) slog.Handler {
	return &quieter{Handler: h.Handler.WithAttrs(as), min: h.min, every: h.every, seen: h.seen}
}

func (h *quieter) WithGroup(name string) slog.Handler {
	return &quieter{Handler: h.Handler.WithGroup(name), min: h.min, every: h.every, seen: h.seen}
}

// ParsePeers splits a -cluster-peers value.
func ParsePeers(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
