package actors

import (
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
)

// userActor owns one key's state. protoactor builds a fresh one on every restart, so all it
// knows at start is its name; it reloads the committed state from the store.
type userActor[S, A any] struct {
	rt     *Runtime[S, A]
	key    int64
	state  S
	loaded bool   // state holds the committed state (the store answered)
	seen   uint64 // number of the newest delivery handled (see shard)
}

func (a *userActor[S, A]) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *delivery:
		a.handle(m)
	case *passivate:
		c.Send(c.Parent(), &idle{key: a.key, pid: c.Self(), seen: a.seen})
	case *actor.Restarting:
		// The crashed incarnation's last message: the next one starts now.
		a.rt.system.EventStream.Publish(&Restarted{Key: a.key})
	case *actor.Started:
		a.start(c)
	}
}

func (a *userActor[S, A]) start(c actor.Context) {
	key, err := keyFromName(c.Self().Id)
	if err != nil {
		panic(err)
	}
	a.key = key
	_ = a.load() // a failed load is answered update by update, in handle
}

// load reads the committed state. A store that fails is not a reason to crash: a restart
// would fail the same way, in a loop with no update to blame. Instead each update is
// answered with an apology, and handled nothing, until the store answers again.
func (a *userActor[S, A]) load() error {
	s, ok, err := a.rt.store.Load(a.rt.ctx, a.key)
	if err != nil {
		return fmt.Errorf("load context of key %d: %w", a.key, err)
	}
	if ok {
		a.state = s
	}
	a.loaded = true
	return nil
}

func (a *userActor[S, A]) handle(d *delivery) {
	a.seen = d.seq
	if !a.loaded {
		if err := a.load(); err != nil {
			a.rt.crashed(&Crash{Key: a.key, UpdateID: d.update.UpdateId, Reason: err})
			a.rt.counters.crashes.Add(1)
			a.rt.performer.Perform(a.rt.ctx, d.update, a.rt.logic.Apology(d.update, &Crash{Key: a.key, UpdateID: d.update.UpdateId, Reason: err}, 0), d.finish)
			return
		}
	}
	if d.throttled {
		a.rt.performer.Perform(a.rt.ctx, d.update, a.rt.logic.Throttled(d.update), d.finish)
		return
	}
	next, actions := a.apply(d)
	a.state = next
	a.rt.counters.handled.Add(1)
	a.rt.performer.Perform(a.rt.ctx, d.update, actions, d.finish)
}

// apply runs the logic and commits its result. A panic in the logic, or a failed commit,
// becomes a *Crash, which the shard supervisor logs and answers with an apology; a.state is
// left as it was, so nothing of the failed update is kept.
func (a *userActor[S, A]) apply(d *delivery) (S, []A) {
	next, actions := a.run(d)
	if err := a.rt.store.Commit(a.rt.ctx, a.key, next); err != nil {
		panic(&Crash{Key: a.key, UpdateID: d.update.UpdateId, Reason: fmt.Errorf("commit context: %w", err)})
	}
	return next, actions
}

// run is Logic.Handle with its panic turned into a *Crash carrying the stack.
func (a *userActor[S, A]) run(d *delivery) (S, []A) {
	defer func() {
		if r := recover(); r != nil {
			panic(&Crash{Key: a.key, UpdateID: d.update.UpdateId, Reason: r, Stack: debug.Stack(), Panic: true})
		}
	}()
	return a.rt.logic.Handle(a.state, d.update)
}

// userPrefix names a user actor after its key, so the actor can find its key again after a
// restart without a per-actor Props and without a reverse map in the shard. protoactor
// appends a unique suffix, so a new actor for a key never collides with one still stopping.
func userPrefix(key int64) string {
	return "u" + strconv.FormatInt(key, 10) + "-"
}

// keyFromName parses the key back out of an id such as "shard3/u-100123-$42".
func keyFromName(id string) (int64, error) {
	name := id[strings.LastIndexByte(id, '/')+1:]
	end := strings.LastIndexByte(name, '-')
	if !strings.HasPrefix(name, "u") || end < 1 {
		return 0, fmt.Errorf("actor id %q: not a user actor name", id)
	}
	key, err := strconv.ParseInt(name[1:end], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("actor id %q: %w", id, err)
	}
	return key, nil
}
