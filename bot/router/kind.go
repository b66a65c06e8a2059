package router

import (
	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot"
)

// Kind is an update's type: which of gotgbot.Update's optional fields it carries.
type Kind uint8

// The update types, one for each optional field of gotgbot.Update. Unknown is an update
// that carries none of them (a type newer than the gotgbot this was built with).
const (
	Unknown Kind = iota
	Message
	EditedMessage
	ChannelPost
	EditedChannelPost
	BusinessConnection
	BusinessMessage
	EditedBusinessMessage
	DeletedBusinessMessages
	GuestMessage
	MessageReaction
	MessageReactionCount
	InlineQuery
	ChosenInlineResult
	CallbackQuery
	ShippingQuery
	PreCheckoutQuery
	PurchasedPaidMedia
	Poll
	PollAnswer
	MyChatMember
	ChatMember
	ChatJoinRequest
	ChatBoost
	RemovedChatBoost
	ManagedBot
	Subscription
	numKinds
)

// kindNames are the Bot API's names, as in allowed_updates.
var kindNames = [numKinds]string{
	Unknown:                 "unknown",
	Message:                 "message",
	EditedMessage:           "edited_message",
	ChannelPost:             "channel_post",
	EditedChannelPost:       "edited_channel_post",
	BusinessConnection:      "business_connection",
	BusinessMessage:         "business_message",
	EditedBusinessMessage:   "edited_business_message",
	DeletedBusinessMessages: "deleted_business_messages",
	GuestMessage:            "guest_message",
	MessageReaction:         "message_reaction",
	MessageReactionCount:    "message_reaction_count",
	InlineQuery:             "inline_query",
	ChosenInlineResult:      "chosen_inline_result",
	CallbackQuery:           "callback_query",
	ShippingQuery:           "shipping_query",
	PreCheckoutQuery:        "pre_checkout_query",
	PurchasedPaidMedia:      "purchased_paid_media",
	Poll:                    "poll",
	PollAnswer:              "poll_answer",
	MyChatMember:            "my_chat_member",
	ChatMember:              "chat_member",
	ChatJoinRequest:         "chat_join_request",
	ChatBoost:               "chat_boost",
	RemovedChatBoost:        "removed_chat_boost",
	ManagedBot:              "managed_bot",
	Subscription:            "subscription",
}

// String returns the Bot API's name of the update type ("message", "pre_checkout_query"),
// the name allowed_updates takes.
func (k Kind) String() string {
	if k >= numKinds {
		return "unknown"
	}
	return kindNames[k]
}

// KindOf says which update type u is. Telegram sets exactly one of the optional fields;
// should there be more, the first in gotgbot.Update's order wins.
func KindOf(u *bot.Update) Kind {
	if u == nil || u.Update == nil {
		return Unknown
	}
	g := u.Update
	switch {
	case g.Message != nil:
		return Message
	case g.EditedMessage != nil:
		return EditedMessage
	case g.ChannelPost != nil:
		return ChannelPost
	case g.EditedChannelPost != nil:
		return EditedChannelPost
	case g.BusinessConnection != nil:
		return BusinessConnection
	case g.BusinessMessage != nil:
		return BusinessMessage
	case g.EditedBusinessMessage != nil:
		return EditedBusinessMessage
	case g.DeletedBusinessMessages != nil:
		return DeletedBusinessMessages
	case g.GuestMessage != nil:
		return GuestMessage
	case g.MessageReaction != nil:
		return MessageReaction
	case g.MessageReactionCount != nil:
		return MessageReactionCount
	case g.InlineQuery != nil:
		return InlineQuery
	case g.ChosenInlineResult != nil:
		return ChosenInlineResult
	case g.CallbackQuery != nil:
		return CallbackQuery
	case g.ShippingQuery != nil:
		return ShippingQuery
	case g.PreCheckoutQuery != nil:
		return PreCheckoutQuery
	case g.PurchasedPaidMedia != nil:
		return PurchasedPaidMedia
	case g.Poll != nil:
		return Poll
	case g.PollAnswer != nil:
		return PollAnswer
	case g.MyChatMember != nil:
		return MyChatMember
	case g.ChatMember != nil:
		return ChatMember
	case g.ChatJoinRequest != nil:
		return ChatJoinRequest
	case g.ChatBoost != nil:
		return ChatBoost
	case g.RemovedChatBoost != nil:
		return RemovedChatBoost
	case g.ManagedBot != nil:
		return ManagedBot
	case g.Subscription != nil:
		return Subscription
	}
	return Unknown
}

// MessageOf returns the message an update of a message type carries (a new or edited
// message, channel post, business or guest message), or nil for every other type.
func MessageOf(u *bot.Update) *gotgbot.Message {
	return messageOf(u, KindOf(u))
}

func messageOf(u *bot.Update, k Kind) *gotgbot.Message {
	switch k {
	case Message:
		return u.Message
	case EditedMessage:
		return u.EditedMessage
	case ChannelPost:
		return u.ChannelPost
	case EditedChannelPost:
		return u.EditedChannelPost
	case BusinessMessage:
		return u.BusinessMessage
	case EditedBusinessMessage:
		return u.EditedBusinessMessage
	case GuestMessage:
		return u.GuestMessage
	}
	return nil
}
