package redisstore

import (
	"context"
	"sync/atomic"
	"time"
)

// serverClock is the server's time, in whole seconds, as a commit needs it (the record's
// last-commit time, the journal's finish times) without asking the server on every commit:
// TIME cost commit.lua as much as two of its other commands together. It is the local clock
// moved by the offset the server's TIME showed when last asked, asked again once that is
// clockSyncEvery old, so a local clock that steps (or a failover to a server whose clock
// differs) is followed within that. Until the first answer, commits ask the server
// themselves.
type serverClock struct {
	local   func() time.Time
	ask     func(context.Context) (time.Time, error) // the server's TIME
	timeout time.Duration                            // of one ask
	offset  atomic.Int64                             // the server's clock minus the local one, in nanoseconds
	synced  atomic.Int64                             // local Unix nanoseconds of the last sync; 0: never
	busy    atomic.Bool                              // a sync is under way
	last    atomic.Pointer[clockArg]
}

// clockArg is one second as a command argument, boxed once for every commit in it.
type clockArg struct {
	sec int64
	arg any
}

const clockSyncEvery = time.Minute

// arg returns the server's time in Unix seconds as a command argument, or "" while it is
// not known yet (commit.lua then reads TIME). Once the offset is clockSyncEvery old it
// starts a sync in the background, and goes on with the old offset meanwhile.
func (c *serverClock) arg() any {
	now := c.local()
	synced := c.synced.Load()
	if synced == 0 || now.UnixNano()-synced > int64(clockSyncEvery) {
		if c.busy.CompareAndSwap(false, true) {
			go c.sync()
		}
		if synced == 0 {
			return ""
		}
	}
	sec := now.Add(time.Duration(c.offset.Load())).Unix()
	if p := c.last.Load(); p != nil && p.sec == sec {
		return p.arg
	}
	p := &clockArg{sec: sec, arg: sec}
	c.last.Store(p)
	return p.arg
}

// sync asks the server its time and keeps the offset, taking the local clock halfway
// through the call. A failed call leaves the old offset (or none) for the next commit to
// try again.
func (c *serverClock) sync() {
	defer c.busy.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	before := c.local()
	server, err := c.ask(ctx)
	if err != nil {
		return
	}
	after := c.local()
	mid := before.Add(after.Sub(before) / 2)
	c.offset.Store(int64(server.Sub(mid)))
	c.synced.Store(after.UnixNano())
}
