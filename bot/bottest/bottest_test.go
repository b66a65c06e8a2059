package bottest_test

import (
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/bottest"
	"github.com/troupebot/troupe/render"
)

// probe is a small App that uses each kind of answer the harness reports. Its state counts
// the messages it handled.
func probe() bot.App[int] {
	return bot.App[int]{Name: "probe", Logic: bot.LogicFunc[int](func(n int, u *bot.Update) (int, []bot.Action) {
		if q := u.CallbackQuery; q != nil {
			return n, []bot.Action{bot.Answer("Done"), bot.Edit("You said " + q.Data)}
		}
		if u.Message == nil {
			return n, nil
		}
		n++
		switch u.Message.Text {
		case "ask":
			return n, []bot.Action{bot.Reply("Sure?").WithButtons(bot.Row(bot.Data("Yes", "yes"), bot.Data("No", "no")))}
		case "chart":
			s := render.Series{Values: []float64{1, 3, 2}}
			return n, []bot.Action{bot.Typing(), bot.ChartOf(s, render.Options{Title: "probe"}, "three points")}
		case "boom":
			panic("boom")
		}
		return n, []bot.Action{bot.Reply(strconv.Itoa(n)), bot.Reply("again " + strconv.Itoa(n))}
	})}
}

func TestSendReturnsThatUpdatesAnswersOnly(t *testing.T) {
	h := bottest.Start(t, probe())
	first := h.Send(1, "hello")
	second := h.Send(1, "hello")
	if got, want := first.Texts(), []string{"1", "again 1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("first turn = %q, want %q", got, want)
	}
	if got, want := second.Texts(), []string{"2", "again 2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("second turn = %q, want %q", got, want)
	}
	for _, s := range second.Sent {
		if s.ReplyTo != second.Update.MessageID {
			t.Errorf("%s %q replies to %d, want the second message %d", s.Method, s.Text, s.ReplyTo, second.Update.MessageID)
		}
	}
}

func TestPressAndTap(t *testing.T) {
	h := bottest.Start(t, probe())
	ask := h.Send(2, "ask").Keyboard()
	if ask.Text != "Sure?" || len(ask.Buttons) != 1 || len(ask.Buttons[0]) != 2 {
		t.Fatalf("keyboard = %+v, want Sure? with two buttons", ask)
	}
	tap := h.Tap(2, ask, "Yes")
	if got, want := tap.String(), "bot (notice): Done\nbot (edited): You said yes\n"; got != want {
		t.Errorf("tap transcript = %q, want %q", got, want)
	}
	if edit := tap.Sent[1]; edit.MessageID != ask.MessageID {
		t.Errorf("the edit changed message %d, want %d", edit.MessageID, ask.MessageID)
	}
	// A press of data no button carries still reaches the bot.
	if got := h.Press(2, ask, "maybe").Texts(); !reflect.DeepEqual(got, []string{"Done", "You said maybe"}) {
		t.Errorf("press of unlisted data = %q", got)
	}
}

func TestPhotosAreDecodedPNGs(t *testing.T) {
	h := bottest.Start(t, probe())
	turn := h.Send(3, "chart")
	if len(turn.Sent) != 1 {
		t.Fatalf("chart turn = %+v, want one photo (the chat action left out)", turn.Sent)
	}
	p := turn.Sent[0]
	if len(turn.Photos()) != 1 || turn.Photos()[0].Seq != p.Seq {
		t.Errorf("Photos() = %+v, want the one photo", turn.Photos())
	}
	if p.Method != "sendPhoto" || p.Width == 0 || p.Height == 0 || p.Text != "three points" {
		t.Errorf("photo = %s %dx%d %q", p.Method, p.Width, p.Height, p.Text)
	}
	if want := "bot: [photo " + strconv.Itoa(p.Width) + "×" + strconv.Itoa(p.Height) + "] three points\n"; turn.String() != want {
		t.Errorf("transcript = %q, want %q", turn.String(), want)
	}
}

func TestCrashIsApologisedAndNotCommitted(t *testing.T) {
	h := bottest.Start(t, probe())
	h.Send(4, "one")
	crash := h.Send(4, "boom")
	if len(crash.Sent) != 1 || !strings.HasPrefix(crash.Sent[0].Text, "Sorry") || crash.Sent[0].ReplyTo != crash.Update.MessageID {
		t.Fatalf("crash turn = %+v, want one apology replying to it", crash.Sent)
	}
	if got := h.Send(4, "two").Texts()[0]; got != "2" {
		t.Errorf("after the crash the count is %q, want 2", got)
	}
}

func TestCleanupStopsEverything(t *testing.T) {
	var url string
	t.Run("bot", func(t *testing.T) {
		h := bottest.Start(t, probe())
		url = h.Emulator().URL()
		h.Send(5, "hello")
	})
	resp, err := http.Get(url + "/bot" + bottest.Token + "/getMe")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("the emulator still answers at %s after the test ended", url)
	}
}

func TestScriptPanicsOnFailureAndStops(t *testing.T) {
	h, stop := bottest.Script(probe())
	ask := h.Send(6, "ask").Keyboard()
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(r.(string), `no button "Maybe"`) {
				t.Errorf("Tap of a missing label recovered %v, want a panic naming it", r)
			}
		}()
		h.Tap(6, ask, "Maybe")
	}()
	url := h.Emulator().URL()
	stop()
	if resp, err := http.Get(url + "/bot" + bottest.Token + "/getMe"); err == nil {
		resp.Body.Close()
		t.Fatal("the emulator still answers after stop")
	}
}

func TestChatPrintsAndTapsTheLastKeyboard(t *testing.T) {
	var out strings.Builder
	c := bottest.Start(t, probe()).Chat(&out, 7)
	c.Say("ask")
	c.Say("hello") // no keyboard: the one before stays the one to tap
	c.Tap("No")
	want := "user: ask\nbot: Sure? [Yes] [No]\nuser: hello\nbot: 2\nbot: again 2\nuser taps [No]\nbot (notice): Done\nbot (edited): You said no\n"
	if out.String() != want {
		t.Errorf("transcript:\n%s\nwant:\n%s", out.String(), want)
	}
}
