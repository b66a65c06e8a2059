package notebook

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxMagnitude bounds recorded values so sums and means stay finite and exact enough to
// be worth printing.
const MaxMagnitude = 1e15

// Errors of parsing a recorded value; their text is what the user reads.
var (
	errOutOfRange = errors.New("numbers must be between -1e15 and 1e15")
	errLongLabel  = errors.New("label too long")
)

// parseNumber reads "42", "-3.5", "12,5 coffee", "1e3 steps": a number, then an optional
// label. isNumber is false when text does not start with a number at all (then it is plain
// text); err is set when it does but cannot be recorded.
func parseNumber(text string, maxLabel int) (v float64, label string, isNumber bool, err error) {
	text = strings.TrimSpace(text)
	head, rest := text, ""
	if i := strings.IndexFunc(text, unicode.IsSpace); i >= 0 {
		head, rest = text[:i], text[i:]
	}
	if !numeric(head) {
		return 0, "", false, nil
	}
	if !strings.Contains(head, ".") {
		head = strings.Replace(head, ",", ".", 1)
	}
	v, err = strconv.ParseFloat(head, 64)
	if err != nil || math.Abs(v) > MaxMagnitude {
		return 0, "", true, errOutOfRange
	}
	// A label keeps no invisible characters: quoted in a reply (or a chart), a bidi override
	// would reorder the text around it and a NUL cut it short. One left empty is no label.
	label = strings.Join(strings.Fields(visible(rest)), " ")
	if n := utf8.RuneCountInString(label); n > maxLabel {
		return 0, "", true, fmt.Errorf("%w: %d characters, at most %d", errLongLabel, n, maxLabel)
	}
	return v, label, true, nil
}

// numeric accepts an optional sign, digits with at most one decimal point or comma, and an
// optional exponent; it refuses what strconv would also take but no person means as a
// number here ("inf", "nan", "0x1p3", "1_000").
func numeric(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits, points := 0, 0
mantissa:
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' || c == ',':
			points++
		default:
			break mantissa
		}
	}
	if digits == 0 || points > 1 {
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != 'e' && s[i] != 'E' {
		return false
	}
	i++
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if i == len(s) {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// command splits "/name@bot args" into its lower-cased name and its arguments. forUs is
// false for a command addressed to another bot (in groups, "/stats@otherbot").
func command(text, username string) (name, args string, forUs bool) {
	text = strings.TrimSpace(text)
	head := text
	if i := strings.IndexFunc(text, unicode.IsSpace); i >= 0 {
		head, args = text[:i], text[i:]
	}
	name, target, addressed := strings.Cut(strings.TrimPrefix(head, "/"), "@")
	if addressed && !strings.EqualFold(target, username) {
		return "", "", false
	}
	return strings.ToLower(name), strings.TrimSpace(args), true
}
