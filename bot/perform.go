package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot/outbound"
)

// perform carries out the actions of one update through the outbound sender and reports
// each one's outcome as it finishes. It is the runtime's Performer. A query Telegram
// waits for an answer to (a button press, a pre-checkout, shipping or inline query) that
// the actions leave unanswered is answered here, so that no client spins.
//
// Once every action is queued it reports Queued, unless the chat or the bot has more
// replies waiting than Config.MaxUnsentPerChat or MaxUnsent: with the memory store the
// update is confirmed to Telegram then, and past those bounds only once its replies are
// sent, so that what a crash loses stays bounded.
func (b *Bot) perform(_ context.Context, u *gotgbot.Update, actions []Action, report actors.Report) {
	p := target(u)
	if p.query != "" && !answered(p.answers, actions) {
		actions = append(actions[:len(actions):len(actions)], unanswered(p.answers))
	}
	t := newTally(len(actions), report)
	for i, a := range actions {
		where := p.to(a)
		if a.Kind == SendChart {
			b.performChart(where, a, t.action(i, 2)) // the chat action, then the photo
			continue
		}
		finish := t.action(i, 1)
		call, err := b.call(where, a)
		if err == nil {
			err = b.sender.Send(outbound.Job{Chat: where.chat, Call: call, Message: sendsMessage[a.Kind], Done: finish})
		}
		if err != nil {
			if !errors.Is(err, outbound.ErrClosed) {
				b.log.Error("action not performed", slog.Int64("update", u.UpdateId), slog.Any("err", err))
			}
			finish(err)
		}
	}
	chat, total := b.sender.Backlog(p.chat)
	t.queued(b.cfg.MaxUnsentPerChat >= 0 && chat <= b.cfg.MaxUnsentPerChat && total <= b.cfg.MaxUnsent)
}

// tally reports one update's actions to the runtime: each action once all its jobs are
// finished, then Finished once every action is and queued was called, so after Queued.
// Its lock is never contended for long: an update's jobs finish one at a time per chat.
type tally struct {
	report  actors.Report
	mu      sync.Mutex
	left    int // actions not finished, plus one until queued is called
	notDone int // actions not performed (the sender closed)
	acts    []actionTally
}

type actionTally struct {
	jobs    int   // not finished
	notDone bool  // one of them was not performed
	err     error // the last one's outcome (a chart's photo, after its chat action)
}

func newTally(n int, report actors.Report) *tally {
	return &tally{report: report, left: n + 1, acts: make([]actionTally, n)}
}

// action returns the Done of action i's jobs.
func (t *tally) action(i, jobs int) func(error) {
	t.acts[i].jobs = jobs
	return func(err error) {
		t.mu.Lock()
		a := &t.acts[i]
		a.jobs--
		a.err = err
		if errors.Is(err, outbound.ErrClosed) || errors.Is(err, outbound.ErrAbandoned) {
			a.notDone = true
		}
		if a.jobs > 0 {
			t.mu.Unlock()
			return
		}
		err = a.err
		if a.notDone {
			t.notDone++
			err = fmt.Errorf("%w: %w", actors.ErrNotPerformed, err)
		}
		t.mu.Unlock()
		t.report(i, err)
		t.settle()
	}
}

// queued is called once every action is queued; ok says the update may be confirmed now.
func (t *tally) queued(ok bool) {
	if ok {
		t.report(actors.Queued, nil)
	}
	t.settle()
}

func (t *tally) settle() {
	t.mu.Lock()
	t.left--
	left, notDone := t.left, t.notDone
	t.mu.Unlock()
	if left != 0 {
		return
	}
	var err error
	if notDone > 0 {
		err = fmt.Errorf("%d of %d actions: %w", notDone, len(t.acts), actors.ErrNotPerformed)
	}
	t.report(actors.Finished, err)
}

// sendsMessage marks the actions that count against Telegram's message limits; edits,
// deletions, answers and chat actions do not. A custom action is counted, to be safe.
var sendsMessage = [...]bool{SendText: true, SendPhoto: true, SendDocument: true, SendStatus: true, Custom: true}

// place is where the answers to an update go.
type place struct {
	chat     int64      // chat to send to (and the outbound queue that orders the answers)
	message  int64      // the user's message to reply to, or the message a button was on
	business string     // the business connection a business message came through
	query    string     // the query to answer, if the update is one
	answers  ActionKind // the action that answers query
}

func target(u *gotgbot.Update) place {
	if m := messageOf(u); m != nil {
		return place{chat: m.Chat.Id, message: m.MessageId, business: m.BusinessConnectionId}
	}
	switch {
	case u.CallbackQuery != nil:
		q := u.CallbackQuery
		p := place{chat: q.From.Id, query: q.Id, answers: AnswerCallback}
		if q.Message != nil {
			p.chat, p.message = q.Message.GetChat().Id, q.Message.GetMessageId()
		}
		return p
	case u.PreCheckoutQuery != nil:
		return place{chat: u.PreCheckoutQuery.From.Id, query: u.PreCheckoutQuery.Id, answers: AnswerPreCheckout}
	case u.ShippingQuery != nil:
		return place{chat: u.ShippingQuery.From.Id, query: u.ShippingQuery.Id, answers: AnswerShipping}
	case u.InlineQuery != nil:
		return place{chat: u.InlineQuery.From.Id, query: u.InlineQuery.Id, answers: AnswerInline}
	}
	// Elsewhere the chat it happened in, else the user's private chat (whose id is theirs).
	user, chat := actors.Origin(u)
	switch {
	case chat != nil:
		return place{chat: chat.Id}
	case user != nil:
		return place{chat: user.Id}
	}
	return place{}
}

// messageOf is the message an update carries, which replies answer.
func messageOf(u *gotgbot.Update) *gotgbot.Message {
	switch {
	case u.Message != nil:
		return u.Message
	case u.EditedMessage != nil:
		return u.EditedMessage
	case u.ChannelPost != nil:
		return u.ChannelPost
	case u.EditedChannelPost != nil:
		return u.EditedChannelPost
	case u.BusinessMessage != nil:
		return u.BusinessMessage
	case u.EditedBusinessMessage != nil:
		return u.EditedBusinessMessage
	}
	return nil
}

// to is where action a goes: another chat (not as a reply, nor through the business
// connection), or the update's own.
func (p place) to(a Action) place {
	if a.Chat != 0 && a.Chat != p.chat {
		return place{chat: a.Chat}
	}
	if a.NoReply {
		p.message = 0
	}
	return p
}

func answered(kind ActionKind, actions []Action) bool {
	for _, a := range actions {
		if a.Kind == kind || a.Answers {
			return true
		}
	}
	return false
}

// unanswered is the edge's answer to a query the App did not answer: an empty notification,
// a refusal (a payment goes through only when the App says so), no results.
func unanswered(kind ActionKind) Action {
	switch kind {
	case AnswerPreCheckout:
		return RefuseCheckout(RefusedCheckoutText)
	case AnswerShipping:
		return RefuseShipping(RefusedShippingText)
	case AnswerInline:
		return NoResults()
	}
	return Answer("")
}

// What a user is told of a payment the App did not answer.
const (
	RefusedCheckoutText = "Sorry, this purchase cannot be completed right now."
	RefusedShippingText = "Sorry, we cannot deliver there."
)

func (b *Bot) call(p place, a Action) (outbound.Call, error) {
	switch a.Kind {
	case SendText:
		return b.sendText(p, a.Text, a), nil
	case SendStatus:
		return func(ctx context.Context) error {
			return b.sendText(p, b.Status(), Action{})(ctx)
		}, nil
	case EditText, DeleteMessage:
		id := a.EditID
		if id == 0 {
			id = p.message
		}
		if id == 0 {
			return nil, fmt.Errorf("change a message in chat %d: the update has no message (set EditID)", p.chat)
		}
		if a.Kind == DeleteMessage {
			return b.callMethod("deleteMessage", deleteMessage{ChatID: p.chat, MessageID: id}), nil
		}
		body := editMessageText{ChatID: p.chat, MessageID: id, Text: a.Text, ParseMode: a.ParseMode, ReplyMarkup: inlineKeyboard(a.Buttons), Business: p.business}
		return b.callMethod("editMessageText", body), nil
	case AnswerCallback, AnswerPreCheckout, AnswerShipping, AnswerInline:
		return b.answer(p, a)
	case SendPhoto, SendDocument:
		if a.File == nil {
			return nil, fmt.Errorf("send file to chat %d: the action has no file", p.chat)
		}
		return b.sendFile(p, a, a.File.Name, a.File.Data), nil
	case SendChatAction:
		return b.callMethod("sendChatAction", sendChatAction{ChatID: p.chat, Action: a.ChatAction, Business: p.business}), nil
	case Custom:
		f := b.custom[a.Name]
		if f == nil {
			return nil, fmt.Errorf("custom action %q: the app has no such action", a.Name)
		}
		return func(ctx context.Context) error { return f(ctx, b.api, p.chat, a.Payload) }, nil
	}
	return nil, fmt.Errorf("unknown action kind %d", a.Kind)
}

func (b *Bot) answer(p place, a Action) (outbound.Call, error) {
	if p.query == "" || p.answers != a.Kind {
		return nil, fmt.Errorf("answer in chat %d: the update is not the query action %d answers", p.chat, a.Kind)
	}
	var method string
	var body any
	switch a.Kind {
	case AnswerCallback:
		method, body = "answerCallbackQuery", answerCallbackQuery{CallbackQueryID: p.query, Text: a.Text, ShowAlert: a.Alert}
	case AnswerPreCheckout:
		method, body = "answerPreCheckoutQuery", answerQuery{PreCheckoutQueryID: p.query, OK: a.OK, ErrorMessage: refusal(a)}
	case AnswerShipping:
		method, body = "answerShippingQuery", answerQuery{ShippingQueryID: p.query, OK: a.OK, ErrorMessage: refusal(a)}
	default:
		method, body = "answerInlineQuery", answerInlineQuery{InlineQueryID: p.query, Results: []any{}}
	}
	return b.callMethod(method, body), nil
}

// refusal is a refused payment's reason: Telegram requires one.
func refusal(a Action) string {
	switch {
	case a.OK:
		return ""
	case a.Text != "":
		return a.Text
	case a.Kind == AnswerShipping:
		return RefusedShippingText
	}
	return RefusedCheckoutText
}

func (b *Bot) callMethod(method string, body any) outbound.Call {
	return func(ctx context.Context) error { return b.endpoint.Call(ctx, method, body) }
}

func (b *Bot) sendText(p place, text string, a Action) outbound.Call {
	body := sendMessage{ChatID: p.chat, Text: text, ParseMode: a.ParseMode, Business: p.business}
	if p.message != 0 {
		// The echo contract: every reply names the message it answers. If the user deleted
		// it meanwhile, the reply still goes out.
		body.ReplyParameters = &gotgbot.ReplyParameters{MessageId: p.message, AllowSendingWithoutReply: true}
	}
	body.ReplyMarkup = markup(a)
	return b.callMethod("sendMessage", body)
}

// sendFile uploads data from memory as a photo or a document, by multipart.
func (b *Bot) sendFile(p place, a Action, name string, data []byte) outbound.Call {
	var reply *gotgbot.ReplyParameters
	if p.message != 0 {
		reply = &gotgbot.ReplyParameters{MessageId: p.message, AllowSendingWithoutReply: true}
	}
	rm := markup(a)
	if a.Kind == SendDocument {
		opts := &gotgbot.SendDocumentOpts{Caption: a.Text, ParseMode: a.ParseMode, ReplyParameters: reply, ReplyMarkup: rm, BusinessConnectionId: p.business}
		return func(ctx context.Context) error {
			// A fresh reader each time: a retried request must send the whole file again.
			_, err := b.api.SendDocumentWithContext(ctx, p.chat, gotgbot.InputFileByReader(name, bytes.NewReader(data)), opts)
			return err
		}
	}
	opts := &gotgbot.SendPhotoOpts{Caption: a.Text, ParseMode: a.ParseMode, ReplyParameters: reply, ReplyMarkup: rm, BusinessConnectionId: p.business}
	return func(ctx context.Context) error {
		_, err := b.api.SendPhotoWithContext(ctx, p.chat, gotgbot.InputFileByReader(name, bytes.NewReader(data)), opts)
		return err
	}
}

// The bodies of the requests the bot sends most: encoded straight from these structs, and
// answered without decoding the message Telegram echoes back.
type (
	sendMessage struct {
		Business        string                   `json:"business_connection_id,omitempty"`
		ChatID          int64                    `json:"chat_id"`
		Text            string                   `json:"text"`
		ParseMode       string                   `json:"parse_mode,omitempty"`
		ReplyParameters *gotgbot.ReplyParameters `json:"reply_parameters,omitempty"`
		ReplyMarkup     gotgbot.ReplyMarkup      `json:"reply_markup,omitempty"`
	}
	editMessageText struct {
		Business    string                        `json:"business_connection_id,omitempty"`
		ChatID      int64                         `json:"chat_id"`
		MessageID   int64                         `json:"message_id"`
		Text        string                        `json:"text"`
		ParseMode   string                        `json:"parse_mode,omitempty"`
		ReplyMarkup *gotgbot.InlineKeyboardMarkup `json:"reply_markup,omitempty"`
	}
	deleteMessage struct {
		ChatID    int64 `json:"chat_id"`
		MessageID int64 `json:"message_id"`
	}
	sendChatAction struct {
		Business string `json:"business_connection_id,omitempty"`
		ChatID   int64  `json:"chat_id"`
		Action   string `json:"action"`
	}
	answerCallbackQuery struct {
		CallbackQueryID string `json:"callback_query_id"`
		Text            string `json:"text,omitempty"`
		ShowAlert       bool   `json:"show_alert,omitempty"`
	}
	// answerQuery is answerPreCheckoutQuery's body or answerShippingQuery's.
	answerQuery struct {
		PreCheckoutQueryID string `json:"pre_checkout_query_id,omitempty"`
		ShippingQueryID    string `json:"shipping_query_id,omitempty"`
		OK                 bool   `json:"ok"`
		ErrorMessage       string `json:"error_message,omitempty"`
	}
	answerInlineQuery struct {
		InlineQueryID string `json:"inline_query_id"`
		Results       []any  `json:"results"`
	}
)

// markup is a message's keyboard: inline buttons, a custom keyboard, the custom keyboard
// taken away, or nil for none.
func markup(a Action) gotgbot.ReplyMarkup {
	switch {
	case len(a.Buttons) > 0:
		return inlineKeyboard(a.Buttons)
	case len(a.Keyboard) > 0:
		kb := &gotgbot.ReplyKeyboardMarkup{Keyboard: make([][]gotgbot.KeyboardButton, len(a.Keyboard)), ResizeKeyboard: true}
		for i, row := range a.Keyboard {
			kb.Keyboard[i] = make([]gotgbot.KeyboardButton, len(row))
			for j, text := range row {
				kb.Keyboard[i][j] = gotgbot.KeyboardButton{Text: text}
			}
		}
		return kb
	case a.RemoveKeyboard:
		return &gotgbot.ReplyKeyboardRemove{RemoveKeyboard: true}
	}
	return nil
}

// inlineKeyboard is nil for no buttons: an edit without a keyboard removes the old one.
func inlineKeyboard(rows [][]Button) *gotgbot.InlineKeyboardMarkup {
	if len(rows) == 0 {
		return nil
	}
	kb := &gotgbot.InlineKeyboardMarkup{InlineKeyboard: make([][]gotgbot.InlineKeyboardButton, len(rows))}
	for i, row := range rows {
		kb.InlineKeyboard[i] = make([]gotgbot.InlineKeyboardButton, len(row))
		for j, btn := range row {
			kb.InlineKeyboard[i][j] = gotgbot.InlineKeyboardButton{Text: btn.Text, CallbackData: btn.Data, Url: btn.URL}
		}
	}
	return kb
}
