package botapi

import "encoding/json"

// A getUpdates answer is most of what a polling bot reads, and encoding/json took it in
// two passes (validate, then decode into one copy per update) for a result the intake then
// decodes again update by update. splitResult checks and splits it in one pass. It takes
// only the answer's usual shape, {"ok":true,"result":[...]}, and says ok only for input
// json.Valid accepts, so anything else takes encoding/json's path and gets its errors;
// FuzzSplitResult holds it to encoding/json's result.

// splitResult returns the elements of an answer's result array, sharing one copy of
// answer, or ok false.
func splitResult(answer []byte) (elems []json.RawMessage, ok bool) {
	const prefix = `{"ok":true,"result":[`
	if len(answer) < len(prefix) || string(answer[:len(prefix)]) != prefix {
		return nil, false
	}
	v := validator{b: answer, i: len(prefix)}
	type span struct{ start, end int }
	var spans []span
	v.space()
	if !v.next(']') {
		for {
			v.space()
			start := v.i
			if !v.value(0) {
				return nil, false
			}
			spans = append(spans, span{start, v.i})
			v.space()
			if v.next(']') {
				break
			}
			if !v.next(',') {
				return nil, false
			}
		}
	}
	v.space()
	if !v.next('}') {
		return nil, false
	}
	v.space()
	if v.i != len(v.b) {
		return nil, false
	}
	own := append([]byte(nil), answer...)
	elems = make([]json.RawMessage, len(spans))
	for i, s := range spans {
		elems[i] = own[s.start:s.end:s.end]
	}
	return elems, true
}

// validator checks JSON values strictly, as encoding/json's scanner does, except that it
// gives up (false) past maxDepth, leaving deep input to encoding/json.
type validator struct {
	b []byte
	i int
}

const maxDepth = 64

func (v *validator) space() {
	for v.i < len(v.b) {
		switch v.b[v.i] {
		case ' ', '\t', '\n', '\r':
			v.i++
		default:
			return
		}
	}
}

func (v *validator) next(c byte) bool {
	if v.i < len(v.b) && v.b[v.i] == c {
		v.i++
		return true
	}
	return false
}

func (v *validator) literal(s string) bool {
	if len(v.b)-v.i >= len(s) && string(v.b[v.i:v.i+len(s)]) == s {
		v.i += len(s)
		return true
	}
	return false
}

// value checks one value starting at v.i (no leading space).
func (v *validator) value(depth int) bool {
	if v.i >= len(v.b) || depth > maxDepth {
		return false
	}
	switch c := v.b[v.i]; {
	case c == '{':
		v.i++
		v.space()
		if v.next('}') {
			return true
		}
		for {
			v.space()
			if !v.str() {
				return false
			}
			v.space()
			if !v.next(':') {
				return false
			}
			v.space()
			if !v.value(depth + 1) {
				return false
			}
			v.space()
			if v.next('}') {
				return true
			}
			if !v.next(',') {
				return false
			}
		}
	case c == '[':
		v.i++
		v.space()
		if v.next(']') {
			return true
		}
		for {
			v.space()
			if !v.value(depth + 1) {
				return false
			}
			v.space()
			if v.next(']') {
				return true
			}
			if !v.next(',') {
				return false
			}
		}
	case c == '"':
		return v.str()
	case c == 't':
		return v.literal("true")
	case c == 'f':
		return v.literal("false")
	case c == 'n':
		return v.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return v.number()
	}
	return false
}

// str checks a string: no control characters, only JSON's escapes. Like encoding/json it
// accepts any other bytes, invalid UTF-8 included (decoding replaces it).
func (v *validator) str() bool {
	if !v.next('"') {
		return false
	}
	for v.i < len(v.b) {
		c := v.b[v.i]
		switch {
		case c == '"':
			v.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if v.i+1 >= len(v.b) {
				return false
			}
			switch v.b[v.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				v.i += 2
			case 'u':
				if v.i+6 > len(v.b) {
					return false
				}
				for _, h := range v.b[v.i+2 : v.i+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false
					}
				}
				v.i += 6
			default:
				return false
			}
		default:
			v.i++
		}
	}
	return false
}

// number checks JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (v *validator) number() bool {
	v.next('-')
	switch {
	case v.next('0'):
	case v.i < len(v.b) && v.b[v.i] >= '1' && v.b[v.i] <= '9':
		v.digits()
	default:
		return false
	}
	if v.next('.') && !v.digits() {
		return false
	}
	if v.next('e') || v.next('E') {
		if !v.next('+') {
			v.next('-')
		}
		if !v.digits() {
			return false
		}
	}
	return true
}

// digits skips one or more digits; false for none.
func (v *validator) digits() bool {
	start := v.i
	for v.i < len(v.b) && v.b[v.i] >= '0' && v.b[v.i] <= '9' {
		v.i++
	}
	return v.i > start
}
