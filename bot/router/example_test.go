package router_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/router"
)

// message is what the runtime hands Logic for a user's text message in a chat: the
// examples' stand-in for Telegram.
func message(chat *gotgbot.Chat, from *gotgbot.User, s string) *bot.Update {
	m := &gotgbot.Message{Chat: *chat, From: from, Text: s}
	return &bot.Update{Update: &gotgbot.Update{Message: m}, Me: &gotgbot.User{Username: "TroupeBot"},
		Key: from.Id, Sender: from, Chat: chat}
}

var private = &gotgbot.Chat{Id: 100, Type: "private"}

// show prints what a Logic answered.
func show[S any](s S, acts []bot.Action) {
	for _, a := range acts {
		fmt.Printf("%v: %s\n", s, a.Text)
	}
	if len(acts) == 0 {
		fmt.Printf("%v: (nothing)\n", s)
	}
}

func Example() {
	// The state is a counter; a router is the application's Logic.
	r := router.New[int]()
	r.Command("start", func(n int, u *bot.Update) (int, []bot.Action) {
		return 0, []bot.Action{bot.Reply("Hello! Send me numbers.")}
	})
	r.Text(regexp.MustCompile(`^\d+$`), func(n int, u *bot.Update) (int, []bot.Action) {
		v, _ := strconv.Atoi(u.Message.Text)
		return n + v, []bot.Action{bot.Reply("total " + strconv.Itoa(n+v))}
	})
	r.Fallback(func(n int, u *bot.Update) (int, []bot.Action) {
		return n, []bot.Action{bot.Reply("I only add numbers.")}
	})
	app := bot.App[int]{Name: "adder", Logic: r}

	alice := &gotgbot.User{Id: 100, FirstName: "Alice"}
	n := 0
	for _, text := range []string{"/start", "2", "40", "hello"} {
		var acts []bot.Action
		n, acts = app.Logic.Handle(n, message(private, alice, text))
		show(n, acts)
	}
	// Output:
	// 0: Hello! Send me numbers.
	// 2: total 2
	// 42: total 42
	// 42: I only add numbers.
}

func ExampleRouter_Command() {
	r := router.New[string]()
	r.Command("note", func(s string, u *bot.Update) (string, []bot.Action) {
		return router.Args(u), []bot.Action{bot.Reply("noted: " + router.Args(u))}
	})
	group := &gotgbot.Chat{Id: -100, Type: "supergroup"}
	alice := &gotgbot.User{Id: 100}
	for _, text := range []string{"/note buy milk", "/NOTE@troupebot call mum", "/note@otherbot not for us"} {
		show(r.Handle("", message(group, alice, text)))
	}
	// Output:
	// buy milk: noted: buy milk
	// call mum: noted: call mum
	// : (nothing)
}

func ExampleRouter_Callback() {
	r := router.New[string]()
	r.Callback("page:", func(s string, u *bot.Update) (string, []bot.Action) {
		return u.CallbackQuery.Data, []bot.Action{bot.Edit("showing " + u.CallbackQuery.Data)}
	})
	r.Callback("page:last", func(s string, u *bot.Update) (string, []bot.Action) {
		return "last", []bot.Action{bot.Edit("showing the last page")}
	})
	for _, data := range []string{"page:2", "page:last"} {
		u := &bot.Update{Update: &gotgbot.Update{CallbackQuery: &gotgbot.CallbackQuery{Data: data}}}
		show(r.Handle("", u))
	}
	// Output:
	// page:2: showing page:2
	// last: showing the last page
}

func ExampleRouter_Text() {
	weight := regexp.MustCompile(`^(\d+(?:\.\d+)?) ?kg$`)
	r := router.New[string]()
	r.Text(weight, func(s string, u *bot.Update) (string, []bot.Action) {
		kg := router.Submatches(u, weight)[1]
		return kg, []bot.Action{bot.Reply("weight " + kg + " kg noted")}
	})
	show(r.Handle("", message(private, &gotgbot.User{Id: 100}, "72.5 kg")))
	// Output:
	// 72.5: weight 72.5 kg noted
}

func ExampleRouter_On() {
	r := router.New[string]()
	r.On(router.PreCheckoutQuery, func(s string, u *bot.Update) (string, []bot.Action) {
		if u.PreCheckoutQuery.TotalAmount > 10_000 {
			return s, []bot.Action{bot.RefuseCheckout("That is more than we sell at once.")}
		}
		return "paid", []bot.Action{bot.AcceptCheckout()}
	})
	u := &bot.Update{Update: &gotgbot.Update{PreCheckoutQuery: &gotgbot.PreCheckoutQuery{Currency: "EUR", TotalAmount: 500}}}
	s, acts := r.Handle("", u)
	fmt.Println(router.KindOf(u), s, acts[0].Kind == bot.AnswerPreCheckout, acts[0].OK)
	// Output:
	// pre_checkout_query paid true true
}

func ExampleRouter_Media() {
	r := router.New[string]()
	r.Media(router.Location, func(s string, u *bot.Update) (string, []bot.Action) {
		l := u.Message.Location
		return s, []bot.Action{bot.Reply(fmt.Sprintf("you are at %.2f, %.2f", l.Latitude, l.Longitude))}
	})
	u := message(private, &gotgbot.User{Id: 100}, "")
	u.Message.Location = &gotgbot.Location{Latitude: 52.37, Longitude: 4.89}
	show(r.Handle("", u))
	// Output:
	// : you are at 52.37, 4.89
}

func ExampleAdminOnly() {
	const operator = 7
	r := router.New[string]()
	r.Command("status", func(s string, u *bot.Update) (string, []bot.Action) {
		return s, []bot.Action{bot.Status()}
	}, router.AdminOnly[string](operator))
	r.Fallback(func(s string, u *bot.Update) (string, []bot.Action) {
		return s, []bot.Action{bot.Reply("Unknown command.")}
	})
	for _, id := range []int64{operator, 100} {
		_, acts := r.Handle("", message(private, &gotgbot.User{Id: id}, "/status"))
		fmt.Printf("%d: status %v %q\n", id, acts[0].Kind == bot.SendStatus, acts[0].Text)
	}
	// Output:
	// 7: status true ""
	// 100: status false "Unknown command."
}

func ExampleLogging() {
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // so that the output is the same every run
			}
			return a
		},
	}))
	r := router.New[string]()
	r.Command("note", func(s string, u *bot.Update) (string, []bot.Action) {
		return s, []bot.Action{bot.Reply("noted")}
	})
	r.Use(router.Logging[string](log))
	r.Handle("", message(private, &gotgbot.User{Id: 100}, "/note the text is never logged"))
	r.Handle("", message(private, &gotgbot.User{Id: 100}, "nor is this"))
	// Output:
	// level=DEBUG msg="update routed" kind=message key=100 update_id=0 route=/note actions=1
	// level=DEBUG msg="update routed" kind=message key=100 update_id=0 route=none actions=0
}

// shop is an application's Logic: its router, and answers of its own to crashes and
// floods. Handle comes from the embedded router.
type shop struct {
	*router.Router[int]
}

var (
	_ bot.Apologizer = shop{}
	_ bot.Throttler  = shop{}
)

func (shop) Apology(u *bot.Update, err error, pause time.Duration) []bot.Action {
	if pause > 0 {
		return []bot.Action{bot.Reply("Our shop is having trouble; try again in " + pause.String() + ".")}
	}
	return []bot.Action{bot.Reply("Sorry, that went wrong; your basket is as it was.")}
}

func (shop) Throttled(u *bot.Update) []bot.Action {
	return []bot.Action{bot.Reply("Slow down a little, please.")}
}

// An application answers crashes and floods its own way by embedding its router in a
// type with Apology and Throttled methods.
func Example_apologizer() {
	r := router.New[int]()
	r.Command("buy", func(n int, u *bot.Update) (int, []bot.Action) {
		return n + 1, []bot.Action{bot.Reply("added")}
	})
	app := bot.App[int]{Name: "shop", Logic: shop{r}}

	u := message(private, &gotgbot.User{Id: 100}, "/buy")
	show(app.Logic.Handle(0, u))
	if a, ok := app.Logic.(bot.Apologizer); ok {
		show(0, a.Apology(u, errors.New("out of stock table"), 0))
	}
	// Output:
	// 1: added
	// 0: Sorry, that went wrong; your basket is as it was.
}
