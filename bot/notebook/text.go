package notebook

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// textLen counts text as Telegram does for its length limits: in UTF-16 code units.
func textLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// quote shortens s to at most max runes for echoing it back, marking the cut.
func quote(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	cut := 0
	for i := range s {
		if max == 0 {
			cut = i
			break
		}
		max--
	}
	return s[:cut] + "…"
}

// formatNumber prints a value the way a person would write it: no exponent for everyday
// magnitudes, at most four decimals, exponent form only for the very large and very small.
func formatNumber(v float64) string {
	switch a := math.Abs(v); {
	case v == 0:
		return "0"
	case a >= 1e12 || a < 1e-4:
		return strconv.FormatFloat(v, 'g', 6, 64)
	default:
		s := strconv.FormatFloat(v, 'f', 4, 64)
		s = strings.TrimRight(s, "0")
		return strings.TrimSuffix(s, ".")
	}
}

// plural returns "1 value" or "n values".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// labelled prints an entry as its value followed by its label, if any.
func labelled(e Entry) string {
	if e.Label == "" {
		return formatNumber(e.Value)
	}
	return formatNumber(e.Value) + " (" + e.Label + ")"
}
