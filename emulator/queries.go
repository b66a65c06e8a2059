package emulator

import (
	"encoding/json"

	"github.com/PaulSonOfLars/gotgbot/v2"
)

// Telegram's limits on the methods below.
const (
	maxDocument     = 50 << 20
	maxInlineResult = 50
)

// PreCheckout makes user userID confirm a payment of total (in the smallest units of
// currency) for the invoice payload: the bot must answer with answerPreCheckoutQuery.
func (s *Server) PreCheckout(userID int64, currency string, total int64, payload string) (Pushed, error) {
	id := s.chats.openQuery(preCheckoutQuery)
	return s.pushQuery(userID, id, gotgbot.Update{PreCheckoutQuery: &gotgbot.PreCheckoutQuery{
		Id: id, From: User(userID), Currency: currency, TotalAmount: total, InvoicePayload: payload,
	}})
}

// ShippingQuery makes user userID ask where an invoice with flexible prices ships to: the
// bot must answer with answerShippingQuery.
func (s *Server) ShippingQuery(userID int64, payload string, to gotgbot.ShippingAddress) (Pushed, error) {
	id := s.chats.openQuery(shippingQuery)
	return s.pushQuery(userID, id, gotgbot.Update{ShippingQuery: &gotgbot.ShippingQuery{
		Id: id, From: User(userID), InvoicePayload: payload, ShippingAddress: to,
	}})
}

// InlineQuery makes user userID type "@bot query" in some chat: the bot must answer with
// answerInlineQuery.
func (s *Server) InlineQuery(userID int64, query string) (Pushed, error) {
	id := s.chats.openQuery(inlineQuery)
	return s.pushQuery(userID, id, gotgbot.Update{InlineQuery: &gotgbot.InlineQuery{Id: id, From: User(userID), Query: query}})
}

func (s *Server) pushQuery(userID int64, id string, u gotgbot.Update) (Pushed, error) {
	upd, err := s.updates.push(userID, func(n int64) ([]byte, error) {
		u.UpdateId = n
		return json.Marshal(u)
	})
	if err != nil {
		return Pushed{}, err
	}
	return Pushed{UpdateID: upd, ChatID: userID, CallbackQueryID: id}, nil
}

// answerPayment answers a pre-checkout or shipping query: a refusal must say why, and a
// shipping acceptance must offer options.
func (s *Server) answerPayment(p params, kind, idParam string) (any, error) {
	id, _ := p.str(idParam)
	ok := p.bool("ok")
	reason, _ := p.str("error_message")
	switch {
	case !p.has("ok"):
		return nil, badRequest("parameter \"ok\" is required")
	case !ok && reason == "":
		return nil, badRequest("ERROR_MESSAGE_EMPTY")
	case ok && kind == shippingQuery && !p.has("shipping_options"):
		return nil, badRequest("SHIPPING_OPTIONS_EMPTY")
	}
	if !s.chats.answerQuery(id, kind) {
		s.refusedAnswers.Add(1)
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	s.out.record(Sent{Method: kind, CallbackQueryID: id, OK: ok, Text: reason}, s.cfg.OnSend)
	return true, nil
}

func (s *Server) answerInlineQuery(p params) (any, error) {
	id, _ := p.str("inline_query_id")
	var results []json.RawMessage
	ok, err := p.object("results", &results)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, badRequest("parameter \"results\" is required")
	case len(results) > maxInlineResult:
		return nil, badRequest("RESULTS_TOO_MUCH")
	}
	if !s.chats.answerQuery(id, inlineQuery) {
		s.refusedAnswers.Add(1)
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	s.out.record(Sent{Method: inlineQuery, CallbackQueryID: id, Results: len(results)}, s.cfg.OnSend)
	return true, nil
}

// deleteMessage deletes a message of a chat that wrote to the bot. The emulator keeps no
// message bodies of users, so it only checks the id was ever used.
func (s *Server) deleteMessage(p params) (any, error) {
	chatID, err := s.chatParam(p)
	if err != nil {
		return nil, err
	}
	msgID, ok, err := p.int64("message_id")
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, badRequest("message identifier is not specified")
	case !s.chats.exists(chatID, msgID):
		return nil, badRequest("message to delete not found")
	}
	s.out.record(Sent{Method: "deleteMessage", ChatID: chatID, MessageID: msgID}, s.cfg.OnSend)
	return true, nil
}

func (s *Server) sendDocument(p params) (any, error) {
	chatID, err := s.chatParam(p)
	if err != nil {
		return nil, err
	}
	doc, err := upload(p, "document", maxDocument)
	if err != nil {
		return nil, err
	}
	caption, _ := p.str("caption")
	if utf16Len(caption) > maxCaption {
		return nil, badRequest("message caption is too long")
	}
	name := p.names["document"]
	rec := Sent{Method: "sendDocument", Text: caption, Document: doc, FileName: name}
	return s.post(p, chatID, rec, func(m *wireMessage) { m.Caption = caption })
}
