package redact

import "strings"

// Mask is what stands in a text where the secret was.
const Mask = "<token>"

// minSecret is the shortest secret half of a token redacted on its own; a shorter one
// (a test's "1:x") would mask unrelated text everywhere, so then the whole token is the
// secret.
const minSecret = 8

// A Redactor replaces one secret with Mask. The zero value redacts nothing.
type Redactor struct {
	secret string
}

// Token returns the Redactor of a Bot API token, "<bot id>:<secret>". It redacts the part
// after the colon: that is what a reader must never see (the bot id is the bot's public
// user id), and it survives URL escaping unchanged ("%3A" for the colon), so an error page
// that echoes an escaped request path is redacted too.
func Token(token string) Redactor {
	if i := strings.LastIndexByte(token, ':'); i >= 0 && len(token)-i-1 >= minSecret {
		return Redactor{secret: token[i+1:]}
	}
	return Redactor{secret: token}
}

// Reveals reports whether s holds the secret.
func (r Redactor) Reveals(s string) bool {
	return r.secret != "" && strings.Contains(s, r.secret)
}

// String returns s with every occurrence of the secret replaced by Mask; s itself, without
// copying, when it holds none.
func (r Redactor) String(s string) string {
	if !r.Reveals(s) {
		return s
	}
	return strings.ReplaceAll(s, r.secret, Mask)
}
