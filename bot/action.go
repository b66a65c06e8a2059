package bot

import (
	"fmt"

	"github.com/troupebot/troupe/render"
)

// ActionKind says what an Action asks the edge to do.
type ActionKind uint8

// The standard actions; the edge performs each, in order, per chat.
const (
	// SendText sends Text to the chat (by default replying to the update's message).
	SendText ActionKind = iota + 1
	// EditText changes the message a callback query came from (or EditID) to Text and
	// Buttons.
	EditText
	// DeleteMessage deletes the message a callback query came from (or EditID).
	DeleteMessage
	// AnswerCallback answers the update's callback query, showing Text (as an alert when
	// Alert is set).
	AnswerCallback
	// AnswerPreCheckout answers the update's pre-checkout query: OK, or Text as the reason
	// it is refused.
	AnswerPreCheckout
	// AnswerShipping answers the update's shipping query: OK, or Text as the reason.
	AnswerShipping
	// AnswerInline answers the update's inline query with no results (a custom action can
	// send real ones).
	AnswerInline
	// SendPhoto sends File as a photo with Text as its caption.
	SendPhoto
	// SendDocument sends File as a document with Text as its caption.
	SendDocument
	// SendChart renders Chart in the chart pool, then sends it as a photo.
	SendChart
	// SendChatAction shows ChatAction ("typing", "upload_photo") in the chat.
	SendChatAction
	// SendStatus replies with the runtime's status report (the operator's /status).
	SendStatus
	// Custom performs the application's own action Name (App.Custom) with Payload.
	Custom
)

// Action is one effect of an update, performed by the edge after the state was committed.
// Build one with the functions below (Reply, Edit, Answer, ...) and refine it with its
// With methods; every field is plain data, so an outbox can store it.
type Action struct {
	Kind ActionKind
	// Chat is where the action goes; 0 means the update's chat.
	Chat int64
	Text string
	// ParseMode is Telegram's parse_mode for Text: "", "HTML", "MarkdownV2".
	ParseMode string
	// Buttons is an inline keyboard under the message.
	Buttons [][]Button
	// Keyboard replaces the user's keyboard with these rows of buttons; RemoveKeyboard
	// takes a custom keyboard away. At most one of Buttons and Keyboard goes with a message.
	Keyboard       [][]string
	RemoveKeyboard bool
	// NoReply sends a message without naming the update's message as the one it answers.
	NoReply bool
	// EditID is the message EditText and DeleteMessage change; 0 means the message the
	// update's callback query came from.
	EditID int64
	// Alert shows a callback answer as an alert the user must dismiss.
	Alert bool
	// OK accepts a pre-checkout or shipping query.
	OK bool
	// File is a photo's or document's content.
	File *File
	// Chart is what SendChart renders.
	Chart *Chart
	// ChatAction is what SendChatAction shows.
	ChatAction string
	// Name and Payload are a custom action's.
	Name    string
	Payload []byte
	// Answers marks a custom action that answers the update's query itself (an inline
	// query's real results, shipping options), so the edge does not answer it too.
	Answers bool
}

// Button is an inline keyboard button: it sends Data back as a callback query, or opens
// URL when that is set (Data is then ignored by Telegram; leave it empty).
type Button struct {
	Text string
	Data string
	URL  string
}

// File is a document or photo sent from memory.
type File struct {
	Name string
	Data []byte
}

// Chart is a chart to render and send: Series drawn with Options (the action's Text is
// its caption).
type Chart struct {
	Series  render.Series
	Options render.Options
}

// Reply sends text to the update's chat, replying to the update's message.
func Reply(text string) Action { return Action{Kind: SendText, Text: text} }

// SendTo sends text to another chat, not as a reply.
func SendTo(chat int64, text string) Action {
	return Action{Kind: SendText, Chat: chat, Text: text, NoReply: true}
}

// Edit changes the message the update's callback query came from (see Action.EditID).
func Edit(text string) Action { return Action{Kind: EditText, Text: text} }

// Delete deletes the message the update's callback query came from.
func Delete() Action { return Action{Kind: DeleteMessage} }

// Answer answers the update's callback query with a notification (text may be empty).
func Answer(text string) Action { return Action{Kind: AnswerCallback, Text: text} }

// Alert answers the update's callback query with an alert.
func Alert(text string) Action { return Action{Kind: AnswerCallback, Text: text, Alert: true} }

// AcceptCheckout answers the update's pre-checkout query: the payment may go ahead.
func AcceptCheckout() Action { return Action{Kind: AnswerPreCheckout, OK: true} }

// RefuseCheckout answers the update's pre-checkout query: no, because reason.
func RefuseCheckout(reason string) Action { return Action{Kind: AnswerPreCheckout, Text: reason} }

// RefuseShipping answers the update's shipping query: no delivery there, because reason.
// Accepting needs shipping options: send those with a custom action.
func RefuseShipping(reason string) Action { return Action{Kind: AnswerShipping, Text: reason} }

// NoResults answers the update's inline query with no results.
func NoResults() Action { return Action{Kind: AnswerInline} }

// Photo sends png (or JPEG) bytes as a photo with a caption.
func Photo(name string, data []byte, caption string) Action {
	return Action{Kind: SendPhoto, File: &File{Name: name, Data: data}, Text: caption}
}

// Document sends data as a file with a caption.
func Document(name string, data []byte, caption string) Action {
	return Action{Kind: SendDocument, File: &File{Name: name, Data: data}, Text: caption}
}

// ChartOf renders s with opt in the chart pool and sends it as a photo with a caption.
// The user's actor moves on at once; the chat's later replies wait behind the photo.
func ChartOf(s render.Series, opt render.Options, caption string) Action {
	return Action{Kind: SendChart, Chart: &Chart{Series: s, Options: opt}, Text: caption}
}

// Typing shows "typing…" in the update's chat.
func Typing() Action { return Action{Kind: SendChatAction, ChatAction: "typing"} }

// Status replies with the runtime's status report. Guard it: it is for operators.
func Status() Action { return Action{Kind: SendStatus} }

// CustomAction performs App.Custom[name] with payload.
func CustomAction(name string, payload []byte) Action {
	return Action{Kind: Custom, Name: name, Payload: payload}
}

// AnsweringQuery marks a custom action as the answer to the update's query (see
// Action.Answers).
func (a Action) AnsweringQuery() Action { a.Answers = true; return a }

// WithButtons puts an inline keyboard under the message.
func (a Action) WithButtons(rows ...[]Button) Action { a.Buttons = rows; return a }

// WithKeyboard replaces the user's keyboard with rows of buttons that send their text.
func (a Action) WithKeyboard(rows ...[]string) Action { a.Keyboard = rows; return a }

// WithoutKeyboard takes a custom keyboard away.
func (a Action) WithoutKeyboard() Action { a.RemoveKeyboard = true; return a }

// WithParseMode sets Telegram's parse mode for the text: "HTML" or "MarkdownV2".
func (a Action) WithParseMode(mode string) Action { a.ParseMode = mode; return a }

// To sends the action to chat instead of the update's chat.
func (a Action) To(chat int64) Action { a.Chat = chat; return a }

// NotAReply sends the message without naming the update's message.
func (a Action) NotAReply() Action { a.NoReply = true; return a }

// Row is a row of inline buttons, each a label and its callback data.
func Row(buttons ...Button) []Button { return buttons }

// Data is an inline button that sends data back.
func Data(text, data string) Button { return Button{Text: text, Data: data} }

func panicText(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	return fmt.Sprint(v)
}
