package bot

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/actors"
	"github.com/troupebot/troupe/bot/notebook"
	"github.com/troupebot/troupe/bot/outbound"
)

// Perform carries out the actions of one update through the outbound sender, and calls
// done when all of them are finished. It implements actors.Performer.
func (b *Bot) Perform(_ context.Context, u *gotgbot.Update, actions []notebook.Action, done func()) {
	jobs := 0
	for _, a := range actions {
		jobs++
		if a.Kind == notebook.SendChart {
			jobs++ // the chat action, then the photo
		}
	}
	if jobs == 0 {
		done()
		return
	}
	where := target(u)
	var left atomic.Int32
	left.Store(int32(jobs))
	finish := func(error) {
		if left.Add(-1) == 0 {
			done()
		}
	}
	for _, a := range actions {
		if a.Kind == notebook.SendChart {
			b.performChart(where, a.Chart, finish)
			continue
		}
		call, err := b.call(where, a)
		if err == nil {
			// Replies are messages for Telegram's rate limits; edits and callback answers
			// are not.
			message := a.Kind == notebook.SendReply || a.Kind == notebook.SendStatus
			err = b.sender.Send(outbound.Job{Chat: where.chat, Call: call, Message: message, Done: finish})
		}
		if err != nil {
			b.log.Error("action not performed", slog.Int64("update", u.UpdateId), slog.Any("err", err))
			finish(err)
		}
	}
}

// place is where the answers to an update go.
type place struct {
	chat    int64  // chat to send to (and the outbound queue that orders the answers)
	message int64  // the user's message to reply to, or the message a button was on
	query   string // the callback query to answer
}

func target(u *gotgbot.Update) place {
	switch {
	case u.Message != nil:
		return place{chat: u.Message.Chat.Id, message: u.Message.MessageId}
	case u.CallbackQuery != nil:
		q := u.CallbackQuery
		p := place{chat: q.From.Id, query: q.Id}
		if q.Message != nil {
			p.chat, p.message = q.Message.GetChat().Id, q.Message.GetMessageId()
		}
		return p
	}
	key, _ := actors.KeyOf(u)
	return place{chat: key}
}

func (b *Bot) call(p place, a notebook.Action) (outbound.Call, error) {
	switch a.Kind {
	case notebook.SendReply:
		return b.sendText(p, a.Text, a.Buttons), nil
	case notebook.SendStatus:
		return func(ctx context.Context) error {
			return b.sendText(p, b.Status(), nil)(ctx)
		}, nil
	case notebook.EditMessage:
		if p.message == 0 {
			return nil, fmt.Errorf("edit message in chat %d: the callback query has no message", p.chat)
		}
		body := editMessageText{ChatID: p.chat, MessageID: p.message, Text: a.Text, ReplyMarkup: inlineKeyboard(a.Buttons)}
		return func(ctx context.Context) error {
			return b.endpoint.Call(ctx, "editMessageText", body)
		}, nil
	case notebook.AnswerCallback:
		if p.query == "" {
			return nil, fmt.Errorf("answer callback in chat %d: the update is not a callback query", p.chat)
		}
		body := answerCallbackQuery{CallbackQueryID: p.query, Text: a.Text}
		return func(ctx context.Context) error {
			return b.endpoint.Call(ctx, "answerCallbackQuery", body)
		}, nil
	}
	return nil, fmt.Errorf("unknown action kind %d", a.Kind)
}

func (b *Bot) sendText(p place, text string, buttons [][]notebook.Button) outbound.Call {
	body := sendMessage{ChatID: p.chat, Text: text}
	if p.message != 0 {
		// The echo contract: every reply names the message it answers. If the user deleted
		// it meanwhile, the reply still goes out.
		body.ReplyParameters = &gotgbot.ReplyParameters{MessageId: p.message, AllowSendingWithoutReply: true}
	}
	if len(buttons) > 0 {
		body.ReplyMarkup = inlineKeyboard(buttons)
	}
	return func(ctx context.Context) error {
		return b.endpoint.Call(ctx, "sendMessage", body)
	}
}

// The bodies of the requests the bot sends most: encoded straight from these structs, and
// answered without decoding the message Telegram echoes back.
type (
	sendMessage struct {
		ChatID          int64                         `json:"chat_id"`
		Text            string                        `json:"text"`
		ReplyParameters *gotgbot.ReplyParameters      `json:"reply_parameters,omitempty"`
		ReplyMarkup     *gotgbot.InlineKeyboardMarkup `json:"reply_markup,omitempty"`
	}
	editMessageText struct {
		ChatID      int64                         `json:"chat_id"`
		MessageID   int64                         `json:"message_id"`
		Text        string                        `json:"text"`
		ReplyMarkup *gotgbot.InlineKeyboardMarkup `json:"reply_markup,omitempty"`
	}
	answerCallbackQuery struct {
		CallbackQueryID string `json:"callback_query_id"`
		Text            string `json:"text,omitempty"`
	}
)

// inlineKeyboard is nil for no buttons: an edit without a keyboard removes the old one.
func inlineKeyboard(rows [][]notebook.Button) *gotgbot.InlineKeyboardMarkup {
	if len(rows) == 0 {
		return nil
	}
	kb := &gotgbot.InlineKeyboardMarkup{InlineKeyboard: make([][]gotgbot.InlineKeyboardButton, len(rows))}
	for i, row := range rows {
		kb.InlineKeyboard[i] = make([]gotgbot.InlineKeyboardButton, len(row))
		for j, btn := range row {
			kb.InlineKeyboard[i][j] = gotgbot.InlineKeyboardButton{Text: btn.Text, CallbackData: btn.Data}
		}
	}
	return kb
}
