package bot_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/notebook"
	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/render"
)

// checkPNG decodes a photo and checks it is a real chart: the right size, and not blank.
func checkPNG(tb testing.TB, photo []byte) {
	tb.Helper()
	img, err := png.Decode(bytes.NewReader(photo))
	if err != nil {
		tb.Fatalf("photo is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 800 || b.Dy() != 500 {
		tb.Fatalf("chart is %dx%d, want 800x500", b.Dx(), b.Dy())
	}
	colours := map[[4]uint32]bool{}
	for y := 0; y < 500; y += 7 {
		for x := 0; x < 800; x += 7 {
			r, g, b, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, b, a}] = true
		}
	}
	if len(colours) < 3 {
		tb.Fatalf("chart has %d colours: blank", len(colours))
	}
}

// TestChartsForManyUsers has every user record values and ask for each kind of chart at
// once: every chart arrives, decodes, and keeps its place among the user's replies.
func TestChartsForManyUsers(t *testing.T) {
	const users = 16
	emu := startBot(t, bot.Config{ChartWorkers: 2, ChartQueue: 1000}, notebook.New(notebook.Options{}))
	script := []string{"5", "7 tea", "-2", "/chart", "/chart bar", "/chart hist 2", "after"}
	ids, byChat := converse(t, emu, users, 500, func(int) []string { return script })
	for u := range users {
		got := byChat[int64(500+u)]
		if len(got) != len(script) {
			t.Fatalf("user %d: %d replies to %d messages", u, len(got), len(script))
		}
		for i, s := range got {
			if s.ReplyTo != ids[u][i] {
				t.Fatalf("user %d reply %d answers message %d, want %d: out of order", u, i, s.ReplyTo, ids[u][i])
			}
			if strings.HasPrefix(script[i], "/chart") {
				if s.Method != "sendPhoto" {
					t.Fatalf("user %d: %s answered with %s %q", u, script[i], s.Method, s.Text)
				}
				checkPNG(t, s.Photo)
			}
		}
		if got[5].Text != "Histogram of your last 2 values." || got[6].Text != "“after” is not a number. Send one like 42 or 12.5 coffee, or /help." {
			t.Errorf("user %d: %q, %q", u, got[5].Text, got[6].Text)
		}
	}
	// Different requests, different pictures.
	a, b := byChat[500][3].Photo, byChat[500][4].Photo
	if bytes.Equal(a, b) {
		t.Error("the line and the bar chart are the same image")
	}
	if _, _, err := image.DecodeConfig(bytes.NewReader(a)); err != nil {
		t.Error(err)
	}
	if n := countActions(emu, "upload_photo"); n != 3*users {
		t.Errorf("%d upload_photo actions, want %d", n, 3*users)
	}
}

// TestChartShowsValuesOverTime records values with the dates of their messages and asks for
// charts: the photo is exactly the chart of those values over those dates (in UTC), and
// values that all came in the same second are drawn by position instead.
func TestChartShowsValuesOverTime(t *testing.T) {
	emu := startBot(t, bot.Config{}, notebook.New(notebook.Options{}))
	t0 := time.Date(2026, 3, 1, 9, 17, 0, 0, time.UTC)
	values := []float64{5, 7.5, 6, 9, 8}
	for i, tc := range []struct {
		name    string
		offsets []time.Duration // when each value was recorded, after t0
		xLabel  string
		times   bool
	}{
		{"over three days", []time.Duration{0, 2 * time.Hour, 26 * time.Hour, 50 * time.Hour, 72 * time.Hour}, "recorded (UTC)", true},
		{"over two years", []time.Duration{0, 24 * time.Hour, 200 * 24 * time.Hour, 500 * 24 * time.Hour, 730 * 24 * time.Hour}, "recorded (UTC)", true},
		{"all at once", make([]time.Duration, len(values)), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user := int64(700 + i)
			if _, err := emu.SendText(user, "/start"); err != nil {
				t.Fatal(err)
			}
			times := make([]time.Time, len(values))
			for j, v := range values {
				times[j] = t0.Add(tc.offsets[j])
				_, err := emu.PushUpdate(gotgbot.Update{Message: &gotgbot.Message{
					MessageId: int64(10_000 + j), Date: times[j].Unix(), Text: strconv.FormatFloat(v, 'f', -1, 64),
					From: &gotgbot.User{Id: user, FirstName: "T"}, Chat: gotgbot.Chat{Id: user, Type: "private"},
				}})
				if err != nil {
					t.Fatal(err)
				}
			}
			p, err := emu.SendText(user, "/chart")
			if err != nil {
				t.Fatal(err)
			}
			waitConfirmed(t, emu, p.UpdateID)
			var photo []byte
			for _, s := range emu.Sent() {
				if s.ChatID == user && s.Method == "sendPhoto" {
					photo = s.Photo
				}
			}
			if photo == nil {
				t.Fatal("no chart was sent")
			}
			checkPNG(t, photo)
			want := render.Series{Values: values}
			if tc.times {
				want.Times = times
			}
			png, err := render.Render(context.Background(), want, render.Options{Title: "All your 5 values", XLabel: tc.xLabel, YLabel: "value"})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(photo, png) {
				t.Errorf("the chart is not the values drawn %s (times on the X axis: %v)", tc.name, tc.times)
			}
		})
	}
}

func countActions(emu *emulator.Server, action string) int {
	n := 0
	for _, s := range emu.Sent() {
		if s.Method == "sendChatAction" && s.Action == action {
			n++
		}
	}
	return n
}

// TestChartOverloadSaysBusy floods a one-worker, one-place chart pool: requests past the
// queue get a clear "busy" reply, every request is answered once, and nothing waits
// unboundedly.
func TestChartOverloadSaysBusy(t *testing.T) {
	const users = 30
	emu, b := startBotWith(t, bot.Config{ChartWorkers: 1, ChartQueue: 1}, notebook.New(notebook.Options{}))
	var last int64
	for u := range users {
		p, _ := emu.SendText(int64(900+u), "1")
		last = p.UpdateID
	}
	waitConfirmed(t, emu, last)
	for u := range users {
		p, _ := emu.SendText(int64(900+u), "/chart")
		last = p.UpdateID
	}
	waitConfirmed(t, emu, last)
	photos, busy := 0, 0
	answered := map[int64]int{}
	for _, s := range emu.Sent() {
		switch {
		case s.Method == "sendPhoto":
			photos++
			answered[s.ChatID]++
			checkPNG(t, s.Photo)
		case s.Method == "sendMessage" && strings.HasPrefix(s.Text, "I'm drawing a lot of charts"):
			busy++
			answered[s.ChatID]++
		}
	}
	if photos+busy != users || busy == 0 || photos == 0 {
		t.Errorf("%d photos and %d busy replies for %d requests; want every request answered, some busy", photos, busy, users)
	}
	for chat, n := range answered {
		if n != 1 {
			t.Errorf("chat %d got %d answers to one /chart", chat, n)
		}
	}
	st := b.Snapshot().Charts
	if st.Busy != int64(busy) || st.Queued != 0 || st.Capacity != 1 {
		t.Errorf("chart stats = %+v", st)
	}
}
