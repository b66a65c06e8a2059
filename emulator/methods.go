package emulator

import (
	"bytes"
	"image"
	_ "image/jpeg" // photos may be JPEG as well as PNG
	_ "image/png"
	"net/http"
	"reflect"
	"strconv"
	"time"
	"unicode/utf16"
)

// Telegram's limits, as its errors name them.
const (
	maxText     = 4096
	maxCaption  = 1024
	maxAnswer   = 200
	maxData     = 64 // callback_data bytes
	maxPhoto    = 10 << 20
	maxPhotoDim = 10000
)

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// chatParam reads chat_id and checks the chat wrote to the bot.
func (s *Server) chatParam(p params) (int64, error) {
	raw, ok := p.str("chat_id")
	if !ok || raw == "" {
		return 0, badRequest("chat_id is empty")
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || !s.chats.known(id) {
		return 0, badRequest("chat not found")
	}
	return id, nil
}

// replyTo reads the message a send replies to, from reply_parameters or the legacy
// reply_to_message_id, and checks it exists unless the bot allowed sending without it.
func (s *Server) replyTo(p params, chatID int64) (int64, error) {
	var rp struct {
		MessageID                int64 `json:"message_id"`
		ChatID                   any   `json:"chat_id"`
		AllowSendingWithoutReply bool  `json:"allow_sending_without_reply"`
	}
	if _, err := p.object("reply_parameters", &rp); err != nil {
		return 0, err
	}
	if rp.MessageID == 0 {
		legacy, _, err := p.int64("reply_to_message_id")
		if err != nil {
			return 0, err
		}
		rp.MessageID = legacy
		rp.AllowSendingWithoutReply = p.bool("allow_sending_without_reply")
	}
	if rp.MessageID != 0 && !s.chats.exists(chatID, rp.MessageID) && !rp.AllowSendingWithoutReply {
		return 0, badRequest("message to be replied not found")
	}
	return rp.MessageID, nil
}

// keyboard reads reply_markup as an inline keyboard and checks its buttons.
func keyboard(p params) (*inlineKeyboard, error) {
	var k inlineKeyboard
	ok, err := p.object("reply_markup", &k)
	if err != nil || !ok || len(k.InlineKeyboard) == 0 {
		return nil, err
	}
	for _, row := range k.InlineKeyboard {
		for _, b := range row {
			if b.Text == "" {
				return nil, badRequest("text buttons are unallowed in the inline keyboard")
			}
			if len(b.CallbackData) > maxData || (b.CallbackData == "" && b.URL == "") {
				return nil, badRequest("BUTTON_DATA_INVALID")
			}
		}
	}
	return &k, nil
}

func checkParseMode(p params) error {
	switch mode, _ := p.str("parse_mode"); mode {
	case "", "HTML", "Markdown", "MarkdownV2":
		return nil
	default:
		return badRequest("unsupported parse_mode")
	}
}

func (s *Server) sendMessage(p params) (any, error) {
	chatID, err := s.chatParam(p)
	if err != nil {
		return nil, err
	}
	text, _ := p.str("text")
	switch {
	case text == "":
		return nil, badRequest("message text is empty")
	case utf16Len(text) > maxText:
		return nil, badRequest("message is too long")
	}
	if err := checkParseMode(p); err != nil {
		return nil, err
	}
	return s.post(p, chatID, Sent{Method: "sendMessage", Text: text}, func(m *wireMessage) { m.Text = text })
}

// post makes a new bot message in chatID, checking what every send method shares (the
// message replied to, the inline keyboard), and records it as sent.
func (s *Server) post(p params, chatID int64, rec Sent, fill func(*wireMessage)) (any, error) {
	replyTo, err := s.replyTo(p, chatID)
	if err != nil {
		return nil, err
	}
	kb, err := keyboard(p)
	if err != nil {
		return nil, err
	}
	msg, apiErr := s.chats.botMessage(chatID, func(m *wireMessage) {
		m.From, m.Date, m.ReplyMarkup = &s.bot, time.Now().Unix(), kb
		fill(m)
	})
	if apiErr != nil {
		return nil, apiErr
	}
	rec.ChatID, rec.MessageID, rec.ReplyTo, rec.Buttons = chatID, msg.MessageID, replyTo, kb.buttons()
	s.out.record(rec, s.cfg.OnSend)
	return msg, nil
}

func (s *Server) editMessageText(p params) (any, error) {
	if p.has("inline_message_id") {
		return nil, badRequest("inline messages are not supported by the emulator")
	}
	chatID, err := s.chatParam(p)
	if err != nil {
		return nil, err
	}
	msgID, ok, err := p.int64("message_id")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, badRequest("message identifier is not specified")
	}
	text, _ := p.str("text")
	switch {
	case text == "":
		return nil, badRequest("message text is empty")
	case utf16Len(text) > maxText:
		return nil, badRequest("MESSAGE_TOO_LONG")
	}
	if err := checkParseMode(p); err != nil {
		return nil, err
	}
	kb, err := keyboard(p)
	if err != nil {
		return nil, err
	}
	msg, apiErr := s.chats.editBot(chatID, msgID, func(m *wireMessage) *apiError {
		if m.Text == text && reflect.DeepEqual(m.ReplyMarkup, kb) {
			return badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
		}
		m.Text, m.ReplyMarkup, m.EditDate = text, kb, time.Now().Unix()
		return nil
	})
	if apiErr != nil {
		return nil, apiErr
	}
	s.out.record(Sent{Method: "editMessageText", ChatID: chatID, MessageID: msgID, Text: text, Buttons: kb.buttons()}, s.cfg.OnSend)
	return msg, nil
}

func (s *Server) answerCallbackQuery(p params) (any, error) {
	id, _ := p.str("callback_query_id")
	text, _ := p.str("text")
	if utf16Len(text) > maxAnswer {
		return nil, badRequest("MESSAGE_TOO_LONG")
	}
	if !s.chats.answerQuery(id, callbackQuery) {
		s.refusedAnswers.Add(1)
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	s.out.record(Sent{Method: "answerCallbackQuery", CallbackQueryID: id, Text: text}, s.cfg.OnSend)
	return true, nil
}

func (s *Server) sendPhoto(p params) (any, error) {
	chatID, err := s.chatParam(p)
	if err != nil {
		return nil, err
	}
	photo, err := upload(p, "photo", maxPhoto)
	if err != nil {
		return nil, err
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(photo))
	if err != nil {
		return nil, badRequest("IMAGE_PROCESS_FAILED")
	}
	if cfg.Width+cfg.Height > maxPhotoDim || cfg.Width*20 < cfg.Height || cfg.Height*20 < cfg.Width {
		return nil, badRequest("PHOTO_INVALID_DIMENSIONS")
	}
	caption, _ := p.str("caption")
	if utf16Len(caption) > maxCaption {
		return nil, badRequest("message caption is too long")
	}
	rec := Sent{Method: "sendPhoto", Text: caption, Photo: photo, Width: cfg.Width, Height: cfg.Height}
	return s.post(p, chatID, rec, func(m *wireMessage) {
		m.Caption = caption
		id := "photo" + strconv.FormatInt(chatID, 10) + "_" + strconv.FormatInt(m.MessageID, 10)
		m.Photo = []wirePhotoSize{{FileID: id, FileUniqueID: id, Width: cfg.Width, Height: cfg.Height, FileSize: len(photo)}}
	})
}

// upload reads the file a send method uploads in field, at most max bytes.
func upload(p params, field string, max int) ([]byte, error) {
	data, ok := p.files[field]
	if !ok {
		if ref, _ := p.str(field); ref != "" {
			// A file_id or URL: the emulator stores no files and fetches nothing.
			return nil, badRequest("wrong file identifier/HTTP URL specified")
		}
		return nil, badRequest("there is no %s in the request", field)
	}
	if len(data) > max {
		return nil, &apiError{code: http.StatusRequestEntityTooLarge, description: "Request Entity Too Large"}
	}
	return data, nil
}

var chatActions = map[string]bool{
	"typing": true, "upload_photo": true, "record_video": true, "upload_video": true,
	"record_voice": true, "upload_voice": true, "upload_document": true, "choose_sticker": true,
	"find_location": true, "record_video_note": true, "upload_video_note": true,
}

func (s *Server) sendChatAction(p params) (any, error) {
	chatID, err := s.chatParam(p)
	if err != nil {
		return nil, err
	}
	action, _ := p.str("action")
	if !chatActions[action] {
		return nil, badRequest("wrong parameter action in request")
	}
	s.out.record(Sent{Method: "sendChatAction", ChatID: chatID, Action: action}, s.cfg.OnSend)
	return true, nil
}
