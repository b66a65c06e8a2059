package main

import "testing"

func TestParseCounter(t *testing.T) {
	tests := []struct {
		text string
		n    int32
		ok   bool
	}{
		{"#1 hello", 1, true},
		{"#42 Recorded 5.", 42, true},
		{"#7", 0, false},
		{"#x hello", 0, false},
		{"# 1 hello", 0, false},
		{"#12hello", 0, false},
		{"Sorry, something went wrong", 0, false},
		{"#99999999999 overflow", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		if n, ok := parseCounter(tt.text); n != tt.n || ok != tt.ok {
			t.Errorf("parseCounter(%q) = %d, %v; want %d, %v", tt.text, n, ok, tt.n, tt.ok)
		}
	}
}

// TestCounterBreaks feeds one user's replies, in arrival order, and counts the breaks: one
// fault is one break, however many replies follow it.
func TestCounterBreaks(t *testing.T) {
	type reply struct {
		kind kind
		k    int32 // the message's place among the counted ones
		text string
	}
	tests := []struct {
		name    string
		replies []reply
		breaks  int
	}{
		{"continuous", []reply{{kindText, 1, "#1 a"}, {kindStats, 0, "2 values"}, {kindNumber, 2, "#2 b"}, {kindPanic, 0, "Sorry"}, {kindText, 3, "#3 c"}}, 0},
		{"a missing reply in between", []reply{{kindText, 1, "#1 a"}, {kindText, 3, "#3 c"}}, 0},
		{"a value skipped", []reply{{kindText, 1, "#1 a"}, {kindText, 2, "#3 b"}, {kindText, 3, "#4 c"}}, 1},
		{"a value repeated", []reply{{kindText, 1, "#1 a"}, {kindText, 2, "#1 b"}, {kindText, 3, "#2 c"}}, 1},
		{"restarted from zero", []reply{{kindText, 1, "#1 a"}, {kindText, 2, "#2 b"}, {kindText, 3, "#1 c"}, {kindText, 4, "#2 d"}}, 1},
		{"a crash counted", []reply{{kindText, 1, "#1 a"}, {kindPanic, 0, "#2 panic"}, {kindText, 2, "#3 b"}}, 1},
		{"a plain text not counted", []reply{{kindText, 1, "#1 a"}, {kindText, 2, "Sorry"}, {kindText, 3, "#2 c"}}, 1},
		{"late reply, in step", []reply{{kindText, 1, "#1 a"}, {kindText, 3, "#3 c"}, {kindText, 2, "#2 b"}}, 0},
		{"late reply, off", []reply{{kindText, 1, "#1 a"}, {kindText, 3, "#3 c"}, {kindText, 2, "#5 b"}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u user
			breaks := 0
			for _, r := range tt.replies {
				if u.counterBreaks(&rec{kind: r.kind, k: r.k}, r.text) {
					breaks++
				}
			}
			if breaks != tt.breaks {
				t.Errorf("breaks = %d, want %d", breaks, tt.breaks)
			}
		})
	}
}
