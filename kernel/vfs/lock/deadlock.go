package lock

// The waits-for graph between processes, for EDEADLK. Only POSIX requests
// waiting on POSIX locks are edges: OFD locks belong to descriptions,
// which may be shared by any number of processes, so a cycle through them
// says nothing certain (Linux: fs/locks.c, posix_locks_deadlock(), which
// skips them too).

func (t *Table) addEdgesLocked(w *waiter) {
	if w.proc == nil || len(w.blockers) == 0 {
		return
	}
	if t.waitsFor == nil {
		t.waitsFor = make(map[any]map[any]int)
	}
	out := t.waitsFor[w.proc]
	if out == nil {
		out = make(map[any]int)
		t.waitsFor[w.proc] = out
	}
	for _, b := range w.blockers {
		out[b]++
	}
}

func (t *Table) dropEdgesLocked(w *waiter) {
	if w.proc == nil || len(w.blockers) == 0 {
		return
	}
	out := t.waitsFor[w.proc]
	for _, b := range w.blockers {
		if out[b]--; out[b] <= 0 {
			delete(out, b)
		}
	}
	if len(out) == 0 {
		delete(t.waitsFor, w.proc)
	}
	w.blockers = nil
}

// deadlockLocked reports whether proc waiting for the processes in
// blockers would close a cycle: some blocker (transitively) waits for
// proc. Every edge is a request that really sleeps, so any cycle found is
// a real deadlock; the walk follows all of them, where Linux follows one
// per process and gives up after a few steps.
func (t *Table) deadlockLocked(proc any, blockers []any) bool {
	seen := make(map[any]bool)
	stack := append([]any(nil), blockers...)
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if p == proc {
			return true
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		for next := range t.waitsFor[p] {
			stack = append(stack, next)
		}
	}
	return false
}
