package bot_test

import (
	"testing"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/notebook"
	"github.com/troupebot/troupe/emulator"
)

// TestButtonsBelongToWhoAsked has one group member ask for a /reset and another press its
// buttons: the other's press reaches the other's actor, is answered "not yours" and changes
// nothing; the owner's press still works.
func TestButtonsBelongToWhoAsked(t *testing.T) {
	emu := startBot(t, bot.Config{}, notebook.New(notebook.Options{}))
	const owner, other = 7, 8
	group := gotgbot.Chat{Id: -100200, Type: "supergroup", Title: "team"}
	say := func(from int64, text string) {
		t.Helper()
		p, err := emu.SendMessage(group, emulator.User(from), text)
		if err != nil {
			t.Fatal(err)
		}
		waitConfirmed(t, emu, p.UpdateID)
	}
	press := func(from, message int64, data string) []emulator.Sent {
		t.Helper()
		before := len(emu.Sent())
		p, err := emu.PressButton(from, group.Id, message, data)
		if err != nil {
			t.Fatal(err)
		}
		waitConfirmed(t, emu, p.UpdateID)
		return emu.Sent()[before:]
	}
	say(owner, "5")
	say(other, "6")
	say(owner, "/reset")
	sent := emu.Sent()
	confirm := sent[len(sent)-1]
	if confirm.Text != "Delete your 1 value? This cannot be undone." || len(confirm.Buttons) != 1 {
		t.Fatalf("confirmation = %+v", confirm)
	}
	deleteAll := confirm.Buttons[0][0].Data

	for _, data := range []string{deleteAll, confirm.Buttons[0][1].Data} {
		got := press(other, confirm.MessageID, data)
		if len(got) != 1 || got[0].Method != "answerCallbackQuery" || got[0].Text != "This button is not yours: only the one who asked can press it." {
			t.Errorf("another member's press of %q: the bot sent %+v, want only the answer \"not yours\"", data, got)
		}
	}
	say(other, "/stats")
	say(owner, "/stats")
	sent = emu.Sent()
	for i, want := range []string{"1 value\nsum 6 · mean 6\nmin 6 · max 6\nlast 6", "1 value\nsum 5 · mean 5\nmin 5 · max 5\nlast 5"} {
		if got := sent[len(sent)-2+i].Text; got != want {
			t.Errorf("/stats after another member's presses = %q, want %q", got, want)
		}
	}

	got := press(owner, confirm.MessageID, deleteAll)
	if len(got) != 2 || got[0].Text != "Deleted" || got[1].Method != "editMessageText" || got[1].MessageID != confirm.MessageID {
		t.Errorf("the owner's press: the bot sent %+v, want Deleted and the edit", got)
	}
}
