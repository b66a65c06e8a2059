package router

import "github.com/PaulSonOfLars/gotgbot/v2"

// Media is what a message carries besides text: a photo, a voice note, a location.
type Media uint8

// The media a user sends. NoMedia is a message with none of them (text, a service
// message, or content not listed here: a poll, a game, an invoice; route those with
// On(Message) and look at the message).
const (
	NoMedia Media = iota
	Animation
	Audio
	Contact
	Dice
	Document
	LivePhoto
	Location
	PaidMedia
	Photo
	Sticker
	Story
	Venue
	Video
	VideoNote
	Voice
	numMedia
)

var mediaNames = [numMedia]string{
	NoMedia:   "none",
	Animation: "animation",
	Audio:     "audio",
	Contact:   "contact",
	Dice:      "dice",
	Document:  "document",
	LivePhoto: "live_photo",
	Location:  "location",
	PaidMedia: "paid_media",
	Photo:     "photo",
	Sticker:   "sticker",
	Story:     "story",
	Venue:     "venue",
	Video:     "video",
	VideoNote: "video_note",
	Voice:     "voice",
}

// String returns the Bot API's name of the message field that carries the media.
func (m Media) String() string {
	if m >= numMedia {
		return "none"
	}
	return mediaNames[m]
}

// MediaOf says which media m carries. Telegram sends some twice for older clients (an
// animation also as a document, a venue also as its location); the specific one wins.
func MediaOf(m *gotgbot.Message) Media {
	switch {
	case m == nil:
		return NoMedia
	case m.Animation != nil:
		return Animation
	case m.Venue != nil:
		return Venue
	case m.LivePhoto != nil:
		return LivePhoto
	case len(m.Photo) > 0:
		return Photo
	case m.Video != nil:
		return Video
	case m.VideoNote != nil:
		return VideoNote
	case m.Voice != nil:
		return Voice
	case m.Audio != nil:
		return Audio
	case m.Document != nil:
		return Document
	case m.Sticker != nil:
		return Sticker
	case m.Location != nil:
		return Location
	case m.Contact != nil:
		return Contact
	case m.Dice != nil:
		return Dice
	case m.Story != nil:
		return Story
	case m.PaidMedia != nil:
		return PaidMedia
	}
	return NoMedia
}
