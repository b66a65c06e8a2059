package notebook

// ActionKind says what an Action asks the bot to do.
type ActionKind uint8

const (
	// SendReply sends Text (and Buttons, if any) to the update's chat, replying to its message.
	SendReply ActionKind = iota + 1
	// EditMessage changes the message a callback query came from to Text and Buttons.
	EditMessage
	// AnswerCallback answers the update's callback query, showing Text as a notification.
	AnswerCallback
	// SendChart renders Chart and sends it as a photo replying to the update's message.
	SendChart
	// SendStatus replies with the runtime's status report (for admins).
	SendStatus
)

// Action is one effect of an update, carried out by the bot after the Context is committed.
// The update itself says where: its chat, its message, its callback query.
type Action struct {
	Kind    ActionKind
	Text    string
	Buttons [][]Button
	Chart   *ChartRequest
}

// Button is an inline keyboard button that sends Data back as a callback query.
type Button struct {
	Text string
	Data string
}

// ChartRequest asks for a chart of the newest Last values of Series (all when Last is 0).
// Each Entry's At goes with it: line and bar charts show the values over the times they
// were recorded.
type ChartRequest struct {
	Kind   string // "line", "bar" or "hist"
	Last   int
	Series Series
}
