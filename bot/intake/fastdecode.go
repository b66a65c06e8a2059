package intake

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/PaulSonOfLars/gotgbot/v2"
)

// Most updates a bot gets are a text message or a button press, and decoding
// them with encoding/json into gotgbot's types was a tenth of the bot's CPU:
// gotgbot's Message is 1.2 KB of fields decoded through a second struct, and
// encoding/json validates each nested object again before its UnmarshalJSON.
// quickUpdate decodes those shapes in one pass into the same values, and
// declines everything else (any other key, a repeated key, a null, a number
// that is not a plain integer, a string that is not plain UTF-8), which
// DecodeUpdate then hands to encoding/json. FuzzQuickUpdate holds it to
// encoding/json's result for every input it takes.

// quickUpdate returns raw decoded, or ok false when raw is not one of the
// shapes it knows, or not exactly valid JSON.
func quickUpdate(raw []byte) (u *gotgbot.Update, ok bool) {
	d := quick{b: raw}
	u = new(gotgbot.Update)
	var seen uint16
	if !d.object(func(key []byte) bool {
		switch string(key) {
		case "update_id":
			return d.once(&seen, 1) && d.int(&u.UpdateId)
		case "message":
			u.Message = new(gotgbot.Message)
			return d.once(&seen, 2) && d.message(u.Message)
		case "edited_message":
			u.EditedMessage = new(gotgbot.Message)
			return d.once(&seen, 4) && d.message(u.EditedMessage)
		case "callback_query":
			u.CallbackQuery = new(gotgbot.CallbackQuery)
			return d.once(&seen, 8) && d.callback(u.CallbackQuery)
		}
		return false
	}) {
		return nil, false
	}
	d.space()
	return u, d.i == len(d.b)
}

// quick is a strict reader of the JSON subset quickUpdate takes.
type quick struct {
	b []byte
	i int
}

// once marks bit in seen, failing for a key seen before in the same object:
// encoding/json merges a repeated object into the first, which is not worth
// imitating.
func (d *quick) once(seen *uint16, bit uint16) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

func (d *quick) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// consume skips space and then c, if c is next.
func (d *quick) consume(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// object reads an object, calling field with each key (without escapes, or it
// fails) once the reader stands before the key's value.
func (d *quick) object(field func(key []byte) bool) bool {
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	for {
		key, ok := d.plain()
		if !ok || !d.consume(':') || !field(key) {
			return false
		}
		if d.consume('}') {
			return true
		}
		if !d.consume(',') {
			return false
		}
	}
}

// plain reads a string without escapes and returns its bytes; anything with a
// backslash, a control character or invalid UTF-8 fails.
func (d *quick) plain() ([]byte, bool) {
	if !d.consume('"') {
		return nil, false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c < utf8.RuneSelf:
			d.i++
		default:
			r, n := utf8.DecodeRune(d.b[d.i:])
			if r == utf8.RuneError && n <= 1 {
				return nil, false
			}
			d.i += n
		}
	}
	return nil, false
}

// str reads a string value; one with escapes is decoded by encoding/json, so
// it means what it would have there.
func (d *quick) str(v *string) bool {
	start := d.i
	if s, ok := d.plain(); ok {
		*v = string(s)
		return true
	}
	d.i = start
	d.space()
	start = d.i
	if !d.consume('"') {
		return false
	}
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '\\':
			d.i += 2
		case c == '"':
			d.i++
			return json.Unmarshal(d.b[start:d.i], v) == nil
		default:
			d.i++
		}
	}
	return false
}

// int reads an integer in JSON's grammar (no fraction, no exponent) that fits
// an int64.
func (d *quick) int(v *int64) bool {
	d.space()
	neg := d.i < len(d.b) && d.b[d.i] == '-'
	if neg {
		d.i++
	}
	start := d.i
	var n uint64
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		if d.i-start == 18 {
			return false // past 18 digits the sum could overflow: leave it to encoding/json
		}
		n = n*10 + uint64(d.b[d.i]-'0')
		d.i++
	}
	digits := d.i - start
	if digits == 0 || (digits > 1 && d.b[start] == '0') {
		return false
	}
	if d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		return false
	}
	if neg {
		*v = -int64(n)
	} else {
		*v = int64(n)
	}
	return true
}

func (d *quick) bool(v *bool) bool {
	d.space()
	switch {
	case len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "true":
		*v, d.i = true, d.i+4
	case len(d.b)-d.i >= 5 && string(d.b[d.i:d.i+5]) == "false":
		*v, d.i = false, d.i+5
	default:
		return false
	}
	return true
}

func (d *quick) message(m *gotgbot.Message) bool {
	var seen uint16
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "message_id":
			return d.once(&seen, 1) && d.int(&m.MessageId)
		case "message_thread_id":
			return d.once(&seen, 2) && d.int(&m.MessageThreadId)
		case "from":
			m.From = new(gotgbot.User)
			return d.once(&seen, 4) && d.user(m.From)
		case "chat":
			return d.once(&seen, 8) && d.chat(&m.Chat)
		case "date":
			return d.once(&seen, 16) && d.int(&m.Date)
		case "edit_date":
			return d.once(&seen, 32) && d.int(&m.EditDate)
		case "text":
			return d.once(&seen, 64) && d.str(&m.Text)
		case "entities":
			return d.once(&seen, 128) && d.entities(&m.Entities)
		}
		return false
	})
}

func (d *quick) user(u *gotgbot.User) bool {
	var seen uint16
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return d.once(&seen, 1) && d.int(&u.Id)
		case "is_bot":
			return d.once(&seen, 2) && d.bool(&u.IsBot)
		case "first_name":
			return d.once(&seen, 4) && d.str(&u.FirstName)
		case "last_name":
			return d.once(&seen, 8) && d.str(&u.LastName)
		case "username":
			return d.once(&seen, 16) && d.str(&u.Username)
		case "language_code":
			return d.once(&seen, 32) && d.str(&u.LanguageCode)
		case "is_premium":
			return d.once(&seen, 64) && d.bool(&u.IsPremium)
		}
		return false
	})
}

func (d *quick) chat(c *gotgbot.Chat) bool {
	var seen uint16
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return d.once(&seen, 1) && d.int(&c.Id)
		case "type":
			return d.once(&seen, 2) && d.str(&c.Type)
		case "title":
			return d.once(&seen, 4) && d.str(&c.Title)
		case "username":
			return d.once(&seen, 8) && d.str(&c.Username)
		case "first_name":
			return d.once(&seen, 16) && d.str(&c.FirstName)
		case "last_name":
			return d.once(&seen, 32) && d.str(&c.LastName)
		}
		return false
	})
}

// entities reads an array of message entities; an empty array is an empty,
// non-nil slice, as encoding/json makes it.
func (d *quick) entities(v *[]gotgbot.MessageEntity) bool {
	if !d.consume('[') {
		return false
	}
	es := []gotgbot.MessageEntity{}
	if !d.consume(']') {
		for {
			var e gotgbot.MessageEntity
			var seen uint16
			if !d.object(func(key []byte) bool {
				switch string(key) {
				case "type":
					return d.once(&seen, 1) && d.str(&e.Type)
				case "offset":
					return d.once(&seen, 2) && d.int(&e.Offset)
				case "length":
					return d.once(&seen, 4) && d.int(&e.Length)
				case "url":
					return d.once(&seen, 8) && d.str(&e.Url)
				case "language":
					return d.once(&seen, 16) && d.str(&e.Language)
				case "custom_emoji_id":
					return d.once(&seen, 32) && d.str(&e.CustomEmojiId)
				}
				return false
			}) {
				return false
			}
			es = append(es, e)
			if d.consume(']') {
				break
			}
			if !d.consume(',') {
				return false
			}
		}
	}
	*v = es
	return true
}

// callback reads a callback query. gotgbot keeps its message as a
// MaybeInaccessibleMessage: a Message value, or an InaccessibleMessage when
// its date is 0, which is left to encoding/json.
func (d *quick) callback(q *gotgbot.CallbackQuery) bool {
	var seen uint16
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return d.once(&seen, 1) && d.str(&q.Id)
		case "from":
			return d.once(&seen, 2) && d.user(&q.From)
		case "message":
			var m gotgbot.Message
			if !d.once(&seen, 4) || !d.message(&m) || m.Date == 0 {
				return false
			}
			q.Message = m
			return true
		case "inline_message_id":
			return d.once(&seen, 8) && d.str(&q.InlineMessageId)
		case "chat_instance":
			return d.once(&seen, 16) && d.str(&q.ChatInstance)
		case "data":
			return d.once(&seen, 32) && d.str(&q.Data)
		case "game_short_name":
			return d.once(&seen, 64) && d.str(&q.GameShortName)
		}
		return false
	})
}
