package render

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi  float64
		target  int
		minStep float64
		want    []float64
	}{
		{0, 10, 5, 0, []float64{0, 2, 4, 6, 8, 10}},
		{0.5, 9.7, 4, 0, []float64{2.5, 5, 7.5}},
		{-3, 3, 6, 0, []float64{-3, -2, -1, 0, 1, 2, 3}},
		{1, 7, 10, 1, []float64{1, 2, 3, 4, 5, 6, 7}}, // never half an index
		{1, 100, 5, 1, []float64{20, 40, 60, 80, 100}},
		{0.1, 0.3, 2, 0, []float64{0.1, 0.2, 0.3}},
	} {
		got, _ := niceTicks(tc.lo, tc.hi, tc.target, tc.minStep)
		if !slices.EqualFunc(got, tc.want, func(a, b float64) bool { return a-b < 1e-12 && b-a < 1e-12 }) {
			t.Errorf("niceTicks(%v, %v, %d, %v) = %v, want %v", tc.lo, tc.hi, tc.target, tc.minStep, got, tc.want)
		}
	}
}

func TestFormatTicks(t *testing.T) {
	for _, tc := range []struct {
		vals     []float64
		step     float64
		forceExp bool
		want     []string
		wantExp  int
	}{
		{[]float64{0, 2.5, 5}, 2.5, false, []string{"0", "2.5", "5.0"}, 0},
		{[]float64{-10, 0, 10}, 10, false, []string{"-10", "0", "10"}, 0},
		{[]float64{0, 250000, 500000}, 250000, false, []string{"0", "250k", "500k"}, 0},
		{[]float64{1e6, 1.5e6, 2e6}, 5e5, false, []string{"1.0M", "1.5M", "2.0M"}, 0},
		{[]float64{1e300, 2e300}, 1e300, false, []string{"1", "2"}, 300},
		{[]float64{1e-5, 2e-5}, 1e-5, false, []string{"1", "2"}, -5},
		{[]float64{0.001, 0.002}, 0.001, false, []string{"0.001", "0.002"}, 0},
		{[]float64{1, 2}, 1, true, []string{"1", "2"}, 0},
	} {
		got, exp := formatTicks(tc.vals, tc.step, tc.forceExp)
		if !slices.Equal(got, tc.want) || exp != tc.wantExp {
			t.Errorf("formatTicks(%v, %v) = %q ×1e%d, want %q ×1e%d", tc.vals, tc.step, got, exp, tc.want, tc.wantExp)
		}
	}
}

func TestTimeTicks(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	at := func(s string) float64 {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return fromTime(tm)
	}
	for _, tc := range []struct {
		name   string
		lo, hi float64
		target int
		want   []string
	}{
		{"seconds", at("2026-03-01 09:17") + 23, at("2026-03-01 09:17") + 26, 5,
			[]string{"09:17:23.0\nMar 1", "09:17:23.5", "09:17:24.0", "09:17:24.5", "09:17:25.0", "09:17:25.5", "09:17:26.0"}},
		{"half a minute", at("2026-03-01 09:17") + 23, at("2026-03-01 09:17") + 53, 6,
			[]string{"09:17:25\nMar 1", "09:17:30", "09:17:35", "09:17:40", "09:17:45", "09:17:50"}},
		{"minutes", at("2026-03-01 09:17"), at("2026-03-01 09:27"), 5,
			[]string{"09:18\nMar 1", "09:20", "09:22", "09:24", "09:26"}},
		{"hours", at("2026-03-01 09:17"), at("2026-03-01 17:40"), 5,
			[]string{"10:00\nMar 1", "12:00", "14:00", "16:00"}},
		{"across midnight", at("2026-03-01 20:00"), at("2026-03-02 08:00"), 4,
			[]string{"21:00\nMar 1", "00:00\nMar 2", "03:00", "06:00"}},
		{"days", at("2026-03-01 12:00"), at("2026-03-06 12:00"), 5,
			[]string{"Mar 2\n2026", "Mar 3", "Mar 4", "Mar 5", "Mar 6"}},
		{"three days", at("2026-03-01 09:17"), at("2026-03-04 09:17"), 6,
			[]string{"12:00\nMar 1", "00:00\nMar 2", "12:00", "00:00\nMar 3", "12:00", "00:00\nMar 4"}},
		{"weeks from Mondays", at("2026-03-01 09:17"), at("2026-04-10 09:17"), 5, // fortnights would give 3
			[]string{"Mar 2\n2026", "Mar 9", "Mar 16", "Mar 23", "Mar 30", "Apr 6"}},
		{"months", at("2025-11-15 00:00"), at("2026-04-15 00:00"), 5,
			[]string{"Dec\n2025", "Jan\n2026", "Feb", "Mar", "Apr"}},
		{"two years", at("2026-03-01 09:17"), at("2028-03-01 09:17"), 7,
			[]string{"Apr\n2026", "Jul", "Oct", "Jan\n2027", "Apr", "Jul", "Oct", "Jan\n2028"}},
		{"years", at("2001-06-01 00:00"), at("2026-06-01 00:00"), 5,
			[]string{"2005", "2010", "2015", "2020", "2025"}},
		{"decades", at("2026-03-01 09:17"), at("2056-03-01 09:17"), 5,
			[]string{"2030", "2040", "2050"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals, labels := timeTicks(tc.lo, tc.hi, berlin, tc.target)
			if !slices.Equal(labels, tc.want) {
				t.Errorf("labels = %q, want %q", labels, tc.want)
			}
			for _, v := range vals {
				if v < tc.lo || v > tc.hi {
					t.Errorf("tick %v outside [%v, %v]", v, tc.lo, tc.hi)
				}
			}
		})
	}
}

func TestCleanText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"plain", 10, "plain"},
		{"  two\n\nlines\t ", 20, "two lines"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven runes", 10, "eleven ru…"},
		{"word boundary cut", 6, "word…"},
		{"bad \xff\xfe bytes", 20, "bad ?? bytes"},
		{"bidi\u202e override\u200b", 20, "bidi override"},
		{"ünïcödé ümläüts", 7, "ünïcöd…"},
		{"🚀🚀🚀🚀", 3, "🚀🚀…"},
		{"", 5, ""},
	} {
		if got := cleanText(tc.in, tc.max); got != tc.want {
			t.Errorf("cleanText(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
		if n := len([]rune(cleanText(tc.in, tc.max))); n > tc.max {
			t.Errorf("cleanText(%q, %d) has %d runes", tc.in, tc.max, n)
		}
	}
	if got := cleanText(strings.Repeat("x", 1000), maxTextRunes); len([]rune(got)) != maxTextRunes {
		t.Errorf("long text cut to %d runes, want %d", len([]rune(got)), maxTextRunes)
	}
}

func TestUserText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Ünïcödé Ελληνικά Кириллица", "Ünïcödé Ελληνικά Кириллица"},
		{"漢字 ok", "□□ ok"},
		{"go 🚀", "go □"},
	} {
		if got := userText(tc.in, 100); got != tc.want {
			t.Errorf("userText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
