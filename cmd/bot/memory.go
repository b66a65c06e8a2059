package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// residentBudget is the bytes a resident user is allowed on average when sizing the
// default -max-resident: about 1 KB of actor and a typical notebook context, with room.
const residentBudget = 8 << 10

// defaultMaxResident sizes the resident-actor cap to a quarter of the memory this process
// may use (the cgroup limit in a container, else the machine's memory), so the bot stays
// bounded however many users write to it.
func defaultMaxResident() int {
	mem := memoryLimit()
	if mem == 0 {
		return 100_000
	}
	return int(min(max(mem/4/residentBudget, 10_000), 10_000_000))
}

// memoryLimit returns the container's memory limit (cgroup v2, else v1), or the machine's
// memory when the limit is absent or larger, or 0 when neither can be read.
func memoryLimit() uint64 {
	total := memTotal()
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(path); err == nil {
			// "max" (v2) and a near-2^63 number (v1) both mean no limit.
			if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && (total == 0 || n < total) {
				return n
			}
		}
	}
	return total
}

func memTotal() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
