package outbound

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/PaulSonOfLars/gotgbot/v2"

	"github.com/troupebot/troupe/bot/botapi"
)

// ClassifyBotAPI sorts a Bot API failure: a 429 is retried after its retry_after, a 5xx,
// a response that is not the Bot API's (a proxy's error page), a timeout or a broken
// connection with backoff; any other 4xx means the request itself is wrong (the user
// blocked the bot, the message is gone) and is not retried, nor is a cancelled one.
func ClassifyBotAPI(err error) Verdict {
	var te *gotgbot.TelegramError
	if errors.As(err, &te) {
		switch {
		case te.Code == http.StatusTooManyRequests:
			after := time.Second
			if te.ResponseParams != nil && te.ResponseParams.RetryAfter > 0 {
				after = time.Duration(te.ResponseParams.RetryAfter) * time.Second
			}
			return Verdict{Retry: true, TooMany: true, After: after}
		case te.Code >= 500:
			return Verdict{Retry: true}
		}
		return Verdict{}
	}
	var he *botapi.HTTPError
	if errors.As(err, &he) {
		return Verdict{Retry: he.Status == 0 || he.Status == http.StatusTooManyRequests || he.Status >= 500 || he.Status == http.StatusOK}
	}
	if errors.Is(err, context.Canceled) {
		return Verdict{}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return Verdict{Retry: true}
	}
	return Verdict{}
}
