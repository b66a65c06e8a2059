package bot_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/troupebot/troupe/bot"
	"github.com/troupebot/troupe/bot/intake"
	"github.com/troupebot/troupe/bot/ops"
	"github.com/troupebot/troupe/emulator"
	"github.com/troupebot/troupe/examples/echo"
)

// TestMetricsCountWebhookRefusalsByReason: refused webhook requests reach /metrics under
// their reason.
func TestMetricsCountWebhookRefusalsByReason(t *testing.T) {
	emu, err := emulator.New(emulator.Config{Token: token, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	var hook *httptest.Server
	b := runBotWith(t, emu, bot.Config{Webhook: true, WebhookSecret: "s3cret"}, echo.New(echo.Options{}), func(b *bot.Bot) {
		hook = httptest.NewServer(b.WebhookHandler())
		t.Cleanup(hook.Close)
	})
	for _, secret := range []string{"wrong", "", "s3cret"} {
		req, _ := http.NewRequest(http.MethodPost, hook.URL, strings.NewReader(`{"update_id":`))
		req.Header.Set(intake.SecretTokenHeader, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	rec := httptest.NewRecorder()
	ops.Handler(b, b.Registry()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`troupe_webhook_refused_total{reason="secret"} 2`,
		`troupe_webhook_refused_total{reason="json"} 1`,
		`troupe_webhook_refused_total{reason="size"} 0`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
