package strace

import (
	"strings"
	"time"
)

// Formatters of calls whose shape depends on their arguments. Each
// mirrors the strace decoder named in its comment.

// fmtMmapFlags prints mmap's flags: the mapping type, the flags, then the
// huge page size. Linux: strace's print_mmap_flags().
func fmtMmapFlags(v uint64) string {
	s := mmapTypes.value(v&0xf, "MAP_???")
	v &^= 0xf
	const hugeMask = 0x3f << 26
	huge := v & hugeMask
	v &^= hugeMask
	if v != 0 {
		s += "|" + mmapFlags.flags(v, "")
	}
	if huge != 0 {
		s += "|" + udec(huge>>26) + "<<MAP_HUGE_SHIFT"
	}
	return s
}

func argMmapFlags(c *call, i int) string { return fmtMmapFlags(uint64(c.args[i])) }

// argMremapNew prints mremap's new address, which only exists with
// MREMAP_MAYMOVE|MREMAP_FIXED.
func argMremapNew(c *call, i int) string {
	if c.args[3]&3 != 3 {
		return ""
	}
	return ptr(c.args[i])
}

// argMincoreVec prints the page residency vector mincore fills: [1, 0].
func argMincoreVec(c *call, i int) string {
	addr := c.args[i]
	if c.failed() || addr == 0 {
		return ptr(addr)
	}
	pages := uint64(c.args[1]) / pageSize
	if uint64(c.args[1])%pageSize != 0 {
		pages++
	}
	n := pages
	if n > maxStrLen {
		n = maxStrLen
	}
	b := make([]byte, n)
	if !c.read(addr, b) {
		return ptr(addr)
	}
	parts := make([]string, 0, n+1)
	for _, v := range b {
		parts = append(parts, udec(uint64(v&1)))
	}
	if pages > n {
		parts = append(parts, "...")
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// fmtClone prints clone(2) with strace's named arguments. x86-64 order:
// flags, stack, parent_tid, child_tid, tls. Linux: strace's SYS_FUNC(clone).
func fmtClone(c *call) []string {
	flags := uint64(c.args[0]) &^ 0xff
	sig := uint64(c.args[0]) & 0xff
	f := signalString(sig)
	if flags != 0 {
		f = cloneFlags.flags(flags, "CLONE_???")
		if sig != 0 {
			f += "|" + signalString(sig)
		}
	}
	parts := []string{"child_stack=" + ptr(c.args[1]), "flags=" + f}
	if flags&(cloneParentSetid|clonePidfd) != 0 {
		addr := c.args[2]
		v := ptr(addr)
		if !c.failed() {
			v = c.intPtr(addr)
		}
		parts = append(parts, "parent_tid="+v)
	}
	if flags&cloneSettls != 0 {
		parts = append(parts, "tls="+ptr(c.args[4]))
	}
	if flags&(cloneChildSetid|cloneChildClear) != 0 {
		parts = append(parts, "child_tidptr="+ptr(c.args[3]))
	}
	return parts
}

// fmtClone3 prints clone3(2)'s struct clone_args and, after the call,
// the values the kernel stored. Linux: strace's SYS_FUNC(clone3).
func fmtClone3(c *call) []string {
	addr, size := c.args[0], uint64(c.args[1])
	sizeStr := udec(size)
	fetch := size
	if fetch > 88 {
		fetch = 88
	}
	if fetch < 64 { // up to and including tls
		return []string{ptr(addr), sizeStr}
	}
	b, alt := c.readStruct(addr, int(fetch))
	if b == nil {
		return []string{alt, sizeStr}
	}
	u := func(off int) uint64 {
		if off+8 > len(b) {
			return 0
		}
		return le64(b, off)
	}
	flags := u(0)
	f := []string{"flags=" + clone3AllFlags.flags(flags, "CLONE_???")}
	if flags&clonePidfd != 0 {
		f = append(f, "pidfd="+ptr(uintptr(u(8))))
	}
	if flags&(cloneChildSetid|cloneChildClear) != 0 {
		f = append(f, "child_tid="+ptr(uintptr(u(16))))
	}
	if flags&cloneParentSetid != 0 {
		f = append(f, "parent_tid="+ptr(uintptr(u(24))))
	}
	if sig := u(32); sig < 1<<31-1 {
		f = append(f, "exit_signal="+signalString(sig))
	} else {
		f = append(f, "exit_signal="+udec(sig))
	}
	f = append(f, "stack="+ptr(uintptr(u(40))), "stack_size="+hex(u(48)))
	if flags&cloneSettls != 0 {
		f = append(f, "tls="+ptr(uintptr(u(56))))
	}
	if setTid, n := u(64), u(72); setTid != 0 || n != 0 {
		if setTid == 0 || n == 0 || n > 32 {
			f = append(f, "set_tid="+ptr(uintptr(setTid)))
		} else {
			f = append(f, "set_tid="+c.intArray(uintptr(setTid), n))
		}
		f = append(f, "set_tid_size="+udec(n))
	}
	if fetch > 80 && (u(80) != 0 || flags&cloneIntoCgroup != 0) {
		f = append(f, "cgroup="+udec(u(80)))
	}
	s := "{" + strings.Join(f, ", ") + "}"
	if !c.failed() && flags&(clonePidfd|cloneParentSetid) != 0 {
		var changed []string
		if flags&clonePidfd != 0 {
			changed = append(changed, "pidfd="+c.intPtr(uintptr(u(8))))
		}
		if flags&cloneParentSetid != 0 {
			changed = append(changed, "parent_tid="+c.intPtr(uintptr(u(24))))
		}
		s += " => {" + strings.Join(changed, ", ") + "}"
	}
	return []string{s, sizeStr}
}

// clone3AllFlags are the flags clone3 takes, clone's first.
var clone3AllFlags = append(append(xlat{}, cloneFlags...), clone3Flags...)

// intArray prints n ints at addr: [1, 2].
func (c *call) intArray(addr uintptr, n uint64) string {
	b, alt := c.readStruct(addr, int(n*4))
	if b == nil {
		return alt
	}
	parts := make([]string, n)
	for i := range parts {
		parts[i] = dec(int64(int32(le32(b, 4*i))))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

var futexCmds = [...]string{
	"WAIT", "WAKE", "FD", "REQUEUE", "CMP_REQUEUE", "WAKE_OP", "LOCK_PI",
	"UNLOCK_PI", "TRYLOCK_PI", "WAIT_BITSET", "WAKE_BITSET", "WAIT_REQUEUE_PI",
	"CMP_REQUEUE_PI", "LOCK_PI2",
}

const (
	futexWait = iota
	futexWake
	futexFD
	futexRequeue
	futexCmpRequeue
	futexWakeOp
	futexLockPI
	futexUnlockPI
	futexTrylockPI
	futexWaitBitset
	futexWakeBitset
	futexWaitRequeuePI
	futexCmpRequeuePI
	futexLockPI2
)

// futexOpString prints a futex operation: FUTEX_WAIT_BITSET_PRIVATE|
// FUTEX_CLOCK_REALTIME.
func futexOpString(op uint32) string {
	cmd := op &^ (128 | 256)
	if cmd >= uint32(len(futexCmds)) {
		return hex(uint64(op)) + " /* FUTEX_??? */"
	}
	s := "FUTEX_" + futexCmds[cmd]
	if op&128 != 0 {
		s += "_PRIVATE"
	}
	if op&256 != 0 {
		s += "|FUTEX_CLOCK_REALTIME"
	}
	return s
}

var futexWakeOps = xlat{{0, "FUTEX_OP_SET"}, {1, "FUTEX_OP_ADD"}, {2, "FUTEX_OP_OR"}, {3, "FUTEX_OP_ANDN"}, {4, "FUTEX_OP_XOR"}}

var futexWakeCmps = xlat{
	{0, "FUTEX_OP_CMP_EQ"}, {1, "FUTEX_OP_CMP_NE"}, {2, "FUTEX_OP_CMP_LT"},
	{3, "FUTEX_OP_CMP_LE"}, {4, "FUTEX_OP_CMP_GT"}, {5, "FUTEX_OP_CMP_GE"},
}

// futexWakeOpString decodes FUTEX_WAKE_OP's encoded operation.
func futexWakeOpString(v uint32) string {
	var s string
	if v>>28&8 != 0 {
		s = "FUTEX_OP_OPARG_SHIFT<<28|"
	}
	op := uint64(v >> 28 & 7)
	if n := futexWakeOps.lookup(op); n != "" {
		s += n + "<<28"
	} else {
		s += hex(op) + "<<28 /* FUTEX_OP_??? */"
	}
	s += "|" + hex(uint64(v>>12&0xfff)) + "<<12|"
	cmp := uint64(v >> 24 & 0xf)
	if n := futexWakeCmps.lookup(cmp); n != "" {
		s += n + "<<24"
	} else {
		s += hex(cmp) + "<<24 /* FUTEX_OP_CMP_??? */"
	}
	return s + "|" + hex(uint64(v&0xfff))
}

// fmtFutex prints futex(2) with the arguments its operation uses.
// Linux: strace's do_futex().
func fmtFutex(c *call) []string {
	op := uint32(c.args[1])
	val := udec(uint64(uint32(c.args[2])))
	val2 := udec(uint64(uint32(c.args[3])))
	val3 := uint32(c.args[5])
	timeout := c.timespec(c.args[3])
	uaddr2 := ptr(c.args[4])
	bitset := func() string {
		if val3 == 0xffffffff {
			return "FUTEX_BITSET_MATCH_ANY"
		}
		return hex(uint64(val3))
	}
	parts := []string{ptr(c.args[0]), futexOpString(op)}
	switch op & 127 {
	case futexWait:
		parts = append(parts, val, timeout)
	case futexLockPI, futexLockPI2:
		parts = append(parts, timeout)
	case futexWaitBitset:
		parts = append(parts, val, timeout, bitset())
	case futexWakeBitset:
		parts = append(parts, val, bitset())
	case futexRequeue:
		parts = append(parts, val, val2, uaddr2)
	case futexCmpRequeue, futexCmpRequeuePI:
		parts = append(parts, val, val2, uaddr2, udec(uint64(val3)))
	case futexWakeOp:
		parts = append(parts, val, val2, uaddr2, futexWakeOpString(val3))
	case futexWaitRequeuePI:
		parts = append(parts, val, timeout, uaddr2)
	case futexFD, futexWake:
		parts = append(parts, val)
	case futexUnlockPI, futexTrylockPI:
	default:
		parts = append(parts, val, ptr(c.args[3]), uaddr2, hex(uint64(val3)))
	}
	return parts
}

// fcntl commands by number, for the formatter below.
const (
	fDupfd        = 0
	fGetfd        = 1
	fSetfd        = 2
	fGetfl        = 3
	fSetfl        = 4
	fGetlk        = 5
	fSetlk        = 6
	fSetlkw       = 7
	fSetown       = 8
	fGetown       = 9
	fSetsig       = 10
	fGetsig       = 11
	fSetownEx     = 15
	fGetownEx     = 16
	fOfdGetlk     = 36
	fOfdSetlk     = 37
	fOfdSetlkw    = 38
	fSetlease     = 1024
	fGetlease     = 1025
	fNotify       = 1026
	fDupfdQuery   = 1027
	fDupfdCloexec = 1030
	fSetpipeSz    = 1031
	fGetpipeSz    = 1032
	fAddSeals     = 1033
	fGetSeals     = 1034
)

// fmtFcntl prints fcntl(2): the third argument's kind depends on the
// command, and some commands have none. Linux: strace's print_fcntl().
func fmtFcntl(c *call) []string {
	cmd := uint32(c.args[1])
	arg := c.args[2]
	parts := []string{argFd(c, 0), fcntlCmds.value(uint64(cmd), "F_???")}
	var a string
	switch cmd {
	case fSetfd:
		a = fdFlags.flags(uint64(arg), "FD_???")
	case fSetown, fSetpipeSz, fDupfd, fDupfdCloexec, fDupfdQuery:
		a = dec(int64(int32(arg)))
	case fSetfl:
		a = openFlagsString(uint64(uint32(arg)))
	case fSetlk, fSetlkw, fOfdSetlk, fOfdSetlkw:
		a = c.flock(arg, false)
	case fGetlk, fOfdGetlk:
		if c.failed() {
			a = ptr(arg)
		} else {
			a = c.flock(arg, true)
		}
	case fSetownEx:
		a = c.fOwnerEx(arg)
	case fGetownEx:
		if c.failed() {
			a = ptr(arg)
		} else {
			a = c.fOwnerEx(arg)
		}
	case fNotify:
		a = notifyFlags.flags(uint64(arg), "DN_???")
	case fSetlease:
		a = leaseTypes.value(uint64(arg), "F_???")
	case fAddSeals:
		a = sealFlags.flags(uint64(arg), "F_SEAL_???")
	case fSetsig:
		a = signalString(uint64(arg))
	case fGetown, fGetpipeSz, fGetfd, fGetfl, fGetlease, fGetSeals, fGetsig:
		return parts
	default:
		a = hex(uint64(arg))
	}
	return append(parts, a)
}

// fcntlResult annotates what the F_GET* commands return.
func fcntlResult(c *call) string {
	r := uint64(c.ret)
	switch uint32(c.args[1]) {
	case fGetfd:
		if r != 0 {
			return hex(r) + " (flags " + fdFlags.flags(r, "FD_???") + ")"
		}
	case fGetfl:
		return hex(r) + " (flags " + openFlagsString(r) + ")"
	case fGetlease:
		if n := leaseTypes.lookup(r); n != "" {
			return hex(r) + " (" + n + ")"
		}
		return hex(r)
	case fGetSeals:
		if r != 0 {
			return hex(r) + " (seals " + sealFlags.flags(r, "F_SEAL_???") + ")"
		}
	case fGetsig:
		if r != 0 {
			return dec(int64(r)) + " (" + signalString(r) + ")"
		}
	}
	return dec(int64(r))
}

// flock prints struct flock (x86-64: type, whence, start, len, pid).
func (c *call) flock(addr uintptr, withPid bool) string {
	b, alt := c.readStruct(addr, 32)
	if b == nil {
		return alt
	}
	s := "{l_type=" + lockTypes.value(uint64(le16(b, 0)), "F_???") +
		", l_whence=" + whences.value(uint64(le16(b, 2)), "SEEK_???") +
		", l_start=" + dec(int64(le64(b, 8))) +
		", l_len=" + dec(int64(le64(b, 16)))
	if withPid {
		s += ", l_pid=" + dec(int64(int32(le32(b, 24))))
	}
	return s + "}"
}

var fOwnerTypes = xlat{{0, "F_OWNER_TID"}, {1, "F_OWNER_PID"}, {2, "F_OWNER_PGRP"}}

func (c *call) fOwnerEx(addr uintptr) string {
	b, alt := c.readStruct(addr, 8)
	if b == nil {
		return alt
	}
	return "{type=" + fOwnerTypes.value(uint64(le32(b, 0)), "F_OWNER_???") +
		", pid=" + dec(int64(int32(le32(b, 4)))) + "}"
}

// waitStatus prints a wait status as strace does:
// [{WIFEXITED(s) && WEXITSTATUS(s) == 0}]. Linux: strace's printstatus().
func waitStatus(st uint32) string {
	var s string
	switch {
	case st&0xff == 0x7f: // WIFSTOPPED
		sig := st >> 8 & 0xff
		s = "{WIFSTOPPED(s) && WSTOPSIG(s) == " + signalString(uint64(sig&0x7f))
		if sig&0x80 != 0 {
			s += " | 0x80"
		}
		s += "}"
		st &^= sig<<8 | 0x7f
	case st&0x7f != 0 && st&0x7f != 0x7f: // WIFSIGNALED
		sig := st & 0x7f
		s = "{WIFSIGNALED(s) && WTERMSIG(s) == " + signalString(uint64(sig))
		if st&0x80 != 0 {
			s += " && WCOREDUMP(s)"
		}
		s += "}"
		st &^= sig | 0x80
	case st&0x7f == 0: // WIFEXITED
		code := st >> 8 & 0xff
		s = "{WIFEXITED(s) && WEXITSTATUS(s) == " + udec(uint64(code)) + "}"
		st &^= code << 8
	case st == 0xffff: // WIFCONTINUED
		s = "{WIFCONTINUED(s)}"
		st = 0
	default:
		return "[" + hex(uint64(st)) + "]"
	}
	if st != 0 {
		if ev := st >> 16; ev != 0 {
			s += " | " + ptraceEvents.value(uint64(ev), "PTRACE_EVENT_???") + " << 16"
			st &= 0xffff
		}
		if st != 0 {
			s += " | " + hex(uint64(st))
		}
	}
	return "[" + s + "]"
}

var ptraceEvents = xlat{
	{1, "PTRACE_EVENT_FORK"}, {2, "PTRACE_EVENT_VFORK"}, {3, "PTRACE_EVENT_CLONE"},
	{4, "PTRACE_EVENT_EXEC"}, {5, "PTRACE_EVENT_VFORK_DONE"}, {6, "PTRACE_EVENT_EXIT"},
	{7, "PTRACE_EVENT_SECCOMP"}, {0x80, "PTRACE_EVENT_STOP"},
}

// argWaitStatus prints wait4's status pointer; only a reaped child
// filled it.
func argWaitStatus(c *call, i int) string {
	addr := c.args[i]
	if c.failed() || c.ret == 0 || addr == 0 {
		return ptr(addr)
	}
	v, ok := c.readU32(addr)
	if !ok {
		return ptr(addr)
	}
	return waitStatus(v)
}

// argWaitRusage prints wait4's rusage, filled only when a child was
// reaped.
func argWaitRusage(c *call, i int) string {
	if c.failed() || c.ret == 0 {
		return ptr(c.args[i])
	}
	return c.rusage(c.args[i])
}

// argArchPrctlAddr prints arch_prctl's second argument, whose meaning
// depends on the code. Linux: strace's SYS_FUNC(arch_prctl).
func argArchPrctlAddr(c *call, i int) string {
	switch uint32(c.args[0]) {
	case 0x1003, 0x1004: // ARCH_GET_FS, ARCH_GET_GS
		if c.failed() {
			return ptr(c.args[i])
		}
		return c.ptrPtr(c.args[i])
	case 0x1011: // ARCH_GET_CPUID takes nothing
		return ""
	case 0x1012: // ARCH_SET_CPUID
		return argInt(c, i)
	}
	return argHex(c, i)
}

// dateString renders a time(2) value as strace annotates it, in UTC so
// that traces do not depend on the host's zone.
func dateString(sec int64) string {
	return time.Unix(sec, 0).UTC().Format("2006-01-02T15:04:05-0700")
}

func argTimeOut(c *call, i int) string {
	addr := c.args[i]
	if addr == 0 || c.failed() {
		return ptr(addr)
	}
	v, ok := c.readU64(addr)
	if !ok {
		return ptr(addr)
	}
	return "[" + dec(int64(v)) + " /* " + dateString(int64(v)) + " */]"
}

func retTime(c *call) string {
	return dec(int64(c.ret)) + " (" + dateString(int64(c.ret)) + ")"
}

// argSleepRem prints the remaining time of nanosleep and clock_nanosleep,
// which the kernel only writes when the sleep was interrupted.
func argSleepRem(c *call, i int) string {
	if c.interrupted() {
		return c.timespec(c.args[i])
	}
	return ptr(c.args[i])
}

// argClock prints a clock id.
var argClock = argValue(clockNames, "CLOCK_???")

// argStatxFlags prints statx's flags: the sync type, then AT_* flags.
func argStatxFlags(c *call, i int) string {
	v := uint64(uint32(c.args[i]))
	s := statxSyncTypes.value(v&0x6000, "")
	if v &^= 0x6000; v != 0 {
		s += "|" + atFlags.flags(v, "")
	}
	return s
}

// argPselectSigmask prints pselect6's sixth argument, a pointer to a
// {sigset pointer, size} pair.
func argPselectSigmask(c *call, i int) string {
	b, alt := c.readStruct(c.args[i], 16)
	if b == nil {
		return alt
	}
	return "{sigmask=" + c.sigset(uintptr(le64(b, 0)), le64(b, 8)) +
		", sigsetsize=" + udec(le64(b, 8)) + "}"
}

// argDirents prints getdents64's buffer as strace does without -v: the
// pointer and the number of entries read.
func argDirents(c *call, i int) string {
	addr := c.args[i]
	if c.failed() || addr == 0 {
		return ptr(addr)
	}
	n, ok := c.direntCount(addr, uint64(c.ret))
	if !ok {
		return ptr(addr)
	}
	return ptr(addr) + " /* " + udec(uint64(n)) + " entries */"
}

// Mount flags that make the kernel ignore the type (and data) arguments.
const (
	msRemount    = 1 << 5
	msIgnoreData = 1<<12 | 1<<13 | 1<<20 | 1<<18 | 1<<19 | 1<<17 // BIND MOVE SHARED PRIVATE SLAVE UNBINDABLE
	msMgcVal     = 0xc0ed0000
	msMgcMask    = 0xffff0000
)

// fmtMount prints mount(2). Linux: strace's SYS_FUNC(mount).
func fmtMount(c *call) []string {
	flags := uint64(c.args[3])
	oldMagic := flags&msMgcMask == msMgcVal
	if oldMagic {
		flags &^= msMgcMask
	}
	ignoreType := flags&(msRemount|msIgnoreData) != 0
	ignoreData := flags&msRemount == 0 && flags&msIgnoreData != 0
	fstype, data := c.cstring(c.args[2]), c.cstring(c.args[4])
	if ignoreType {
		fstype = ptr(c.args[2])
	}
	if ignoreData {
		data = ptr(c.args[4])
	}
	var f string
	if oldMagic {
		f = "MS_MGC_VAL"
		if flags != 0 {
			f += "|" + mountFlags.flags(flags, "MS_???")
		}
	} else {
		f = mountFlags.flags(flags, "MS_???")
	}
	return []string{c.path(c.args[0]), c.path(c.args[1]), fstype, f, data}
}

// argRebootArg prints reboot's fourth argument, a command string that
// only LINUX_REBOOT_CMD_RESTART2 has.
func argRebootArg(c *call, i int) string {
	if uint32(c.args[2]) != rebootRestart2 {
		return ""
	}
	return argStr(c, i)
}

// argGetrandomBuf prints the random bytes read, in hex as strace does.
func argGetrandomBuf(c *call, i int) string {
	if c.failed() {
		return ptr(c.args[i])
	}
	return c.buffer(c.args[i], uint64(c.ret), true)
}
