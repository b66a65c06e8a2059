package actors

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// shard is a supervisor for the user actors of the keys that hash to it. It owns their
// routing table: every update of its keys passes through it, so spawning on demand needs no
// lock, a key never has two actors, and the shard alone decides when an actor may stop.
//
// Stopping is where messages get lost (an actor stopping with mail in its box drops it), so
// the shard stops an actor only when it knows the actor's mailbox is empty: it numbers the
// deliveries it forwards to each actor, asks an idle actor which number it handled last
// (the question queues behind any mail), and stops the actor only if that is the newest
// number it forwarded. Otherwise the actor carries on and is asked again later.
type shard[S, A any] struct {
	rt       *Runtime[S, A]
	self     *actor.PID
	children map[int64]*child
	// lru lists the children by their last delivery, newest first: the idle ones and the
	// ones to evict over MaxResident are at its tail, so neither needs a scan.
	lru     child // sentinel of a circular list
	cap     int   // this shard's share of MaxResident; 0 means no cap
	cooling map[int64]time.Time
}

// child is the shard's record of one user actor: one per resident user, so kept small
// (times as unix nanoseconds, the small fields together).
type child struct {
	key        int64
	pid        *actor.PID
	sent       uint64    // number of the newest delivery forwarded
	crashed    uint64    // number of the newest delivery consumed by a crash
	last       int64     // when the newest delivery was forwarded
	failures   *failures // nil until the actor first crashes
	prev, next *child
	// The flood bucket: tokens left as of floodAt, and whether the user was told they are
	// sending too fast since their last update got through.
	floodAt int64
	tokens  float32
	told    bool
	asked   bool // a passivation question is on its way
}

// Messages between a shard and its user actors, and the shard's timers.
type (
	// passivate asks a user actor which delivery it handled last.
	passivate struct{}
	// idle is a user actor's answer to passivate.
	idle struct {
		key  int64
		pid  *actor.PID
		seen uint64
	}
	// restart ends a crashed actor's backoff.
	restart struct {
		key int64
		pid *actor.PID
	}
	// sweep is the periodic look for idle actors and ended cool-downs.
	sweep struct{}
)

func newShard[S, A any](rt *Runtime[S, A], cap int) *shard[S, A] {
	s := &shard[S, A]{rt: rt, children: make(map[int64]*child), cap: cap, cooling: make(map[int64]time.Time)}
	s.lru.prev, s.lru.next = &s.lru, &s.lru
	return s
}

var _ actor.SupervisorStrategy = (*shard[int, int])(nil)

func (s *shard[S, A]) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *delivery:
		s.route(c, m)
	case *idle:
		s.idle(c, m)
	case *restart:
		if ch := s.children[m.key]; ch != nil && ch.pid.Equal(m.pid) {
			c.(actor.Supervisor).RestartChildren(m.pid)
		}
	case *sweep:
		s.sweep()
	case *actor.Terminated:
		// Only now is the actor's memory free to go: count it, and tell the watchers.
		s.rt.counters.stopped.Add(1)
		// protoactor's set of our children drops a stopped child by shortening its slice,
		// so the slot past the end still points at the child's PID, and the PID caches its
		// process: mailbox, context and actor, all kept alive until a new child happens to
		// reuse the slot. A send through a PID whose process is dead clears that cache
		// (the message itself goes to dead letters), which lets the actor be collected.
		c.Send(m.Who, releaseProcess)
		if key, err := keyFromName(m.Who.Id); err == nil {
			s.rt.skipped(key) // an actor stopped idle has no updates on their way
			s.rt.system.EventStream.Publish(&Passivated{Key: key})
		}
	case *actor.Started:
		s.self = c.Self()
	}
}

func (s *shard[S, A]) route(c actor.Context, d *delivery) {
	now := s.rt.now()
	if until, ok := s.cooling[d.key]; ok {
		if now.Before(until) {
			// Paused after a crash loop; the user was told when the pause began.
			s.rt.counters.paused.Add(1)
			s.unanswered(d)
			return
		}
		s.endCoolDown(d.key)
	}
	ch := s.children[d.key]
	if ch == nil {
		ch = &child{key: d.key, pid: c.SpawnPrefix(s.rt.userProps, userPrefix(d.key))}
		s.children[d.key] = ch
		s.rt.counters.spawned.Add(1)
		s.evictOverCap()
	} else {
		s.unlink(ch)
	}
	s.pushFront(ch)
	ch.last = now.UnixNano()
	if !s.admit(ch, now) {
		s.rt.counters.throttled.Add(1)
		if ch.told {
			s.unanswered(d) // told once already; the rest of the flood goes unanswered
			return
		}
		ch.told = true
		d.throttled = true // through the actor, so the notice keeps its place in line
	}
	ch.sent++
	d.seq = ch.sent
	c.Send(ch.pid, d)
}

// admit takes a token from the key's flood bucket; false means the user is over the rate.
func (s *shard[S, A]) admit(ch *child, now time.Time) bool {
	f := s.rt.cfg.Flood
	if f.Rate <= 0 {
		return true
	}
	burst := float32(max(f.Burst, 1))
	t := now.UnixNano()
	if ch.floodAt == 0 {
		ch.tokens = burst
	} else {
		ch.tokens = min(burst, ch.tokens+float32(float64(t-ch.floodAt)/1e9*f.Rate))
	}
	ch.floodAt = t
	if ch.tokens < 1 {
		return false
	}
	ch.tokens--
	ch.told = false
	return true
}

// evictOverCap asks the least recently used actors to passivate while the shard holds more
// than its share of MaxResident.
func (s *shard[S, A]) evictOverCap() {
	if s.cap <= 0 {
		return
	}
	over := len(s.children) - s.cap
	for ch := s.lru.prev; over > 0 && ch != &s.lru; ch = ch.prev {
		if !ch.asked {
			s.ask(ch)
		}
		over--
	}
}

// ask sends an actor the passivation question; it queues behind the actor's mail.
func (s *shard[S, A]) ask(ch *child) {
	ch.asked = true
	s.rt.system.Root.Send(ch.pid, passivateQuestion)
}

var passivateQuestion = &passivate{}

// releaseProcess is sent to stopped actors only to clear their PID's process cache.
var releaseProcess = &struct{ release bool }{}

// idle stops an actor that has handled everything forwarded to it.
func (s *shard[S, A]) idle(c actor.Context, m *idle) {
	ch := s.children[m.key]
	if ch == nil || !ch.pid.Equal(m.pid) {
		return // an answer from an actor already stopped
	}
	ch.asked = false
	if max(m.seen, ch.crashed) != ch.sent {
		return // more mail arrived after the question: keep going
	}
	delete(s.children, ch.key)
	s.unlink(ch)
	c.Stop(ch.pid)
	s.rt.counters.passivated.Add(1)
}

// sweep asks the actors idle for IdleTimeout to passivate, and ends cool-downs; it walks
// the LRU list from its idle end and stops at the first busy actor.
func (s *shard[S, A]) sweep() {
	now := s.rt.now()
	if idle := s.rt.cfg.IdleTimeout; idle > 0 {
		for ch := s.lru.prev; ch != &s.lru && now.UnixNano()-ch.last >= int64(idle); ch = ch.prev {
			if !ch.asked {
				s.ask(ch)
			}
		}
	}
	for key, until := range s.cooling {
		if !now.Before(until) {
			s.endCoolDown(key)
		}
	}
}

func (s *shard[S, A]) endCoolDown(key int64) {
	delete(s.cooling, key)
	s.rt.counters.cooling.Add(-1)
}

// HandleFailure makes the shard the supervisor of its user actors (protoactor calls it on
// the shard's own goroutine, so it may use the shard's state). The failed update gets its
// apology before the actor restarts, so the apology keeps its place among the user's
// replies.
func (s *shard[S, A]) HandleFailure(system *actor.ActorSystem, sup actor.Supervisor, pid *actor.PID, _ *actor.RestartStatistics, reason, message any) {
	crash, ok := reason.(*Crash)
	if !ok {
		crash = &Crash{Reason: reason}
		if key, err := keyFromName(pid.Id); err == nil {
			crash.Key = key
		}
	}
	d, _ := message.(*delivery)
	if d != nil {
		crash.UpdateID = d.update.UpdateId
	}
	s.rt.crashed(crash)

	ch := s.children[crash.Key]
	if ch == nil || !ch.pid.Equal(pid) {
		// Not in the table (cannot happen while the shard is the only spawner): stop it.
		s.finishCrash(d, crash, 0)
		sup.StopChildren(pid)
		return
	}
	if d != nil {
		ch.crashed = max(ch.crashed, d.seq)
	}
	if ch.failures == nil {
		ch.failures = &failures{}
	}
	now := s.rt.now()
	delay, coolDown := s.rt.policy.decide(ch.failures, now, s.rt.rand())
	s.rt.restarts.add(crash.Key, now)
	if coolDown {
		// Stop the crash loop: the user's new updates are finished unanswered until the pause
		// ends; the ones already queued run, and then the actor passivates.
		until := now.Add(s.rt.policy.CoolDown)
		if _, already := s.cooling[crash.Key]; !already {
			s.rt.counters.cooling.Add(1)
		}
		s.cooling[crash.Key] = until
		s.finishCrash(d, crash, s.rt.policy.CoolDown)
		cd := &CoolDown{Key: crash.Key, Until: until, Crashes: ch.failures.total}
		s.rt.log.Warn("user paused after repeated crashes", slog.Any("cooldown", cd))
		system.EventStream.Publish(cd)
		system.EventStream.Publish(&actor.SupervisorEvent{Child: pid, Reason: crash, Directive: actor.RestartDirective})
		sup.RestartChildren(pid)
		s.ask(ch)
		return
	}
	s.finishCrash(d, crash, 0)
	system.EventStream.Publish(&actor.SupervisorEvent{Child: pid, Reason: crash, Directive: actor.RestartDirective})
	if delay <= 0 {
		sup.RestartChildren(pid)
		return
	}
	// The mailbox stays suspended meanwhile: the user's next updates wait, in order.
	self, key := s.self, crash.Key
	time.AfterFunc(delay, func() { s.rt.system.Root.Send(self, &restart{key: key, pid: pid}) })
}

// finishCrash performs the logic's apology for d. A panic here must not take the shard
// down with the routing table of all its keys, so it is logged and the update finished.
func (s *shard[S, A]) finishCrash(d *delivery, crash *Crash, pause time.Duration) {
	if d == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			s.rt.log.Error("apology failed", slog.Int64("key", d.key), slog.Int64("update", d.update.UpdateId), slog.Any("panic", r))
			d.ok()
		}
	}()
	s.rt.counters.crashes.Add(1)
	s.rt.skip(d.key, d.update.UpdateId)
	s.rt.performer.Perform(s.rt.ctx, d.update, s.rt.logic.Apology(d.update, crash, pause), s.rt.report(d.key, nil, d.finish, false))
}

// unanswered finishes d without handling it. The performer still sees it, with no
// actions, so that what must be answered whatever happens (a button press, whose client
// spins until answered) can be.
func (s *shard[S, A]) unanswered(d *delivery) {
	s.rt.skip(d.key, d.update.UpdateId)
	s.rt.performer.Perform(s.rt.ctx, d.update, nil, s.rt.report(d.key, nil, d.finish, false))
}

func (s *shard[S, A]) pushFront(ch *child) {
	ch.prev, ch.next = &s.lru, s.lru.next
	s.lru.next.prev = ch
	s.lru.next = ch
}

func (s *shard[S, A]) unlink(ch *child) {
	ch.prev.next, ch.next.prev = ch.next, ch.prev
	ch.prev, ch.next = nil, nil
}
