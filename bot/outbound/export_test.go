package outbound

import "time"

// ThrottleLogForTest exposes throttleLog to the external tests.
type ThrottleLogForTest struct{ l throttleLog }

func (t *ThrottleLogForTest) Request(now time.Time)              { t.l.request(now) }
func (t *ThrottleLogForTest) Add(chat int64, now time.Time) bool { return t.l.add(chat, now) }

// RetryDelayForTest is the backoff after n failures for the jitter draw rnd.
func RetryDelayForTest(n int, rnd float64) time.Duration { return retryPolicy.Delay(n, rnd) }
