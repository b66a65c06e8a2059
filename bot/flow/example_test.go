package flow_test

import (
	"fmt"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/flow"
)

// pizzeria is an application's per-user state; the flow's State is one field of it.
type pizzeria struct {
	Order  flow.State
	Orders int
}

// pizza is a two-step flow: a size from buttons, then an address as text.
var pizza = flow.Flow[pizzeria]{Name: "pizza", Version: 1, Steps: []flow.Step[pizzeria]{
	{
		Name: "size",
		Ask: func(_ pizzeria, t *flow.Turn, _ *bot.Update) []bot.Action {
			return []bot.Action{bot.Reply("Which size?").
				WithButtons(bot.Row(t.Button("Small", "small"), t.Button("Large", "large")))}
		},
		Handle: func(s pizzeria, t *flow.Turn, _ *bot.Update) (pizzeria, flow.Next, []bot.Action) {
			size, ok := t.Pressed()
			if !ok {
				return s, flow.Again(), []bot.Action{bot.Reply("Please pick one of the buttons.")}
			}
			t.Set("size", size)
			return s, flow.Goto("address"), []bot.Action{bot.Edit("Size: " + size)}
		},
	},
	{
		Name:    "address",
		Timeout: 15 * time.Minute,
		Ask: func(pizzeria, *flow.Turn, *bot.Update) []bot.Action {
			return []bot.Action{bot.Reply("Where to?")}
		},
		Handle: func(s pizzeria, t *flow.Turn, _ *bot.Update) (pizzeria, flow.Next, []bot.Action) {
			if t.Text() == "" {
				return s, flow.Again(), []bot.Action{bot.Reply("An address, please.")}
			}
			s.Orders++
			return s, flow.Done(), []bot.Action{bot.Reply("A " + t.Get("size") + " pizza to " + t.Text() + ". Thank you!")}
		},
	},
}}

// pizzeriaBot is the whole bot: the pizza flow wrapped around a handler that starts it.
func pizzeriaBot() bot.Logic[pizzeria] {
	m, err := flow.NewManager(
		func(s pizzeria) flow.State { return s.Order },
		func(s pizzeria, st flow.State) pizzeria { s.Order = st; return s },
		flow.Config{}, pizza)
	if err != nil {
		panic(err)
	}
	return m.Wrap(bot.LogicFunc[pizzeria](func(s pizzeria, u *bot.Update) (pizzeria, []bot.Action) {
		if u.Message != nil && u.Message.Text == "/order" {
			return m.Start(s, u, "pizza")
		}
		return s, []bot.Action{bot.Reply(fmt.Sprintf("Send /order for a pizza (%d ordered so far).", s.Orders))}
	}))
}

// chatter plays one user's side of a chat and prints both sides.
type chatter struct {
	logic   bot.Logic[pizzeria]
	state   pizzeria
	now     time.Time
	id      int64
	buttons map[string]string // the last prompt's buttons: label → callback data
}

func (c *chatter) handle(g *gotgbot.Update) {
	c.id++
	g.UpdateId = c.id
	var acts []bot.Action
	c.state, acts = c.logic.Handle(c.state, &bot.Update{Update: g, Key: 42, Now: c.now})
	for _, a := range acts {
		switch a.Kind {
		case bot.AnswerCallback:
			if a.Text != "" {
				fmt.Printf("  (notice) %s\n", a.Text)
			}
			continue
		case bot.EditText:
			fmt.Printf("  (edited) %s\n", a.Text)
			continue
		}
		fmt.Printf("  bot: %s", a.Text)
		if len(a.Buttons) > 0 {
			c.buttons = map[string]string{}
		}
		for _, row := range a.Buttons {
			for _, b := range row {
				fmt.Printf(" [%s]", b.Text)
				c.buttons[b.Text] = b.Data
			}
		}
		fmt.Println()
	}
}

func (c *chatter) say(text string) {
	fmt.Println("user:", text)
	c.handle(&gotgbot.Update{Message: &gotgbot.Message{Text: text}})
}

func (c *chatter) press(label string) {
	fmt.Printf("user presses [%s]\n", label)
	c.handle(&gotgbot.Update{CallbackQuery: &gotgbot.CallbackQuery{Data: c.buttons[label]}})
}

func Example() {
	c := &chatter{logic: pizzeriaBot(), now: time.Date(2026, 12, 1, 19, 0, 0, 0, time.UTC)}
	c.say("/order")
	c.say("large")
	c.press("Large")
	c.press("Small") // the size step's button, after the flow moved on
	c.say("Main St 1")
	c.say("hello")
	// Output:
	// user: /order
	//   bot: Which size? [Small] [Large]
	// user: large
	//   bot: Please pick one of the buttons.
	//   bot: Which size? [Small] [Large]
	// user presses [Large]
	//   (edited) Size: large
	//   bot: Where to?
	// user presses [Small]
	//   (notice) This button has expired.
	// user: Main St 1
	//   bot: A large pizza to Main St 1. Thank you!
	// user: hello
	//   bot: Send /order for a pizza (1 ordered so far).
}

func Example_cancelAndTimeout() {
	c := &chatter{logic: pizzeriaBot(), now: time.Date(2026, 12, 1, 19, 0, 0, 0, time.UTC)}
	c.say("/order")
	c.say("/cancel")
	c.say("/order")
	c.press("Small")
	c.now = c.now.Add(time.Hour) // the address step waits 15 minutes
	c.say("Main St 1")
	// Output:
	// user: /order
	//   bot: Which size? [Small] [Large]
	// user: /cancel
	//   bot: Cancelled.
	// user: /order
	//   bot: Which size? [Small] [Large]
	// user presses [Small]
	//   (edited) Size: small
	//   bot: Where to?
	// user: Main St 1
	//   bot: That took a while, so I stopped waiting. Start again whenever you like.
	//   bot: Send /order for a pizza (0 ordered so far).
}
