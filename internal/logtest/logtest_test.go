package logtest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/troupebot/troupe/internal/logtest"
)

// TestWaitFor sees a line written by another goroutine after the wait began.
func TestWaitFor(t *testing.T) {
	var b logtest.Buffer
	start := make(chan struct{})
	go func() {
		<-start
		for i := range 5 {
			fmt.Fprintf(&b, "line %d\n", i)
		}
	}()
	close(start)
	b.WaitFor(t, "line 4", 10*time.Second)
	if got := b.String(); got != "line 0\nline 1\nline 2\nline 3\nline 4\n" {
		t.Errorf("String() = %q", got)
	}
}
