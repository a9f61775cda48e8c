package futex

import "encoding/binary"

// Robust lists. Linux: include/uapi/linux/futex.h, Documentation/locking/
// robust-futex-ABI.rst.
const (
	// RobustListLimit (ROBUST_LIST_LIMIT) bounds the walk of a list, so a
	// cyclic or endless one cannot hold up the exit.
	RobustListLimit = 2048
	// RobustListHeadSize is sizeof(struct robust_list_head) on x86-64,
	// the only length set_robust_list(2) accepts.
	RobustListHeadSize = 24

	// robustCASRetries bounds the retries of the OwnerDied update when
	// the word keeps changing under it (Linux retries without bound).
	robustCASRetries = 1000
)

// ExitRobustList walks the robust list of an exiting (or exec'ing) thread
// tid, registered by set_robust_list(2) at head in mem, as Linux does: for
// each lock the thread still owns it sets OwnerDied in the futex word,
// clears the TID (keeping Waiters), and wakes one waiter with a shared
// key if Waiters was set (PI locks are woken by ExitPI, which the kernel
// calls next). The pending lock (list_op_pending) is handled last, and
// woken even with TID 0 if it is not PI: its owner may have died between
// unlocking and waking.
//
// The list is the application's and may be hostile: the walk stops after
// RobustListLimit entries, at the first unreadable entry or futex word,
// and at a misaligned futex; it never fails. Only the 64-bit layout is
// supported (no compat_robust_list). Linux: kernel/futex/core.c,
// exit_robust_list() and handle_futex_death().
func (m *Manager) ExitRobustList(mem Memory, head uintptr, tid uint32) {
	if head == 0 {
		return
	}
	entry, pi, ok := fetchRobustEntry(mem, head)
	if !ok {
		return
	}
	offset, ok := readUint64(mem, head+8)
	if !ok {
		return
	}
	pending, pendingPI, ok := fetchRobustEntry(mem, head+16)
	if !ok {
		return
	}
	for limit := RobustListLimit; entry != head; {
		// Read the next pointer before the lock may be handed over.
		next, nextPI, ok := fetchRobustEntry(mem, entry)
		// A pending lock may already be on the list: handle it once.
		if entry != pending && !m.handleFutexDeath(mem, entry+uintptr(offset), tid, pi, false) {
			return
		}
		if !ok {
			return
		}
		entry, pi = next, nextPI
		if limit--; limit == 0 {
			break
		}
	}
	if pending != 0 {
		m.handleFutexDeath(mem, pending+uintptr(offset), tid, pendingPI, true)
	}
}

// fetchRobustEntry reads a list pointer, whose bit 0 marks a PI futex.
// Linux: kernel/futex/core.c, fetch_robust_entry().
func fetchRobustEntry(mem Memory, addr uintptr) (entry uintptr, pi, ok bool) {
	v, ok := readUint64(mem, addr)
	return uintptr(v &^ 1), v&1 != 0, ok
}

func readUint64(mem Memory, addr uintptr) (uint64, bool) {
	var b [8]byte
	n, err := mem.CopyIn(addr, b[:])
	if err != nil || n != len(b) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[:]), true
}

// handleFutexDeath releases the futex at addr if the dead thread tid owns
// it. It returns false when the walk must stop.
// Linux: kernel/futex/core.c, handle_futex_death().
func (m *Manager) handleFutexDeath(mem Memory, addr uintptr, tid uint32, pi, pendingOp bool) bool {
	if addr%4 != 0 {
		return false
	}
	for range robustCASRetries {
		uval, err := mem.LoadUint32(addr)
		if err != nil {
			return false
		}
		owner := uval & TIDMask
		if pendingOp && !pi && owner == 0 {
			// Unlocked in user space but maybe not yet woken: wake
			// without touching the word.
			m.wakeShared(mem, addr)
			return true
		}
		if owner != tid {
			return true
		}
		prev, err := mem.CompareAndSwapUint32(addr, uval, uval&Waiters|OwnerDied)
		if err != nil {
			return false
		}
		if prev != uval {
			continue
		}
		if !pi && uval&Waiters != 0 {
			m.wakeShared(mem, addr)
		}
		return true
	}
	return false
}

// wakeShared wakes one waiter of the futex at addr with a shared key, as
// Linux's robust-futex wakes do (which is why glibc uses shared futex
// operations for robust mutexes).
func (m *Manager) wakeShared(mem Memory, addr uintptr) {
	if key, err := KeyOf(mem, addr, false); err == nil {
		m.Wake(key, 1, BitsetMatchAny)
	}
}
