package actors

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
)

// shard is a supervisor for the user actors of the keys that hash to it. It owns their
// routing table: every update of its keys passes through it, so spawning on demand needs no
// lock and a key never has two actors.
type shard[S, A any] struct {
	rt       *Runtime[S, A]
	children map[int64]*actor.PID
}

var _ actor.SupervisorStrategy = (*shard[int, int])(nil)

func (s *shard[S, A]) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *delivery:
		s.route(c, m)
	}
}

func (s *shard[S, A]) route(c actor.Context, d *delivery) {
	pid, ok := s.children[d.key]
	if !ok {
		pid = c.SpawnPrefix(s.rt.userProps, userPrefix(d.key))
		s.children[d.key] = pid
		s.rt.counters.spawned.Add(1)
	}
	c.Send(pid, d)
}

// HandleFailure makes the shard the supervisor of its user actors (protoactor calls it on
// the shard's own goroutine, so it may use the shard's state). The failed update gets its
// apology before the actor restarts, so the apology keeps its place among the user's
// replies.
func (s *shard[S, A]) HandleFailure(system *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, message any) {
	s.rt.counters.crashes.Add(1)
	crash, ok := reason.(*Crash)
	if !ok {
		crash = &Crash{Reason: reason}
		if key, err := keyFromName(child.Id); err == nil {
			crash.Key = key
		}
	}
	d, _ := message.(*delivery)
	if d != nil {
		crash.UpdateID = d.update.UpdateId
	}
	s.rt.log.Error("user actor crashed",
		slog.Int64("key", crash.Key),
		slog.Int64("update", crash.UpdateID),
		slog.Any("panic", crash.Reason),
		slog.String("stack", string(crash.Stack)))
	if d != nil {
		s.apologize(d, crash)
	}
	system.EventStream.Publish(&actor.SupervisorEvent{Child: child, Reason: crash, Directive: actor.RestartDirective})
	sup.RestartChildren(child)
}

// apologize performs the logic's apology for d. A panic here must not take the shard down
// with the routing table of all its keys, so it is logged and the update finished.
func (s *shard[S, A]) apologize(d *delivery, crash *Crash) {
	defer func() {
		if r := recover(); r != nil {
			s.rt.log.Error("apology failed", slog.Int64("key", d.key), slog.Int64("update", d.update.UpdateId), slog.Any("panic", r))
			d.finish()
		}
	}()
	s.rt.performer.Perform(s.rt.ctx, d.update, s.rt.logic.Apology(d.update, crash.Reason), d.finish)
}
