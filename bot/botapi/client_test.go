package botapi_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot/botapi"
	"github.com/troupebot/troupe/emulator"
)

const token = "4242:SECRET-token-value"

func newBot(tb testing.TB, apiURL string) *gotgbot.Bot {
	tb.Helper()
	b, err := gotgbot.NewBot(token, &gotgbot.BotOpts{BotClient: botapi.New(apiURL, &http.Client{}), DisableTokenCheck: true})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestSendsAgainstEmulator(t *testing.T) {
	emu, err := emulator.New(emulator.Config{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	b := newBot(t, emu.URL())
	ctx := context.Background()
	p, _ := emu.SendText(3, "hi")

	me, err := b.GetMeWithContext(ctx, nil)
	if err != nil || me.Username != emu.BotUser().Username {
		t.Fatalf("getMe = %+v, %v", me, err)
	}
	msg, err := b.SendMessageWithContext(ctx, 3, "hello", &gotgbot.SendMessageOpts{
		ReplyParameters: &gotgbot.ReplyParameters{MessageId: p.MessageID},
		ReplyMarkup:     gotgbot.InlineKeyboardMarkup{InlineKeyboard: [][]gotgbot.InlineKeyboardButton{{{Text: "ok", CallbackData: "ok"}}}},
	})
	if err != nil || msg.Text != "hello" || msg.Chat.Id != 3 {
		t.Fatalf("sendMessage = %+v, %v", msg, err)
	}
	var img bytes.Buffer
	png.Encode(&img, image.NewGray(image.Rect(0, 0, 40, 30)))
	photo, err := b.SendPhotoWithContext(ctx, 3, gotgbot.InputFileByReader("chart.png", bytes.NewReader(img.Bytes())), &gotgbot.SendPhotoOpts{Caption: "c"})
	if err != nil || len(photo.Photo) != 1 || photo.Photo[0].Width != 40 {
		t.Fatalf("sendPhoto = %+v, %v", photo, err)
	}

	sent := emu.Sent()
	if len(sent) != 2 || sent[0].ReplyTo != p.MessageID || sent[0].Buttons[0][0].Data != "ok" || !bytes.Equal(sent[1].Photo, img.Bytes()) {
		t.Fatalf("emulator saw %+v", sent)
	}
}

func TestTelegramErrorKeepsCode(t *testing.T) {
	emu, err := emulator.New(emulator.Config{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	_, err = newBot(t, emu.URL()).SendMessageWithContext(context.Background(), 99, "x", nil)
	var te *gotgbot.TelegramError
	if !errors.As(err, &te) || te.Code != 400 || te.Description != "Bad Request: chat not found" {
		t.Fatalf("err = %v, want a 400 TelegramError", err)
	}
}

func TestErrorsHideToken(t *testing.T) {
	// A port nothing listens on: the dial error quotes the URL, token included.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>502 Bad Gateway</html>", http.StatusBadGateway)
	}))
	defer proxy.Close()

	tests := []struct {
		name   string
		url    string
		status int
	}{
		{"connection refused", "http://" + addr, 0},
		{"proxy error page", proxy.URL, http.StatusBadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBot(t, tt.url)
			_, err := b.GetMeWithContext(context.Background(), nil)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error shows the token: %v", err)
			}
			var he *botapi.HTTPError
			if tt.status != 0 && (!errors.As(err, &he) || he.Status != tt.status) {
				t.Errorf("err = %v, want an HTTPError with status %d", err, tt.status)
			}
		})
	}
}
