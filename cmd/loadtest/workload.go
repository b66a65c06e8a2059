package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// kind is what a simulated user's message is, and so what the echo contract expects of
// its reply.
type kind uint8

const (
	kindText   kind = iota // plain text: counted, the reply starts "#n "
	kindNumber             // a value like "42" or "12.5 coffee": plain text, counted
	kindStats              // /stats: one reply, not counted
	kindChart              // /chart: one reply (a PNG, by the contract), not counted
	kindReset              // /reset: one reply, whose Cancel button the user then presses
	kindPanic              // "panic" under chaos: one reply (an apology), not counted
	numKinds
)

var kindNames = [numKinds]string{"text", "number", "stats", "chart", "reset", "panic"}

func (k kind) String() string { return kindNames[k] }

// counted reports whether a message of kind k increments the user's counter n.
func (k kind) counted() bool { return k == kindText || k == kindNumber }

// mix is the relative weights of the kinds a user sends ("panic" is not in it: -chaos-rate
// sets that share).
type mix [numKinds]int

const defaultMix = "text=40,number=40,stats=10,reset=9,chart=1"

// parseMix reads "text=4,number=4,stats=1,reset=1,chart=0"; kinds left out weigh 0.
func parseMix(s string) (mix, error) {
	var m mix
	total := 0
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, w, ok := strings.Cut(f, "=")
		n, err := strconv.Atoi(strings.TrimSpace(w))
		k := kindNamed(strings.TrimSpace(name))
		switch {
		case !ok || err != nil || n < 0:
			return m, fmt.Errorf("mix %q: %q is not kind=weight with a weight of 0 or more", s, f)
		case k == numKinds || k == kindPanic:
			return m, fmt.Errorf("mix %q: unknown kind %q (text, number, stats, reset, chart; -chaos-rate sets panic)", s, name)
		}
		m[k] = n
		total += n
	}
	if total == 0 {
		return m, fmt.Errorf("mix %q: every weight is 0", s)
	}
	return m, nil
}

func kindNamed(name string) kind {
	for k, n := range kindNames {
		if n == name {
			return kind(k)
		}
	}
	return numKinds
}

func (m mix) String() string {
	var parts []string
	for k, w := range m {
		if kind(k) != kindPanic {
			parts = append(parts, kindNames[k]+"="+strconv.Itoa(w))
		}
	}
	return strings.Join(parts, ",")
}

// workload draws users' messages. Each user draws from its own random stream, seeded by
// the run's seed and the user's index, so a run is repeatable whatever the timing.
type workload struct {
	mix       mix
	total     int
	chaosRate float64
}

func newWorkload(m mix, chaosRate float64) *workload {
	w := &workload{mix: m, chaosRate: chaosRate}
	for _, n := range m {
		w.total += n
	}
	return w
}

// next draws the kind of a user's next message. A /reset comes only after a number: a user
// with no values gets "Nothing to reset" and no button to press.
func (w *workload) next(rng *rand.PCG, hasNumber bool) kind {
	if w.chaosRate > 0 && float(rng) < w.chaosRate {
		return kindPanic
	}
	r := int(rng.Uint64() % uint64(w.total))
	k := kind(0)
	for ; r >= w.mix[k]; k++ {
		r -= w.mix[k]
	}
	if k == kindReset && !hasNumber {
		return kindNumber
	}
	return k
}

var (
	words  = []string{"hello", "good morning", "what's up?", "ping", "tea or coffee", "ok", "see you", "ça va ?", "🙂 thanks"}
	labels = []string{"", "", " coffee", " km", " kg", " tea"}
)

// text writes a message of kind k.
func text(k kind, rng *rand.PCG) string {
	switch k {
	case kindText:
		return words[rng.Uint64()%uint64(len(words))]
	case kindNumber:
		v := float64(rng.Uint64()%10000) / 10
		return strconv.FormatFloat(v, 'f', -1, 64) + labels[rng.Uint64()%uint64(len(labels))]
	case kindStats:
		return "/stats"
	case kindChart:
		return "/chart"
	case kindReset:
		return "/reset"
	case kindPanic:
		return "panic"
	}
	panic("loadtest: no text for kind " + k.String())
}

// float returns a uniform float64 in [0, 1).
func float(rng *rand.PCG) float64 { return float64(rng.Uint64()>>11) / (1 << 53) }
