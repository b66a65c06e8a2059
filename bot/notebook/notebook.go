package notebook

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot"
)

// Limits bound what one user can store and send. Hitting one gets a clear reply.
type Limits struct {
	// MaxValues is the length of a series; recording more drops the oldest value (and
	// says so), so a series always holds the newest MaxValues.
	MaxValues int
	// MaxLabel is the longest label, in characters; a longer one is refused.
	MaxLabel int
	// MaxText is the longest message read, in UTF-16 code units as Telegram counts them.
	MaxText int
}

// DefaultLimits are Telegram's text limit and a series a chart can still show in full.
var DefaultLimits = Limits{MaxValues: 10_000, MaxLabel: 64, MaxText: 4096}

// Options configure the notebook.
type Options struct {
	// Admins may use /status; to everyone else it does not exist.
	Admins []int64
	// Chaos makes the text "panic" panic inside Handle, to exercise supervision.
	Chaos bool
	// Limits bound series, labels and messages; zero fields take DefaultLimits.
	Limits Limits
}

// New returns the notebook as an App for bot.New.
func New(opt Options) bot.App[Context] {
	admins := make(map[int64]bool, len(opt.Admins))
	for _, id := range opt.Admins {
		admins[id] = true
	}
	return bot.App[Context]{
		Name:  "notebook",
		Logic: &Notebook{Admins: admins, Chaos: opt.Chaos, Charts: true, Limits: opt.Limits},
		Size:  Context.Size,
		Codec: Codec{},
		// The notebook answers messages and its buttons; Telegram sends it nothing else.
		AllowedUpdates: []string{"message", "edited_message", "callback_query"},
	}
}

// Notebook is the conversation. Its fields are configuration; Handle never changes them,
// so one Notebook serves every user concurrently.
type Notebook struct {
	// Admins may use /status; to everyone else it does not exist.
	Admins map[int64]bool
	// Charts enables /chart.
	Charts bool
	// Chaos makes the text "panic" panic inside Handle, to exercise supervision.
	Chaos bool
	// Limits bound series, labels and messages; zero fields take DefaultLimits.
	Limits Limits
}

// ChaosPanic is the value Handle panics with when chaos is on and a user sends "panic".
const ChaosPanic = "chaos: the user asked this actor to panic"

const echoQuote = 64 // runes of a plain text message quoted back

var (
	_ bot.Logic[Context] = (*Notebook)(nil)
	_ bot.Apologizer     = (*Notebook)(nil)
	_ bot.Throttler      = (*Notebook)(nil)
)

// Handle answers one update. It returns the Context to commit and the actions to perform;
// it never changes c.
func (nb *Notebook) Handle(c Context, u *bot.Update) (Context, []bot.Action) {
	switch {
	case u.Message != nil:
		return nb.message(c, u.Message, u.UpdateId, u.Me.Username)
	case u.CallbackQuery != nil:
		return nb.callback(c, u.CallbackQuery)
	}
	// Edits, channel posts and the rest: the notebook records what users send, not what
	// they change afterwards, and has nothing to say about them.
	return c, nil
}

// Apology answers an update whose handling failed: nothing of it was recorded. When pause
// is set, the user's messages are ignored for that long, and this is where they learn it.
func (nb *Notebook) Apology(u *bot.Update, err error, pause time.Duration) []bot.Action {
	text := "Sorry, something went wrong with that message; nothing was recorded. Please try again."
	if errors.Is(err, actors.ErrStateTooLarge) {
		text = "Your notebook is full, so that was not recorded. /undo or /reset makes room."
	}
	if pause > 0 {
		text = "Sorry, that failed too. After repeated errors I'm pausing for " + duration(pause) +
			": messages you send meanwhile are ignored. Your recorded values are safe."
	}
	if u.CallbackQuery != nil {
		return []bot.Action{bot.Answer(quote(text, 200))}
	}
	return []bot.Action{reply(text)}
}

// Throttled answers the first message of a flood: the user sends faster than anyone types,
// and what they send meanwhile is skipped.
func (nb *Notebook) Throttled(u *bot.Update) []bot.Action {
	const text = "You're sending messages faster than I can read them, so I'm skipping some. Slow down and I'll catch up."
	if u.CallbackQuery != nil {
		return []bot.Action{bot.Answer("Too fast: slow down a little.")}
	}
	return []bot.Action{reply(text)}
}

// duration says d the way people do: "1 minute", "90 seconds", "2 hours".
func duration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour", "hours")
	case d >= time.Minute && d%time.Minute == 0:
		return plural(int(d/time.Minute), "minute", "minutes")
	default:
		return plural(int(d.Round(time.Second)/time.Second), "second", "seconds")
	}
}

func reply(text string) bot.Action { return bot.Reply(text) }

func (nb *Notebook) limits() Limits {
	l := nb.Limits
	if l.MaxValues <= 0 {
		l.MaxValues = DefaultLimits.MaxValues
	}
	if l.MaxLabel <= 0 {
		l.MaxLabel = DefaultLimits.MaxLabel
	}
	if l.MaxText <= 0 {
		l.MaxText = DefaultLimits.MaxText
	}
	return l
}

func (nb *Notebook) message(c Context, m *gotgbot.Message, updateID int64, username string) (Context, []bot.Action) {
	text := m.Text
	if text == "" {
		if m.Chat.Type != "private" {
			return c, nil // service messages and media in groups are not for us
		}
		return c, []bot.Action{reply("I read text only: send a number to record it, or /help.")}
	}
	if strings.HasPrefix(text, "/") {
		return nb.command(c, m, updateID, username)
	}
	return nb.plain(c, m)
}

// plain handles a text that is not a command: a value to record, or quoted back.
func (nb *Notebook) plain(c Context, m *gotgbot.Message) (Context, []bot.Action) {
	lim := nb.limits()
	if nb.Chaos && strings.TrimSpace(m.Text) == "panic" {
		panic(ChaosPanic)
	}
	if size := textLen(m.Text); size > lim.MaxText {
		return c, []bot.Action{reply(fmt.Sprintf("That message is %d characters long; I read at most %d.", size, lim.MaxText))}
	}
	v, label, isNumber, err := parseNumber(m.Text, lim.MaxLabel)
	switch {
	case !isNumber:
		return c, []bot.Action{reply("“" + quote(m.Text, echoQuote) + "” is not a number. Send one like 42 or 12.5 coffee, or /help.")}
	case err != nil:
		return c, []bot.Action{reply("Not recorded: " + err.Error() + ".")}
	}
	e := Entry{Value: v, Label: label, At: m.Date}
	series, oldest, dropped := c.Series.Append(e, lim.MaxValues)
	c.Series = series
	text := fmt.Sprintf("Recorded %s. %s, mean %s.", labelled(e), plural(series.Len(), "value", "values"), formatNumber(series.Mean()))
	if dropped {
		text += fmt.Sprintf(" The notebook keeps your newest %d values, so the oldest, %s, was dropped.", lim.MaxValues, labelled(oldest))
	}
	return c, []bot.Action{reply(text)}
}

func (nb *Notebook) command(c Context, m *gotgbot.Message, updateID int64, username string) (Context, []bot.Action) {
	name, args, forUs := command(m.Text, username)
	if !forUs {
		return c, nil
	}
	noArgs := func(run func() (Context, []bot.Action)) (Context, []bot.Action) {
		if args != "" {
			return c, []bot.Action{reply(fmt.Sprintf("/%s takes no arguments. /help lists the commands.", name))}
		}
		return run()
	}
	switch name {
	case "start":
		// "/start payload" comes from deep links; the payload means nothing here.
		return c, []bot.Action{reply(greeting(m.From) + nb.help())}
	case "help":
		return noArgs(func() (Context, []bot.Action) { return c, []bot.Action{reply(nb.help())} })
	case "stats":
		return noArgs(func() (Context, []bot.Action) { return c, []bot.Action{reply(stats(c.Series))} })
	case "undo":
		return noArgs(func() (Context, []bot.Action) { return undo(c) })
	case "reset":
		return noArgs(func() (Context, []bot.Action) { return reset(c, m, updateID) })
	case "chart":
		return nb.chart(c, args)
	case "status":
		if m.From != nil && nb.Admins[m.From.Id] {
			return noArgs(func() (Context, []bot.Action) { return c, []bot.Action{bot.Status()} })
		}
	}
	return c, []bot.Action{reply(unknown(name))}
}

func unknown(name string) string {
	return "I don't know /" + quote(name, 32) + ". /help lists the commands."
}

func greeting(from *gotgbot.User) string {
	if from == nil || from.FirstName == "" {
		return "Hi! "
	}
	return "Hi " + quote(from.FirstName, 32) + "! "
}

func (nb *Notebook) help() string {
	chart := "/chart [line|bar|hist] [N] — chart your newest N values\n"
	if !nb.Charts {
		chart = "/chart — charts (not enabled yet)\n"
	}
	return "I'm a notebook for numbers. Send a number, with a label if you like — 42 or 12.5 coffee — and I'll record it.\n\n" +
		"/stats — count, sum, mean, min, max and last value\n" +
		"/undo — remove the last value\n" +
		"/reset — delete all values (asks first)\n" +
		chart +
		"/help — this message"
}

func stats(s Series) string {
	sum, ok := s.Summarize()
	if !ok {
		return "No values yet. Send a number to record it."
	}
	return fmt.Sprintf("%s\nsum %s · mean %s\nmin %s · max %s\nlast %s",
		plural(sum.Count, "value", "values"),
		formatNumber(sum.Sum), formatNumber(sum.Mean),
		labelled(sum.Min), labelled(sum.Max),
		labelled(sum.Last))
}

func undo(c Context) (Context, []bot.Action) {
	series, removed, ok := c.Series.Undo()
	if !ok {
		return c, []bot.Action{reply("Nothing to undo: no values recorded.")}
	}
	c.Series = series
	return c, []bot.Action{reply(fmt.Sprintf("Removed %s. %s left.", labelled(removed), plural(series.Len(), "value", "values")))}
}

// Callback data of the /reset confirmation: "reset:yes:<nonce>@<owner>" or
// "reset:no:<nonce>@<owner>". The nonce is the update id of the /reset, so a button of an
// older confirmation is stale; the owner is the user who asked (see owned).
const resetPrefix = "reset:"

func reset(c Context, m *gotgbot.Message, updateID int64) (Context, []bot.Action) {
	n := c.Series.Len()
	if n == 0 {
		return c, []bot.Action{reply("Nothing to reset: no values recorded.")}
	}
	c.PendingReset = updateID
	nonce := strconv.FormatInt(updateID, 10)
	owner := askedBy(m)
	return c, []bot.Action{bot.Reply(fmt.Sprintf("Delete %s? This cannot be undone.", all(n))).WithButtons(bot.Row(
		bot.Data("Delete all", owned(owner, resetPrefix+"yes:"+nonce)),
		bot.Data("Cancel", owned(owner, resetPrefix+"no:"+nonce)),
	))}
}

// kept says the values stay: "your value stays", "your 7 values stay".
func kept(n int) string {
	if n == 1 {
		return "your value stays"
	}
	return "your " + plural(n, "value", "values") + " stay"
}

// all names every value of a series: "your 1 value", "all 7 values".
func all(n int) string {
	if n == 1 {
		return "your 1 value"
	}
	return "all " + plural(n, "value", "values")
}

func (nb *Notebook) callback(c Context, q *gotgbot.CallbackQuery) (Context, []bot.Action) {
	data, owner, known := ownerOf(q)
	isReset := strings.HasPrefix(data, resetPrefix)
	switch {
	case !known && isReset:
		// A confirmation from before buttons named their owner, pressed in a group: it may
		// be another member's, so it is neither answered for nor edited.
		return c, []bot.Action{bot.Answer(expired)}
	case !known:
		return c, []bot.Action{bot.Answer("This button does nothing.")}
	case owner != q.From.Id:
		// In a group this update reaches the presser's actor, not the owner's: refusing it
		// here keeps the presser's context and the owner's message as they are.
		return c, []bot.Action{bot.Answer(notYours)}
	}
	answer, nonceText, ok := strings.Cut(strings.TrimPrefix(data, resetPrefix), ":")
	nonce, err := strconv.ParseInt(nonceText, 10, 64)
	if !isReset || !ok || err != nil || (answer != "yes" && answer != "no") {
		return c, []bot.Action{bot.Answer("This button does nothing.")}
	}
	if nonce != c.PendingReset || nonce == 0 {
		return c, []bot.Action{
			bot.Answer(expired),
			bot.Edit("This confirmation has expired. Send /reset again if you still want to."),
		}
	}
	c.PendingReset = 0
	if answer == "no" {
		return c, []bot.Action{
			bot.Answer("Cancelled"),
			bot.Edit("Reset cancelled; " + kept(c.Series.Len()) + "."),
		}
	}
	n := c.Series.Len()
	c.Series = Series{}
	return c, []bot.Action{
		bot.Answer("Deleted"),
		bot.Edit(fmt.Sprintf("Deleted %s.", all(n))),
	}
}

const (
	expired  = "This confirmation has expired."
	notYours = "This button is not yours: only the one who asked can press it."
)

func (nb *Notebook) chart(c Context, args string) (Context, []bot.Action) {
	if !nb.Charts {
		return c, []bot.Action{reply("Charts are not enabled yet.")}
	}
	req, err := parseChart(args)
	if err != nil {
		return c, []bot.Action{reply(err.Error())}
	}
	if c.Series.Len() == 0 {
		return c, []bot.Action{reply("No values to chart yet. Send a number to record it.")}
	}
	req.Series = c.Series
	return c, []bot.Action{req.action()}
}

// parseChart reads "/chart [line|bar|hist] [N]", in either order.
func parseChart(args string) (*ChartRequest, error) {
	req := &ChartRequest{Kind: "line"}
	kindSet, lastSet := false, false
	for _, f := range strings.Fields(args) {
		switch k := strings.ToLower(f); {
		case (k == "line" || k == "bar" || k == "hist" || k == "histogram") && !kindSet:
			req.Kind, kindSet = strings.TrimSuffix(k, "ogram"), true
		case !lastSet && isDigits(f):
			n, err := strconv.Atoi(f)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("/chart N: N must be a whole number from 1 to %d, not %s", DefaultLimits.MaxValues, quote(f, 16))
			}
			req.Last, lastSet = n, true
		default:
			return nil, fmt.Errorf("/chart does not understand %q. Use /chart [line|bar|hist] [N], e.g. /chart bar 20", quote(f, 16))
		}
	}
	return req, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
