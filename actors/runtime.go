package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"
	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/time/rate"
)

// Logic is the application's conversation: a pure function of the committed state and one
// update. It must not modify s (see the package comment) and must not perform I/O; it
// returns the actions for a Performer instead.
type Logic[S, A any] interface {
	// Handle returns the state to commit after u and the actions that answer it.
	Handle(s S, u *gotgbot.Update) (next S, actions []A)
	// Apology returns the actions that answer u when handling it failed: crash says why
	// (Crash.Panic tells a panic in Handle from an error of the store). When pause > 0 the
	// failure was one too many: the user's updates are not handled for pause (the apology
	// is the only time they are told).
	Apology(u *gotgbot.Update, crash *Crash, pause time.Duration) []A
	// Throttled returns the actions that answer the first update a flooding user sent
	// over the rate Config.Flood allows; that update and the next ones over it are not
	// handled.
	Throttled(u *gotgbot.Update) []A
}

// Performer carries out the actions of one update, after its state was committed, and
// tells the runtime what became of them through report (see Report). Perform must not block
// for long: it runs on the user's actor, or, with no actions, for an update not handled (its
// user paused or flooding), on the shard.
type Performer[A any] interface {
	Perform(ctx context.Context, u *gotgbot.Update, actions []A, report Report)
}

// PerformFunc adapts a function to a Performer.
type PerformFunc[A any] func(ctx context.Context, u *gotgbot.Update, actions []A, report Report)

// Perform calls f.
func (f PerformFunc[A]) Perform(ctx context.Context, u *gotgbot.Update, actions []A, report Report) {
	f(ctx, u, actions, report)
}

// Report is how a Performer tells the runtime what became of one update's actions, from any
// goroutine:
//   - Report(i, err) once for each actions[i] as it finishes: err is nil once the Bot API
//     accepted it, the error it failed with for good (it will not succeed on a resend), or
//     one wrapping ErrNotPerformed when it was not performed at all (the process is
//     stopping). With an outbox, the action's entry is acknowledged then, unless it was not
//     performed: an update cut off after some of its replies sends only the rest again.
//   - Report(Queued, nil), if the Performer can tell, once every action is queued in order
//     behind its chat's earlier ones: with no outbox (the memory store) the update is
//     finished then, as a crash would lose its replies with the contexts anyway.
//   - Report(Finished, err) exactly once, last: every action is reported; err wraps
//     ErrNotPerformed if one was not performed, and the update is then not kept.
type Report func(step int, err error)

// The steps of a Report other than an action's index.
const (
	Queued   = -1
	Finished = -2
)

// ErrNotPerformed is what a Performer reports for an action it did not carry out at all:
// with a durable store its outbox entry stays, to be performed after a restart.
var ErrNotPerformed = errors.New("actors: action not performed")

// Config tunes a Runtime. The zero value is usable: no idle passivation, no cap on
// resident actors, DefaultRestartPolicy.
type Config struct {
	// Shards is the number of shard supervisors the routing table is split over;
	// 0 means 8 × GOMAXPROCS.
	Shards int
	// Restart is the supervision policy; zero fields take DefaultRestartPolicy's.
	Restart RestartPolicy
	// IdleTimeout passivates a user actor that got no update for this long: it stops, and
	// its committed state, kept in the store, is reloaded when the user writes again.
	// 0 keeps actors until MaxResident evicts them.
	IdleTimeout time.Duration
	// MaxResident caps the user actors alive at once, passivating the least recently used
	// first; 0 means no cap. Each shard keeps its share, so the cap holds to within the
	// number of shards.
	MaxResident int
	// Flood bounds the updates one user may send: past it their updates are not handled
	// (the first one of a flood is answered by Logic.Throttled), and other users are not
	// affected. The zero value bounds nothing.
	Flood FloodLimit
	// OutboxGrace: with a durable store, an outbox whose last commit is younger than this
	// is sent only once it is this old, and reloaded first (see userActor.settle); 0 means
	// 5s, negative sends at once.
	OutboxGrace time.Duration
	// Logger receives the runtime's events; nil means slog.Default().
	Logger *slog.Logger
	// Now and Rand replace the clock and the jitter's random source in tests.
	Now  func() time.Time
	Rand func() float64
}

// FloodLimit is a token bucket per user: Burst updates at once, then Rate a second.
type FloodLimit struct {
	Rate  float64
	Burst int
}

// ErrClosed is returned by Deliver after Close.
var ErrClosed = errors.New("actors: runtime closed")

// Runtime hosts one actor per key under shard supervisors. It is safe for concurrent use.
type Runtime[S, A any] struct {
	cfg       Config
	policy    RestartPolicy
	ctx       context.Context
	cancel    context.CancelFunc
	log       *slog.Logger
	system    *actor.ActorSystem
	logic     Logic[S, A]
	performer Performer[A]
	store     Store[S]
	deferrer  AckDeferrer // store, when it can take acknowledgements at the journal's finish
	codec     ActionCodec[A]
	// sending holds the (key, update) pairs whose outbox entries this process is performing.
	sending   sync.Map
	skips     skips
	storeErr  atomic.Pointer[storeError]
	userProps *actor.Props
	shards    []*actor.PID
	closed    atomic.Bool
	stopSweep chan struct{}
	counters  counters
	restarts  restartLog
	crashLog  *rate.Limiter
	dispatch  *dispatcher
	muted     atomic.Int64 // crash log lines suppressed since the last one written
	vanishLog atomic.Int64 // unix ns of the last "records vanished" line (see recordVanished)
}

type counters struct {
	delivered  atomic.Int64
	handled    atomic.Int64
	crashes    atomic.Int64
	spawned    atomic.Int64
	passivated atomic.Int64
	stopped    atomic.Int64
	paused     atomic.Int64
	throttled  atomic.Int64
	cooling    atomic.Int64
	stale      atomic.Int64
	duplicates atomic.Int64
	notKept    atomic.Int64
	corrupt    atomic.Int64
	storeErrs  atomic.Int64
	resent     atomic.Int64
	settled    atomic.Int64 // outboxes waited for before being sent (userActor.settle)
	vanished   atomic.Int64
}

// sending names one update's outbox entries in Runtime.sending.
type sending struct{ key, update int64 }

type storeError struct {
	err error
	at  time.Time
}

// ActionCodec encodes the actions of an update for a durable store's outbox, so that actions
// committed but not finished when the process died are performed after it restarts. Encode
// is given the update, because decoded actions are performed without it: Decode returns an
// update standing for it, with what the Performer needs to know where the actions go.
// Encodings should begin with a format byte, as a Store's codec's do.
type ActionCodec[A any] interface {
	Encode(u *gotgbot.Update, a A) ([]byte, error)
	Decode(data []byte) (*gotgbot.Update, A, error)
}

// Stats is a snapshot of a Runtime's counters.
type Stats struct {
	Delivered   int64 // updates handed to Deliver
	Handled     int64 // updates whose new state was committed
	Crashes     int64 // updates whose handling failed (each got an apology)
	Paused      int64 // updates finished unanswered because their user was cooling down
	Throttled   int64 // updates not handled because their user sent too fast
	Backlog     int64 // updates delivered and not yet handled: what waits in mailboxes
	Spawned     int64 // user actors started since the runtime began
	Passivated  int64 // user actors stopped for idleness or over MaxResident
	Resident    int64 // user actors alive now (not yet stopped)
	CoolingDown int64 // users paused after a crash loop
	// The store's part: commits refused as stale (each handled again), updates found
	// committed already (not applied again), updates not kept because the store failed,
	// records that cannot be decoded, failed store calls, and outbox actions performed
	// again after a restart or a duplicate. Vanished counts records found gone from the store
	// while their user's actor held them (a flush), each rewritten from memory.
	Stale, Duplicates, NotKept, Corrupt, StoreErrors, Resent, Vanished int64
	// Settled counts young outboxes waited for before they were sent (Config.OutboxGrace).
	Settled  int64
	Restarts RestartStats
}

// New starts a Runtime that runs logic for every key, commits to store and hands actions to
// performer. ctx bounds the work the runtime starts (the context handed to Perform).
func New[S, A any](ctx context.Context, cfg Config, logic Logic[S, A], performer Performer[A], store Store[S]) *Runtime[S, A] {
	return NewDurable(ctx, cfg, logic, performer, store, nil)
}

// NewDurable is New with an outbox: codec encodes every update's actions into its commit,
// and a user's actor performs what its record's outbox still holds when it starts, before
// the user's new updates. A nil codec keeps no outbox.
func NewDurable[S, A any](ctx context.Context, cfg Config, logic Logic[S, A], performer Performer[A], store Store[S], codec ActionCodec[A]) *Runtime[S, A] {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Shards <= 0 {
		cfg.Shards = 8 * runtime.GOMAXPROCS(0)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OutboxGrace == 0 {
		cfg.OutboxGrace = 5 * time.Second
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	rctx, cancel := context.WithCancel(ctx)
	rt := &Runtime[S, A]{
		cfg:       cfg,
		policy:    cfg.Restart.withDefaults(),
		ctx:       rctx,
		cancel:    cancel,
		log:       cfg.Logger,
		logic:     logic,
		performer: performer,
		store:     store,
		codec:     codec,
		system:    actor.NewActorSystem(actor.WithLoggerFactory(quietLogger(cfg.Logger))),
		stopSweep: make(chan struct{}),
		// A crash storm must not flood the log: a burst of 20 lines, then 5 a second.
		crashLog: rate.NewLimiter(5, 20),
		// protoactor's default throughput; a getUpdates batch (100) of mailboxes and more.
		dispatch: newDispatcher(300, 256, time.Second),
	}
	if d, ok := store.(AckDeferrer); ok && codec != nil {
		rt.deferrer = d
	}
	// The lock-free mailbox: an idle one is two small queue nodes, where the default keeps a
	// ring of ten slots per actor, which at a million resident users is 170 MB.
	rt.userProps = actor.PropsFromProducer(func() actor.Actor { return &userActor[S, A]{rt: rt} },
		actor.WithMailbox(actor.UnboundedLockfree()), actor.WithDispatcher(rt.dispatch))
	shardCap := 0
	if cfg.MaxResident > 0 {
		shardCap = max(1, (cfg.MaxResident+cfg.Shards-1)/cfg.Shards)
	}
	rt.shards = make([]*actor.PID, cfg.Shards)
	for i := range rt.shards {
		props := actor.PropsFromProducer(func() actor.Actor { return newShard(rt, shardCap) }, actor.WithDispatcher(rt.dispatch))
		pid, err := rt.system.Root.SpawnNamed(props, fmt.Sprintf("shard%d", i))
		if err != nil {
			// A fresh actor system has no names taken; this cannot happen.
			panic(fmt.Sprintf("actors: spawn shard %d: %v", i, err))
		}
		rt.shards[i] = pid
	}
	go rt.sweeper()
	return rt
}

// sweeper has every shard look for idle actors and ended cool-downs, a few times per idle
// timeout: often enough that an actor idles at most a quarter longer than asked.
func (rt *Runtime[S, A]) sweeper() {
	every := 30 * time.Second
	if idle := rt.cfg.IdleTimeout; idle > 0 {
		every = min(every, max(idle/4, time.Millisecond))
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			for _, pid := range rt.shards {
				rt.system.Root.Send(pid, sweepTick)
			}
		case <-rt.stopSweep:
			return
		}
	}
}

var sweepTick = &sweep{}

func (rt *Runtime[S, A]) now() time.Time { return rt.cfg.Now() }
func (rt *Runtime[S, A]) rand() float64  { return rt.cfg.Rand() }

// crashed logs a crash, unless crashes are coming too fast to log each one.
func (rt *Runtime[S, A]) crashed(c *Crash) {
	if !rt.crashLog.Allow() {
		rt.muted.Add(1)
		return
	}
	rt.log.Error("user actor crashed",
		slog.Int64("key", c.Key),
		slog.Int64("update", c.UpdateID),
		slog.Any("panic", c.Reason),
		slog.String("stack", string(c.Stack)),
		slog.Int64("crashes_not_logged", rt.muted.Swap(0)))
}

// System returns the protoactor system the runtime runs on, e.g. to subscribe to its
// EventStream (the runtime publishes an *actor.SupervisorEvent for every crash, a
// *Restarted when the crashed actor starts again, and a *CoolDown and a *Passivated event).
func (rt *Runtime[S, A]) System() *actor.ActorSystem { return rt.system }

// Deliver hands u to the actor of its key. It never blocks on the actor; done is called once
// u's actions are finished, or once its apology is, if handling u failed. Updates with no
// key (nil, or of a type newer than KeyOf knows) are finished at once.
func (rt *Runtime[S, A]) Deliver(u *gotgbot.Update, done func()) error {
	return rt.Submit(u, func(error) { done() })
}

// Submit is Deliver telling done whether u was kept: nil once it was handled (or answered
// with an apology) and its actions finished; an error wrapping ErrNotKept when the store
// could not commit it, so that nothing of it was kept and it should be delivered again.
func (rt *Runtime[S, A]) Submit(u *gotgbot.Update, done func(err error)) error {
	return rt.submit(u, done, false)
}

// SubmitJournaled is Submit for an update kept in the store's intake journal, where
// done(nil) is followed by the update's finish (intake's journaler does that): the store may
// then leave the update's last acknowledgement to that finish (see AckDeferrer).
func (rt *Runtime[S, A]) SubmitJournaled(u *gotgbot.Update, done func(err error)) error {
	return rt.submit(u, done, true)
}

func (rt *Runtime[S, A]) submit(u *gotgbot.Update, done func(err error), journaled bool) error {
	if rt.closed.Load() {
		return ErrClosed
	}
	key, ok := KeyOf(u)
	if !ok {
		done(nil)
		return nil
	}
	rt.counters.delivered.Add(1)
	d := &delivery{update: u, key: key, done: done, journaled: journaled}
	rt.system.Root.Send(rt.shards[mix(key)%uint64(len(rt.shards))], d)
	return nil
}

// Stats returns the runtime's counters.
func (rt *Runtime[S, A]) Stats() Stats {
	st := Stats{
		Delivered:   rt.counters.delivered.Load(),
		Handled:     rt.counters.handled.Load(),
		Crashes:     rt.counters.crashes.Load(),
		Paused:      rt.counters.paused.Load(),
		Throttled:   rt.counters.throttled.Load(),
		Spawned:     rt.counters.spawned.Load(),
		Passivated:  rt.counters.passivated.Load(),
		CoolingDown: rt.counters.cooling.Load(),
		Restarts:    rt.restarts.stats(rt.now()),
		Stale:       rt.counters.stale.Load(),
		Duplicates:  rt.counters.duplicates.Load(),
		NotKept:     rt.counters.notKept.Load(),
		Corrupt:     rt.counters.corrupt.Load(),
		StoreErrors: rt.counters.storeErrs.Load(),
		Resent:      rt.counters.resent.Load(),
		Settled:     rt.counters.settled.Load(),
		Vanished:    rt.counters.vanished.Load(),
	}
	st.Resident = st.Spawned - rt.counters.stopped.Load()
	st.Backlog = st.Delivered - st.Handled - st.Crashes - st.Paused - st.Throttled - st.Duplicates - st.NotKept
	return st
}

// StoreErr returns the error of the store's last failed call, or nil once a call after it
// succeeded: what readiness reports.
func (rt *Runtime[S, A]) StoreErr() error {
	_, err := rt.StoreErrAt()
	return err
}

// StoreErrAt is StoreErr with the time of that failure.
func (rt *Runtime[S, A]) StoreErrAt() (time.Time, error) {
	if e := rt.storeErr.Load(); e != nil {
		return e.at, e.err
	}
	return time.Time{}, nil
}

func (rt *Runtime[S, A]) storeFailed(err error) {
	rt.counters.storeErrs.Add(1)
	rt.storeErr.Store(&storeError{err: err, at: rt.now()})
}

// storeOK clears the store's error; the load first keeps the hot path free of writes.
func (rt *Runtime[S, A]) storeOK() {
	if rt.storeErr.Load() != nil {
		rt.storeErr.Store(nil)
	}
}

// Close stops every actor. Updates still queued in mailboxes are dropped, so the caller
// stops intake and waits for in-flight updates first. Close waits for the shards to stop
// until ctx is done.
func (rt *Runtime[S, A]) Close(ctx context.Context) error {
	if rt.closed.Swap(true) {
		return nil
	}
	close(rt.stopSweep)
	defer rt.cancel()
	defer rt.dispatch.close()
	defer rt.system.Shutdown()
	stopped := make([]actor.Future, len(rt.shards))
	for i, pid := range rt.shards {
		stopped[i] = rt.system.Root.StopFuture(pid)
	}
	for i, f := range stopped {
		if err := f.Wait(); err != nil {
			return fmt.Errorf("stop %s: %w", rt.shards[i].Id, err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("close runtime: %w", err)
		}
	}
	return nil
}

// KeyOf returns the routing key of u: the id of the user who caused it (see Origin) or, when
// it has no user (a channel post, a message sent on behalf of a chat, a reaction count), the
// id of its chat. A poll's new state has neither: it is the bot's own poll, and goes to key
// 0, the bot-wide actor. ok is false only for nil and for update types Origin does not know.
func KeyOf(u *gotgbot.Update) (key int64, ok bool) {
	if u == nil {
		return 0, false
	}
	user, chat := Origin(u)
	switch {
	case user != nil:
		return user.Id, true
	case chat != nil:
		return chat.Id, true
	case u.Poll != nil:
		return 0, true
	}
	return 0, false
}

// Origin returns the user who caused u and the chat it happened in, each nil when u has
// none: an inline query has no chat, a channel post no user, a poll's new state neither. It
// knows every update type of gotgbot's Update (a test checks that by reflection). A
// message's user is its sender (From); a callback query's chat is that of the message its
// button was on; a pre-checkout, shipping or inline query, a paid-media purchase, a
// business connection or a subscription happens in no chat (answers go to the user's
// private chat, whose id is the user's).
func Origin(u *gotgbot.Update) (user *gotgbot.User, chat *gotgbot.Chat) {
	switch {
	case u.Message != nil:
		return u.Message.From, &u.Message.Chat
	case u.EditedMessage != nil:
		return u.EditedMessage.From, &u.EditedMessage.Chat
	case u.CallbackQuery != nil:
		q := u.CallbackQuery
		if q.Message != nil {
			c := q.Message.GetChat()
			return &q.From, &c
		}
		return &q.From, nil
	case u.ChannelPost != nil:
		return u.ChannelPost.From, &u.ChannelPost.Chat
	case u.EditedChannelPost != nil:
		return u.EditedChannelPost.From, &u.EditedChannelPost.Chat
	case u.BusinessConnection != nil:
		return &u.BusinessConnection.User, nil
	case u.BusinessMessage != nil:
		return u.BusinessMessage.From, &u.BusinessMessage.Chat
	case u.EditedBusinessMessage != nil:
		return u.EditedBusinessMessage.From, &u.EditedBusinessMessage.Chat
	case u.DeletedBusinessMessages != nil:
		return nil, &u.DeletedBusinessMessages.Chat
	case u.GuestMessage != nil:
		return u.GuestMessage.From, &u.GuestMessage.Chat
	case u.MessageReaction != nil:
		return u.MessageReaction.User, &u.MessageReaction.Chat
	case u.MessageReactionCount != nil:
		return nil, &u.MessageReactionCount.Chat
	case u.InlineQuery != nil:
		return &u.InlineQuery.From, nil
	case u.ChosenInlineResult != nil:
		return &u.ChosenInlineResult.From, nil
	case u.ShippingQuery != nil:
		return &u.ShippingQuery.From, nil
	case u.PreCheckoutQuery != nil:
		return &u.PreCheckoutQuery.From, nil
	case u.PurchasedPaidMedia != nil:
		return &u.PurchasedPaidMedia.From, nil
	case u.PollAnswer != nil:
		// An anonymous vote names the chat it was cast for instead of a user.
		return u.PollAnswer.User, u.PollAnswer.VoterChat
	case u.MyChatMember != nil:
		return &u.MyChatMember.From, &u.MyChatMember.Chat
	case u.ChatMember != nil:
		return &u.ChatMember.From, &u.ChatMember.Chat
	case u.ChatJoinRequest != nil:
		return &u.ChatJoinRequest.From, &u.ChatJoinRequest.Chat
	case u.ChatBoost != nil:
		return boostUser(u.ChatBoost.Boost.Source), &u.ChatBoost.Chat
	case u.RemovedChatBoost != nil:
		return boostUser(u.RemovedChatBoost.Source), &u.RemovedChatBoost.Chat
	case u.ManagedBot != nil:
		return &u.ManagedBot.User, nil
	case u.Subscription != nil:
		return &u.Subscription.User, nil
	}
	return nil, nil // a Poll, or a type newer than this function
}

// boostUser is the user behind a boost, nil for a giveaway without one.
func boostUser(src gotgbot.ChatBoostSource) *gotgbot.User {
	if src == nil {
		return nil
	}
	return src.MergeChatBoostSource().User
}

// delivery is one update on its way to, and through, the actor of its key.
type delivery struct {
	update *gotgbot.Update
	key    int64
	seq    uint64 // the shard's number for it, per actor (see shard)
	// throttled: answer with Logic.Throttled instead of handling (the user is flooding)
	throttled bool
	// journaled: done(nil) is followed by the update's finish in the store's journal
	// (SubmitJournaled)
	journaled bool
	done      func(error)
	finished  atomic.Bool
}

// finish reports the update done, once: both the normal path and the crash path may try.
func (d *delivery) finish(err error) {
	if !d.finished.Swap(true) {
		d.done(err)
	}
}

// ok finishes the update as kept.
func (d *delivery) ok() { d.finish(nil) }

// Crash is the reason a user actor fails with: which update, for which key, and why.
type Crash struct {
	Key      int64
	UpdateID int64
	Reason   any // the panic value, or the error that stopped the update
	Stack    []byte
	// Panic is set when Logic panicked (Reason is what it panicked with), and clear when
	// the store failed to load or commit the state (Reason is that error).
	Panic bool
}

func (c *Crash) Error() string {
	return fmt.Sprintf("handle update %d of key %d: %v", c.UpdateID, c.Key, c.Reason)
}

// Unwrap returns the reason when it is an error.
func (c *Crash) Unwrap() error {
	err, _ := c.Reason.(error)
	return err
}

// quietLogger keeps protoactor's own chatter (an Info line per recovered panic, per actor
// system start) out of the log: the runtime logs failures itself, once, with their update.
func quietLogger(log *slog.Logger) func(*actor.ActorSystem) *slog.Logger {
	return func(*actor.ActorSystem) *slog.Logger {
		return slog.New(levelFloor{Handler: log.Handler(), min: slog.LevelWarn}).With("lib", "protoactor")
	}
}

type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelFloor) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelFloor{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h levelFloor) WithGroup(name string) slog.Handler {
	return levelFloor{Handler: h.Handler.WithGroup(name), min: h.min}
}

// maxSkips bounds the skipped ids kept for one key: they only bridge the moment until
// each one's own finish reaches the journal, which the newest ones need.
const maxSkips = 64

// skips holds, per key, the ids of updates answered without a commit (throttled, paused,
// crashed) since the key's last commit, for that commit to take out of the intake journal
// (Change.Skipped). Without it a flooding or crashing user's next update would find the
// skipped one still journaled, its finish on its way, and be refused as out of order.
type skips struct {
	keys atomic.Int32 // len(m): every commit asks, and almost always there is none
	mu   sync.Mutex
	m    map[int64][]int64
}

// skip records that update id of key was answered without a commit. With no durable
// store (no codec) there is no journal to tell.
func (rt *Runtime[S, A]) skip(key, id int64) {
	if rt.codec == nil {
		return
	}
	rt.skips.mu.Lock()
	defer rt.skips.mu.Unlock()
	if rt.skips.m == nil {
		rt.skips.m = map[int64][]int64{}
	}
	ids, had := rt.skips.m[key]
	if len(ids) == maxSkips {
		ids = append(ids[:0], ids[1:]...)
	}
	rt.skips.m[key] = append(ids, id)
	if !had {
		rt.skips.keys.Add(1)
	}
}

// skipped takes the ids skip recorded for key.
func (rt *Runtime[S, A]) skipped(key int64) []int64 {
	if rt.skips.keys.Load() == 0 {
		return nil
	}
	rt.skips.mu.Lock()
	defer rt.skips.mu.Unlock()
	ids, ok := rt.skips.m[key]
	if ok {
		delete(rt.skips.m, key)
		rt.skips.keys.Add(-1)
	}
	return ids
}
