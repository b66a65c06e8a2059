package botapi

import (
	"fmt"
	"net/http"
	"testing"
)

func TestMethodURLCache(t *testing.T) {
	c := New("http://127.0.0.1:1", &http.Client{})
	a, err := c.methodURL("http://127.0.0.1:1/bot1:t/sendMessage")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.methodURL("http://127.0.0.1:1/bot1:t/sendMessage")
	if err != nil {
		t.Fatal(err)
	}
	if a == b || *a != *b || a.Path != "/bot1:t/sendMessage" {
		t.Fatalf("cached URL %v (%p) and %v (%p), want equal copies", a, a, b, b)
	}
	a.Path = "/changed"
	if b, _ := c.methodURL("http://127.0.0.1:1/bot1:t/sendMessage"); b.Path != "/bot1:t/sendMessage" {
		t.Fatalf("a caller's change reached the cache: %v", b)
	}
	for i := range 2 * mostURLs {
		if _, err := c.methodURL(fmt.Sprintf("http://127.0.0.1:1/bot1:t/m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	c.urls.Range(func(any, any) bool { n++; return true })
	if n > mostURLs {
		t.Errorf("%d URLs cached, want at most %d", n, mostURLs)
	}
	if _, err := c.methodURL("http://[::1/bot"); err == nil {
		t.Error("a malformed URL parsed")
	}
}
