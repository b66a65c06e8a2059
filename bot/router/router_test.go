package router_test

import (
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/router"
)

func TestCommand(t *testing.T) {
	r := router.New[string]()
	r.Command("start", to("start"))
	r.Command("note", to("note"))
	r.Command("Stats", to("stats")) // registered names are case-insensitive too
	r.Text(regexp.MustCompile(`.`), to("text"))
	r.Media(router.Photo, to("photo"))
	r.Fallback(to("fallback"))

	group := func(u *bot.Update) *bot.Update {
		u.Message.Chat = gotgbot.Chat{Id: -100, Type: "supergroup"}
		u.Chat = &u.Message.Chat
		return u
	}
	noEntities := func(u *bot.Update) *bot.Update { u.Message.Entities = nil; return u }
	caption := func(s string) *bot.Update {
		u := text("")
		u.Message.Photo = []gotgbot.PhotoSize{{FileId: "p", Width: 1, Height: 1}}
		u.Message.Caption = s
		if n := leadingCommand(s); n > 0 {
			u.Message.CaptionEntities = []gotgbot.MessageEntity{{Type: "bot_command", Length: int64(n)}}
		}
		return u
	}
	tests := []struct {
		name  string
		u     *bot.Update
		route string
		// cmd and args are what CommandOf says; cmd "" means not one of ours.
		cmd, args string
	}{
		{"plain", text("/start"), "start", "start", ""},
		{"without entities", noEntities(text("/start")), "start", "start", ""},
		{"our name", text("/start@TroupeBot"), "start", "start", ""},
		{"our name lower-cased", text("/start@troupebot"), "start", "start", ""},
		{"other bot", text("/start@otherbot"), "", "", ""},
		{"other bot without entities", noEntities(text("/start@otherbot hi")), "", "", ""},
		{"other bot's unknown command", text("/nope@otherbot"), "", "", ""},
		{"upper case", text("/START"), "start", "start", ""},
		{"upper case and name", text("/Start@TROUPEBOT"), "start", "start", ""},
		{"registered upper case", text("/stats"), "stats", "stats", ""},
		{"arguments", text("/note buy milk"), "note", "note", "buy milk"},
		{"arguments spaced", noEntities(text("/note   buy  milk  ")), "note", "note", "buy  milk"},
		{"arguments on the next line", text("/note\nbuy milk"), "note", "note", "buy milk"},
		{"arguments after our name", text("/note@TroupeBot buy milk"), "note", "note", "buy milk"},
		{"unicode arguments", text("/note crème brûlée 🍮"), "note", "note", "crème brûlée 🍮"},
		{"in a group", group(text("/start@TroupeBot")), "start", "start", ""},
		{"in a group, bare", group(text("/note x")), "note", "note", "x"},
		{"in a group, other bot", group(text("/note@otherbot x")), "", "", ""},
		{"in a caption", caption("/note a photo"), "note", "note", "a photo"},
		{"unknown in a caption", caption("/nope"), "photo", "nope", ""},
		{"plain caption", caption("just a photo"), "photo", "", ""},
		{"not at offset 0", func() *bot.Update {
			u := text("hi /start")
			u.Message.Entities = []gotgbot.MessageEntity{{Type: "bot_command", Offset: 3, Length: 6}}
			return u
		}(), "text", "", ""},
		{"slash in code", func() *bot.Update {
			u := text("/start")
			u.Message.Entities = []gotgbot.MessageEntity{{Type: "code", Offset: 0, Length: 6}}
			return u
		}(), "text", "", ""},
		{"bold command", func() *bot.Update {
			u := text("/start now")
			u.Message.Entities = []gotgbot.MessageEntity{{Type: "bold", Length: 6}, {Type: "bot_command", Length: 6}}
			return u
		}(), "start", "start", "now"},
		{"entity after an emoji", func() *bot.Update {
			u := text("/note 🍮 pudding")
			u.Message.Entities = []gotgbot.MessageEntity{{Type: "bot_command", Length: 5}}
			return u
		}(), "note", "note", "🍮 pudding"},
		{"slash alone", text("/"), "text", "", ""},
		{"slash and space", noEntities(text("/ start")), "text", "", ""},
		{"unknown command", text("/nope"), "fallback", "nope", ""},
		{"no Me", func() *bot.Update { u := text("/start@TroupeBot"); u.Me = nil; return u }(), "", "", ""},
		{"no Me, bare", func() *bot.Update { u := text("/start"); u.Me = nil; return u }(), "start", "start", ""},
		{"edited", func() *bot.Update {
			u := text("/start")
			u.EditedMessage, u.Message = u.Message, nil
			return u
		}(), "fallback", "start", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, acts := route(r, tc.u)
			if got != tc.route {
				t.Errorf("routed to %q, want %q", got, tc.route)
			}
			if tc.route == "" && acts != nil {
				t.Errorf("dropped update has actions %v", acts)
			}
			name, args, ok := router.CommandOf(tc.u)
			if ok != (tc.cmd != "") || name != tc.cmd || args != tc.args {
				t.Errorf("CommandOf = %q, %q, %v; want %q, %q", name, args, ok, tc.cmd, tc.args)
			}
			if got := router.Args(tc.u); got != tc.args {
				t.Errorf("Args = %q, want %q", got, tc.args)
			}
		})
	}
}

func TestMessagesServesOtherKinds(t *testing.T) {
	r := router.New[string]()
	r.Command("start", to("start"))
	r.On(router.EditedMessage, to("edited"))
	business := func() *bot.Update {
		u := text("/start")
		u.BusinessMessage, u.Message = u.Message, nil
		return u
	}
	if got, _ := route(r, business()); got != "" {
		t.Fatalf("business command by default: routed to %q, want none", got)
	}
	r.Messages(router.Message, router.BusinessMessage)
	for _, u := range []*bot.Update{text("/start"), business()} {
		if got, _ := route(r, u); got != "start" {
			t.Errorf("%s: routed to %q, want start", router.KindOf(u), got)
		}
	}
	edited := text("/start")
	edited.EditedMessage, edited.Message = edited.Message, nil
	if got, _ := route(r, edited); got != "edited" {
		t.Errorf("edited command: routed to %q, want edited", got)
	}
}

func TestCallback(t *testing.T) {
	r := router.New[string]()
	// Registered shortest first, so that longest-wins is not registration order.
	r.Callback("res", to("res"))
	r.Callback("reset:", to("reset:"))
	r.Callback("reset:all", to("reset:all"))
	r.Callback("page:", to("page:"))
	r.On(router.CallbackQuery, to("on"))
	r.Fallback(to("fallback"))

	tests := []struct{ data, want string }{
		{"reset:all", "reset:all"},
		{"reset:all:now", "reset:all"},
		{"reset:one", "reset:"},
		{"reset:", "reset:"},
		{"reset", "res"},
		{"resume", "res"},
		{"page:2", "page:"},
		{"page", "on"},
		{"", "on"},
		{"RESET:all", "on"},
	}
	for _, tc := range tests {
		if got, _ := route(r, callback(tc.data)); got != tc.want {
			t.Errorf("data %q routed to %q, want %q", tc.data, got, tc.want)
		}
	}

	catchAll := router.New[string]()
	catchAll.Callback("a", to("a"))
	catchAll.Callback("", to("any"))
	for data, want := range map[string]string{"ab": "a", "b": "any", "": "any"} {
		if got, _ := route(catchAll, callback(data)); got != want {
			t.Errorf("empty prefix router: data %q routed to %q, want %q", data, got, want)
		}
	}
}

func TestText(t *testing.T) {
	number := regexp.MustCompile(`^(\d+)(?:\.(\d+))?$`)
	hello := regexp.MustCompile(`(?i)^hello,? (\w+)`)
	r := router.New[string]()
	r.Text(number, to("number"))
	r.Text(hello, to("hello"))
	r.Text(regexp.MustCompile(`.`), to("any")) // after the others: order decides
	r.Media(router.Photo, to("photo"))
	r.Fallback(to("fallback"))

	tests := []struct {
		name, text, route string
		re                *regexp.Regexp
		groups            []string
	}{
		{"integer", "42", "number", number, []string{"42", "42", ""}},
		{"decimal", "3.14", "number", number, []string{"3.14", "3", "14"}},
		{"greeting", "Hello, Bob!", "hello", hello, []string{"Hello, Bob", "Bob"}},
		{"anything", "buy milk", "any", hello, nil},
		{"command-looking text is a command", "/42", "fallback", number, nil},
		{"empty", "", "fallback", number, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := text(tc.text)
			if got, _ := route(r, u); got != tc.route {
				t.Errorf("routed to %q, want %q", got, tc.route)
			}
			if got := router.Submatches(u, tc.re); !reflect.DeepEqual(got, tc.groups) {
				t.Errorf("Submatches = %q, want %q", got, tc.groups)
			}
		})
	}

	photo := text("")
	photo.Message.Photo = []gotgbot.PhotoSize{{FileId: "p"}}
	photo.Message.Caption = "42"
	if got, _ := route(r, photo); got != "photo" {
		t.Errorf("photo captioned 42 routed to %q, want photo: text routes read text messages only", got)
	}
	if got := router.Submatches(callback("42"), number); got != nil {
		t.Errorf("Submatches of a callback = %q, want nil", got)
	}
}

// messageField returns m's field whose JSON name is name.
func messageField(tb testing.TB, m *gotgbot.Message, name string) reflect.Value {
	tb.Helper()
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		if tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ","); tag == name {
			return v.Field(i)
		}
	}
	tb.Fatalf("gotgbot.Message has no field %q", name)
	return reflect.Value{}
}

// setZero sets f to a zero value that counts as present: a pointer to a zero value, or a
// slice of one.
func setZero(f reflect.Value) {
	switch f.Kind() {
	case reflect.Pointer:
		f.Set(reflect.New(f.Type().Elem()))
	case reflect.Slice:
		f.Set(reflect.MakeSlice(f.Type(), 1, 1))
	}
}

func TestMedia(t *testing.T) {
	media := []router.Media{router.Animation, router.Audio, router.Contact, router.Dice,
		router.Document, router.LivePhoto, router.Location, router.PaidMedia, router.Photo,
		router.Sticker, router.Story, router.Venue, router.Video, router.VideoNote, router.Voice}
	r := router.New[string]()
	for _, m := range media {
		r.Media(m, to(m.String()))
	}
	r.Fallback(to("fallback"))

	for _, m := range media {
		u := text("")
		setZero(messageField(t, u.Message, m.String()))
		if got := router.MediaOf(u.Message); got != m {
			t.Errorf("MediaOf(message with %s) = %s", m, got)
		}
		if got, _ := route(r, u); got != m.String() {
			t.Errorf("message with %s routed to %q", m, got)
		}
	}

	// Telegram sends an animation as a document too, and a venue with its location.
	both := text("")
	both.Message.Animation, both.Message.Document = &gotgbot.Animation{}, &gotgbot.Document{}
	if got := router.MediaOf(both.Message); got != router.Animation {
		t.Errorf("animation with document: MediaOf = %s, want animation", got)
	}
	both = text("")
	both.Message.Venue, both.Message.Location = &gotgbot.Venue{}, &gotgbot.Location{}
	if got := router.MediaOf(both.Message); got != router.Venue {
		t.Errorf("venue with location: MediaOf = %s, want venue", got)
	}
	if got, _ := route(r, text("hi")); got != "fallback" {
		t.Errorf("text routed to %q, want fallback", got)
	}
	if got := router.MediaOf(nil); got != router.NoMedia {
		t.Errorf("MediaOf(nil) = %s", got)
	}
}

// TestEveryUpdateKind builds, for each optional field of gotgbot.Update, an update with
// only that field set, and checks KindOf names it and On routes it. A field a gotgbot
// upgrade adds fails here until it has a Kind.
func TestEveryUpdateKind(t *testing.T) {
	r := router.New[string]()
	r.On(router.Unknown, to("unknown"))
	for _, k := range kinds() {
		r.On(k, to(k.String()))
	}
	seen := map[string]bool{}
	typ := reflect.TypeFor[gotgbot.Update]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Type.Kind() != reflect.Pointer {
			continue // update_id
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		t.Run(name, func(t *testing.T) {
			g := &gotgbot.Update{UpdateId: 1}
			setZero(reflect.ValueOf(g).Elem().Field(i))
			u := update(g)
			if got := router.KindOf(u).String(); got != name {
				t.Fatalf("KindOf(update with %s) = %s", f.Name, got)
			}
			if got, _ := route(r, u); got != name {
				t.Errorf("On(%s) routed it to %q", name, got)
			}
			m := router.MessageOf(u)
			if wantMessage := f.Type.Elem() == reflect.TypeFor[gotgbot.Message](); (m != nil) != wantMessage {
				t.Errorf("MessageOf = %v, want a message: %v", m, wantMessage)
			}
		})
		seen[name] = true
	}
	for _, k := range kinds() {
		if !seen[k.String()] {
			t.Errorf("Kind %s has no field in gotgbot.Update", k)
		}
	}
	if got, _ := route(r, update(&gotgbot.Update{UpdateId: 1})); got != "unknown" {
		t.Errorf("update with no field routed to %q, want On(Unknown)", got)
	}
	if got := router.KindOf(&bot.Update{}); got != router.Unknown {
		t.Errorf("KindOf(no gotgbot update) = %s", got)
	}
}

// kinds returns every Kind but Unknown: those with a name of their own.
func kinds() []router.Kind {
	var ks []router.Kind
	for k := router.Unknown + 1; k.String() != "unknown"; k++ {
		ks = append(ks, k)
	}
	return ks
}

func TestFallback(t *testing.T) {
	r := router.New[string]()
	r.Command("start", to("start"))
	r.On(router.PreCheckoutQuery, to("checkout"))
	checkout := update(&gotgbot.Update{PreCheckoutQuery: &gotgbot.PreCheckoutQuery{Id: "c"}})
	poll := update(&gotgbot.Update{PollAnswer: &gotgbot.PollAnswer{PollId: "p"}})

	s, acts := r.Handle("kept", text("hello"))
	if s != "kept" || acts != nil {
		t.Errorf("unrouted without fallback: (%q, %v), want the state kept and no actions", s, acts)
	}
	if got, _ := route(r, checkout); got != "checkout" {
		t.Errorf("pre-checkout routed to %q", got)
	}

	r.Fallback(to("fallback"))
	for _, u := range []*bot.Update{text("hello"), text("/nope"), callback("x"), poll} {
		if got, _ := route(r, u); got != "fallback" {
			t.Errorf("%s routed to %q, want fallback", router.KindOf(u), got)
		}
	}
	if got, _ := route(r, text("/start@otherbot")); got != "" {
		t.Errorf("other bot's command routed to %q, want none (not even the fallback)", got)
	}
}

func TestNested(t *testing.T) {
	admin := router.New[string]()
	admin.Command("status", to("status"))
	admin.Fallback(to("admin fallback"))
	r := router.New[string]()
	r.Command("start", to("start"))
	r.On(router.Message, admin.Handle)
	for in, want := range map[string]string{"/start": "start", "/status": "status", "hi": "admin fallback"} {
		if got, _ := route(r, text(in)); got != want {
			t.Errorf("%q routed to %q, want %q", in, got, want)
		}
	}
}

func TestRegistrationMistakes(t *testing.T) {
	h := to("h")
	tests := []struct {
		name string
		reg  func(r *router.Router[string])
	}{
		{"command with slash", func(r *router.Router[string]) { r.Command("/start", h) }},
		{"command with space", func(r *router.Router[string]) { r.Command("st art", h) }},
		{"empty command", func(r *router.Router[string]) { r.Command("", h) }},
		{"long command", func(r *router.Router[string]) { r.Command(strings.Repeat("a", 33), h) }},
		{"command twice", func(r *router.Router[string]) { r.Command("a", h); r.Command("A", h) }},
		{"prefix twice", func(r *router.Router[string]) { r.Callback("a", h); r.Callback("a", h) }},
		{"nil regexp", func(r *router.Router[string]) { r.Text(nil, h) }},
		{"no media", func(r *router.Router[string]) { r.Media(router.NoMedia, h) }},
		{"media twice", func(r *router.Router[string]) { r.Media(router.Photo, h); r.Media(router.Photo, h) }},
		{"kind twice", func(r *router.Router[string]) { r.On(router.Poll, h); r.On(router.Poll, h) }},
		{"no such kind", func(r *router.Router[string]) { r.On(router.Kind(200), h) }},
		{"fallback twice", func(r *router.Router[string]) { r.Fallback(h); r.Fallback(h) }},
		{"nil handler", func(r *router.Router[string]) { r.Command("a", nil) }},
		{"messages of a kind without", func(r *router.Router[string]) { r.Messages(router.CallbackQuery) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				v := recover()
				if v == nil {
					t.Fatal("no panic")
				}
				if !strings.HasPrefix(fmt.Sprint(v), "router: ") {
					t.Errorf("panic %q does not say it is the router's", v)
				}
			}()
			tc.reg(&router.Router[string]{})
		})
	}
}

// TestConcurrentUse routes from many goroutines at once, as actors do; -race checks that
// handling only reads the router.
func TestConcurrentUse(t *testing.T) {
	r := router.New[string]()
	r.Use(router.Logging[string](slog.New(slog.DiscardHandler)))
	r.Command("start", to("start"))
	r.Callback("a", to("a"))
	r.Text(regexp.MustCompile(`^hi`), to("hi"))
	done := make(chan string)
	for range 8 {
		go func() {
			var got string
			for range 100 {
				a, _ := route(r, text("/start"))
				b, _ := route(r, callback("ab"))
				c, _ := route(r, text("hi there"))
				got = a + b + c
			}
			done <- got
		}()
	}
	for range 8 {
		select {
		case got := <-done:
			if got != "startahi" {
				t.Errorf("routed to %q, want startahi", got)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("routing goroutines did not finish")
		}
	}
}
