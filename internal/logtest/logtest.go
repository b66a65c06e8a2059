// Package logtest is a log destination for tests: what a logger under test wrote, safe to
// read while the code under test still writes from its own goroutines, and a wait for a line
// that says something (with a deadline, never a sleep).
package logtest

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// Buffer collects log output. The zero value is ready to use.
type Buffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{} // closed and replaced on every write
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.written != nil {
		close(b.written)
		b.written = nil
	}
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitFor waits until the output holds text, failing tb after within.
func (b *Buffer) WaitFor(tb testing.TB, text string, within time.Duration) {
	tb.Helper()
	deadline := time.After(within)
	for {
		b.mu.Lock()
		if strings.Contains(b.buf.String(), text) {
			b.mu.Unlock()
			return
		}
		if b.written == nil {
			b.written = make(chan struct{})
		}
		written := b.written
		b.mu.Unlock()
		select {
		case <-written:
		case <-deadline:
			tb.Fatalf("no log line with %q within %v; the log:\n%s", text, within, b.String())
		}
	}
}
