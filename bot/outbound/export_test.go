package outbound

import "time"

// ThrottleLogForTest exposes throttleLog to the external tests.
type ThrottleLogForTest struct{ l throttleLog }

func (t *ThrottleLogForTest) Request(now time.Time)              { t.l.request(now) }
func (t *ThrottleLogForTest) Add(chat int64, now time.Time) bool { return t.l.add(chat, now) }
