package bot

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupebot/troupe/actors"
)

// Event is a lifecycle event of the runtime, handed to Config.OnEvent: one of *Crashed,
// *Restarted, *Passivated and *CooledDown. Each is one structured log line (LogValue).
type Event interface {
	slog.LogValuer
	event()
}

// Crashed says handling one update of Key failed (Err is a *Crash for a panic): nothing of
// it was committed, the update was answered with an apology, and the actor restarts.
type Crashed struct {
	Key    int64
	Update int64 // the update's update_id
	Err    error
}

// Restarted says the actor of Key started again after a crash, from its committed state.
type Restarted struct{ Key int64 }

// Passivated says the actor of Key stopped (idle, over the resident cap, or paused); its
// state stays in the store and is loaded again on the key's next update.
type Passivated struct{ Key int64 }

// CooledDown says Key crashed too often: its updates go unanswered until Until.
type CooledDown struct {
	Key     int64
	Until   time.Time
	Crashes int64 // since its actor was spawned
}

func (*Crashed) event()    {}
func (*Restarted) event()  {}
func (*Passivated) event() {}
func (*CooledDown) event() {}

// LogValue is the event as one log line's attributes.
func (e *Crashed) LogValue() slog.Value {
	return slog.GroupValue(slog.String("event", "crashed"), slog.Int64("key", e.Key), slog.Int64("update", e.Update), slog.Any("err", e.Err))
}

// LogValue is the event as one log line's attributes.
func (e *Restarted) LogValue() slog.Value {
	return slog.GroupValue(slog.String("event", "restarted"), slog.Int64("key", e.Key))
}

// LogValue is the event as one log line's attributes.
func (e *Passivated) LogValue() slog.Value {
	return slog.GroupValue(slog.String("event", "passivated"), slog.Int64("key", e.Key))
}

// LogValue is the event as one log line's attributes.
func (e *CooledDown) LogValue() slog.Value {
	return slog.GroupValue(slog.String("event", "cooled_down"), slog.Int64("key", e.Key), slog.Time("until", e.Until), slog.Int64("crashes", e.Crashes))
}

// subscribe turns the runtime's protoactor events into Events for on, so that no protoactor
// type leaves the package.
func subscribe(system *actor.ActorSystem, on func(Event)) {
	system.EventStream.Subscribe(func(evt any) {
		if e := eventOf(evt); e != nil {
			on(e)
		}
	})
}

func eventOf(evt any) Event {
	switch e := evt.(type) {
	case *actor.SupervisorEvent:
		if c, ok := e.Reason.(*actors.Crash); ok {
			return &Crashed{Key: c.Key, Update: c.UpdateID, Err: crashError(c)}
		}
	case *actors.Restarted:
		return &Restarted{Key: e.Key}
	case *actors.Passivated:
		return &Passivated{Key: e.Key}
	case *actors.CoolDown:
		return &CooledDown{Key: e.Key, Until: e.Until, Crashes: e.Crashes}
	}
	return nil // the chart pool's worker restarts, protoactor's own events
}
