//go:build race

package router_test

// raceEnabled: the race detector makes sync.Pool drop items, so regexp's pooled machines
// allocate under it.
const raceEnabled = true
