package main

// parseCounter reads the "#n " a reply to a counted message starts with.
func parseCounter(text string) (n int32, ok bool) {
	if len(text) < 3 || text[0] != '#' {
		return 0, false
	}
	i := 1
	for ; i < len(text) && text[i] >= '0' && text[i] <= '9'; i++ {
		if n > (1<<31-1)/10 {
			return 0, false
		}
		n = n*10 + int32(text[i]-'0')
	}
	if i == 1 || i == len(text) || text[i] != ' ' {
		return 0, false
	}
	return n, true
}

// counterBreaks checks the counter rule on the first reply to r and says whether it broke.
//
// The rule is continuity: a counted message's reply carries the previous counter plus the
// counted messages sent since (messages whose replies are missing still count: the bot may
// have counted them and lost only the reply). A reply to a counted message without "#n ",
// or a reply to an uncounted one (a command, a crash) with it, breaks the rule. After a
// break the audit carries on from what the bot said, so one fault is one break, not a
// break on every later reply.
func (u *user) counterBreaks(r *rec, text string) bool {
	n, has := parseCounter(text)
	if !r.kind.counted() {
		if has {
			u.lastN = n // the bot counted it; expect the next one to follow on
		}
		return has
	}
	if r.k < u.lastK {
		// A late reply to an older message (out of order): check it, keep the state.
		return !has || n != u.lastN-(u.lastK-r.k)
	}
	want := u.lastN + (r.k - u.lastK)
	u.lastK = r.k
	if !has {
		u.lastN = want - 1 // not counted: the next one follows the one before
		return true
	}
	u.lastN = n
	return n != want
}
