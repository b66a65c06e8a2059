package notebook

import (
	"math"
	"strconv"
	"strings"
	"unicode"
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

// invisible reports whether r shows nothing yet can change how the text around it reads:
// C0 and C1 controls (NUL, ESC, CSI) and the format characters (category Cf): the bidi
// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and marks (U+200E,
// U+200F, U+061C) that make a label reorder the reply it is quoted in, zero-width spaces
// and joiners (U+200B, U+2060, U+FEFF), the soft hyphen, tag characters (which can carry
// hidden text), and the Hangul fillers, letters that render blank. Whitespace is not
// invisible: it separates words, and callers collapse it. ZWNJ and ZWJ stay: Persian and
// Indic words need the one and emoji sequences the other, and neither reorders text.
func invisible(r rune) bool {
	switch r {
	case '\u200c', '\u200d':
		return false
	case '\u115f', '\u1160', '\u3164', '\uffa0':
		return true
	}
	return !unicode.IsSpace(r) && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r))
}

// visible returns s without its invisible characters: s itself when it has none.
func visible(s string) string {
	if strings.IndexFunc(s, invisible) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if invisible(r) {
			return -1
		}
		return r
	}, s)
}

// quote shortens s to at most max runes for echoing it back, marking the cut; it drops
// invisible characters, so what a user sent cannot reorder the reply around it.
func quote(s string, max int) string {
	s = strings.Join(strings.Fields(visible(s)), " ")
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

// labelled prints an entry as its value followed by its label, if any. Labels are stored
// without invisible characters; one recorded before that was so is cleaned here.
func labelled(e Entry) string {
	label := visible(e.Label)
	if label == "" {
		return formatNumber(e.Value)
	}
	return formatNumber(e.Value) + " (" + label + ")"
}
