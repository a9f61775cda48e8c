package systrap

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform/internal/stubproc"
)

// The stub is the host process an address space lives in: a tiny static
// ELF built here, byte by byte (no cgo, no assembler, no file on disk).
// Its source is testdata/stub.S; TestStubCodeMatchesSource checks the
// bytes below against it where an assembler is installed.
//
// The first stub, the zygote, is started by Platform's constructor. At
// its entry it:
//
//  1. unmaps everything the host's exec put in its address space except
//     itself, leaving the range below stubBase to the application;
//  2. sets no_new_privs and drops every capability it may have been
//     started with (the zygote starts before the sandbox process drops
//     its own);
//  3. points the fault signals and the interrupt signal at its handler
//     (on the alternate stack, every signal blocked while it runs) and
//     ignores every other signal, so that signals from the host are
//     dropped or, for the handled ones, recognised as not the
//     application's;
//  4. blocks every signal but SIGTRAP in its own thread, which only ever
//     runs the platform's requests;
//  5. installs the base filter: system calls from the stub's page are
//     allowed, any other x86-64 call traps, any other ABI kills;
//  6. executes int3 so that its tracer knows it is ready.
//
// Its tracer then drives it like a ptrace stub: rip at syscallSite with
// the registers of a call, and the int3 after it hands control back.
// processCloneSite makes a new stub process (the child waits in pause()
// for its own tracer); threadCloneSite makes a thread that will run
// application code: the child sets its alternate stack to its slot,
// unblocks the signals, installs the thread filter (which only lets the
// handler's own calls through) and traps once, into the handler, which
// is how the kernel first gets hold of it.
const (
	stubBase     = stubproc.Base
	stubSize     = stubproc.Size
	codeOffset   = stubproc.CodeOffset
	stubMemoryFD = stubproc.MemoryFD
	stubSlotFD   = 4 // the platform's slot file inside the stub
)

// Offsets in the stub's code (see testdata/stub.S).
const (
	offSyscallSite      = 0x116
	offProcessCloneSite = 0x11b
	offThreadCloneSite  = 0x12e
	offInitTrap         = 0x191
	offHandler          = 0x1a0
	offWakeSite         = 0x1e5
	offWaitSite         = 0x220
	offSigreturnSite    = 0x24e
	offExitSite         = 0x259
	offRestorer         = 0x25b
	offHandled          = 0x260
	offAllMask          = 0x268
	offZeroMask         = 0x270
	offAct              = 0x278
	offIgnAct           = 0x298
	offBaseProg         = 0x2b8
	offThreadProg       = 0x2c8
	offCapHdr           = 0x2d8
	offCapData          = 0x2e0
	offFilters          = 0x2f8

	syscallSite      = stubBase + codeOffset + offSyscallSite
	processCloneSite = stubBase + codeOffset + offProcessCloneSite
	threadCloneSite  = stubBase + codeOffset + offThreadCloneSite
	// initTrapRIP is rip after the trap that starts a new thread.
	initTrapRIP = stubBase + codeOffset + offInitTrap + 2
)

// Offsets in a slot's state page, shared by the handler and the kernel.
const (
	stState    = 0  // uint32: stateDead, stateEvent, stateRunning or stateExit
	stKSleep   = 4  // uint32: the kernel side is (about to be) asleep
	stSSleep   = 8  // uint32: the stub thread is (about to be) asleep
	stSpin     = 12 // uint32: how long the handler spins before sleeping
	stInfo     = 16 // uint64: the frame's siginfo, a stub address
	stUcontext = 24 // uint64: the frame's ucontext, a stub address
	stFSBase   = 32 // uint64: fs_base at the event, and to resume with
	stGSBase   = 40 // uint64: gs_base, the same
	stAltStack = 48 // stack_t the thread's sigaltstack is set from
)

// A slot's state word. stateDead is what the host writes at the thread's
// exit (CLONE_CHILD_CLEARTID), waking the futex.
const (
	stateDead    = 0
	stateEvent   = 1 // the thread is in the handler, the frame is the kernel's
	stateRunning = 2 // the thread runs (or is about to run) application code
	stateExit    = 3 // the thread must exit
)

// interruptSignal is the signal Interrupt sends to a stub thread.
const interruptSignal = unix.SIGUSR2

// handledSignals reach the handler; the rest are ignored in the stub.
var handledSignals = []unix.Signal{
	unix.SIGSYS, unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL, unix.SIGTRAP, interruptSignal,
}

// stubCode is the stub's machine code (x86-64, AT&T syntax shown), loaded
// at stubBase+codeOffset; offsets in the comments are relative to it.
var stubCode = []byte{
	// 000: entry
	0xb8, 0x0b, 0x00, 0x00, 0x00, // mov $0xb,%eax
	0x31, 0xff, // xor %edi,%edi
	0x48, 0xbe, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x7f, 0x00, 0x00, // movabs $0x7ff000000000,%rsi
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax,%rax
	0x0f, 0x85, 0x41, 0x02, 0x00, 0x00, // jne 25d
	0xb8, 0x0b, 0x00, 0x00, 0x00, // mov $0xb,%eax
	0x48, 0xbf, 0x00, 0x10, 0x00, 0x00, 0xf0, 0x7f, 0x00, 0x00, // movabs $0x7ff000001000,%rdi
	0x48, 0xbe, 0x00, 0xe0, 0xff, 0xff, 0x0f, 0x00, 0x00, 0x00, // movabs $0xfffffe000,%rsi
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax,%rax
	0x0f, 0x85, 0x1d, 0x02, 0x00, 0x00, // jne 25d
	0xb8, 0x9d, 0x00, 0x00, 0x00, // mov $0x9d,%eax
	0xbf, 0x26, 0x00, 0x00, 0x00, // mov $0x26,%edi
	0xbe, 0x01, 0x00, 0x00, 0x00, // mov $0x1,%esi
	0x31, 0xd2, // xor %edx,%edx
	0x45, 0x31, 0xd2, // xor %r10d,%r10d
	0x45, 0x31, 0xc0, // xor %r8d,%r8d
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax,%rax
	0x0f, 0x85, 0xfb, 0x01, 0x00, 0x00, // jne 25d
	0xb8, 0x7e, 0x00, 0x00, 0x00, // mov $0x7e,%eax
	0x48, 0x8d, 0x3d, 0x6a, 0x02, 0x00, 0x00, // lea 0x26a(%rip),%rdi # 2d8
	0x48, 0x8d, 0x35, 0x6b, 0x02, 0x00, 0x00, // lea 0x26b(%rip),%rsi # 2e0
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax,%rax
	0x0f, 0x85, 0xdd, 0x01, 0x00, 0x00, // jne 25d
	0x41, 0xbc, 0x01, 0x00, 0x00, 0x00, // mov $0x1,%r12d
	// 086: sigloop
	0x41, 0x83, 0xfc, 0x09, // cmp $0x9,%r12d
	0x74, 0x41, // je cd
	0x41, 0x83, 0xfc, 0x13, // cmp $0x13,%r12d
	0x74, 0x3b, // je cd
	0x48, 0x8d, 0x35, 0xff, 0x01, 0x00, 0x00, // lea 0x1ff(%rip),%rsi # 298
	0x48, 0x8b, 0x1d, 0xc0, 0x01, 0x00, 0x00, // mov 0x1c0(%rip),%rbx # 260
	0x41, 0x8d, 0x4c, 0x24, 0xff, // lea -0x1(%r12),%ecx
	0x48, 0x0f, 0xa3, 0xcb, // bt %rcx,%rbx
	0x73, 0x07, // jae b2
	0x48, 0x8d, 0x35, 0xc6, 0x01, 0x00, 0x00, // lea 0x1c6(%rip),%rsi # 278
	0xb8, 0x0d, 0x00, 0x00, 0x00, // mov $0xd,%eax
	0x44, 0x89, 0xe7, // mov %r12d,%edi
	0x31, 0xd2, // xor %edx,%edx
	0x41, 0xba, 0x08, 0x00, 0x00, 0x00, // mov $0x8,%r10d
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax,%rax
	0x0f, 0x85, 0x90, 0x01, 0x00, 0x00, // jne 25d
	// 0cd: signext
	0x41, 0xff, 0xc4, // inc %r12d
	0x41, 0x83, 0xfc, 0x41, // cmp $0x41,%r12d
	0x75, 0xb0, // jne 86
	0xb8, 0x0e, 0x00, 0x00, 0x00, // mov $0xe,%eax
	0x31, 0xff, // xor %edi,%edi
	0x48, 0x8d, 0x35, 0x84, 0x01, 0x00, 0x00, // lea 0x184(%rip),%rsi # 268
	0x31, 0xd2, // xor %edx,%edx
	0x41, 0xba, 0x08, 0x00, 0x00, 0x00, // mov $0x8,%r10d
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax,%rax
	0x0f, 0x85, 0x66, 0x01, 0x00, 0x00, // jne 25d
	0xb8, 0x3d, 0x01, 0x00, 0x00, // mov $0x13d,%eax
	0xbf, 0x01, 0x00, 0x00, 0x00, // mov $0x1,%edi
	0x31, 0xf6, // xor %esi,%esi
	0x48, 0x8d, 0x15, 0xae, 0x01, 0x00, 0x00, // lea 0x1ae(%rip),%rdx # 2b8
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax,%rax
	0x0f, 0x85, 0x48, 0x01, 0x00, 0x00, // jne 25d
	// 115: ready
	0xcc, // int3
	// 116: syscallSite
	0x0f, 0x05, // syscall
	0xcc,       // int3
	0xeb, 0xfb, // jmp 116
	// 11b: processCloneSite
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax,%rax
	0x74, 0x03, // je 125
	0xcc,       // int3
	0xeb, 0xf1, // jmp 116
	// 125: pauseLoop
	0xb8, 0x22, 0x00, 0x00, 0x00, // mov $0x22,%eax
	0x0f, 0x05, // syscall
	0xeb, 0xf7, // jmp 125
	// 12e: threadCloneSite
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax,%rax
	0x74, 0x03, // je 138
	0xcc,       // int3
	0xeb, 0xde, // jmp 116
	// 138: threadInit
	0xb8, 0x83, 0x00, 0x00, 0x00, // mov $0x83,%eax
	0x49, 0x8d, 0x7c, 0x24, 0x30, // lea 0x30(%r12),%rdi
	0x31, 0xf6, // xor %esi,%esi
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax,%rax
	0x0f, 0x85, 0x0e, 0x01, 0x00, 0x00, // jne 25d
	0xb8, 0x0e, 0x00, 0x00, 0x00, // mov $0xe,%eax
	0xbf, 0x02, 0x00, 0x00, 0x00, // mov $0x2,%edi
	0x48, 0x8d, 0x35, 0x10, 0x01, 0x00, 0x00, // lea 0x110(%rip),%rsi # 270
	0x31, 0xd2, // xor %edx,%edx
	0x41, 0xba, 0x08, 0x00, 0x00, 0x00, // mov $0x8,%r10d
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax,%rax
	0x0f, 0x85, 0xea, 0x00, 0x00, 0x00, // jne 25d
	0xb8, 0x3d, 0x01, 0x00, 0x00, // mov $0x13d,%eax
	0xbf, 0x01, 0x00, 0x00, 0x00, // mov $0x1,%edi
	0x31, 0xf6, // xor %esi,%esi
	0x48, 0x8d, 0x15, 0x42, 0x01, 0x00, 0x00, // lea 0x142(%rip),%rdx # 2c8
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax,%rax
	0x0f, 0x85, 0xcc, 0x00, 0x00, 0x00, // jne 25d
	// 191: initTrap
	0x0f, 0x05, // syscall
	0x0f, 0x0b, // ud2
	0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00, // data16 cs nopw 0x0(%rax,%rax,1)
	// 1a0: handler
	0x48, 0x89, 0xe0, // mov %rsp,%rax
	0x48, 0x25, 0x00, 0x00, 0xff, 0xff, // and $0xffffffffffff0000,%rax
	0x48, 0x89, 0x70, 0x10, // mov %rsi,0x10(%rax)
	0x48, 0x89, 0x50, 0x18, // mov %rdx,0x18(%rax)
	0xf3, 0x48, 0x0f, 0xae, 0xc1, // rdfsbase %rcx
	0x48, 0x89, 0x48, 0x20, // mov %rcx,0x20(%rax)
	0xf3, 0x48, 0x0f, 0xae, 0xc9, // rdgsbase %rcx
	0x48, 0x89, 0x48, 0x28, // mov %rcx,0x28(%rax)
	0xb9, 0x01, 0x00, 0x00, 0x00, // mov $0x1,%ecx
	0x87, 0x08, // xchg %ecx,(%rax)
	0x83, 0x78, 0x04, 0x00, // cmpl $0x0,0x4(%rax)
	0x74, 0x1c, // je 1ec
	0x49, 0x89, 0xc4, // mov %rax,%r12
	0x48, 0x89, 0xc7, // mov %rax,%rdi
	0xbe, 0x01, 0x00, 0x00, 0x00, // mov $0x1,%esi
	0xba, 0x01, 0x00, 0x00, 0x00, // mov $0x1,%edx
	0xb8, 0xca, 0x00, 0x00, 0x00, // mov $0xca,%eax
	// 1e5: wakeSite
	0x0f, 0x05, // syscall
	0x4c, 0x89, 0xe0, // mov %r12,%rax
	0xeb, 0x12, // jmp 1fe
	// 1ec: wait
	0x31, 0xc9, // xor %ecx,%ecx
	// 1ee: spin
	0x83, 0x38, 0x01, // cmpl $0x1,(%rax)
	0x75, 0x34, // jne 227
	0x3b, 0x48, 0x0c, // cmp 0xc(%rax),%ecx
	0x73, 0x06, // jae 1fe
	0xff, 0xc1, // inc %ecx
	0xf3, 0x90, // pause
	0xeb, 0xf0, // jmp 1ee
	// 1fe: sleep
	0xb9, 0x01, 0x00, 0x00, 0x00, // mov $0x1,%ecx
	0x87, 0x48, 0x08, // xchg %ecx,0x8(%rax)
	0x83, 0x38, 0x01, // cmpl $0x1,(%rax)
	0x75, 0x1c, // jne 227
	0x49, 0x89, 0xc4, // mov %rax,%r12
	0x48, 0x89, 0xc7, // mov %rax,%rdi
	0x31, 0xf6, // xor %esi,%esi
	0xba, 0x01, 0x00, 0x00, 0x00, // mov $0x1,%edx
	0x45, 0x31, 0xd2, // xor %r10d,%r10d
	0xb8, 0xca, 0x00, 0x00, 0x00, // mov $0xca,%eax
	// 220: waitSite
	0x0f, 0x05, // syscall
	0x4c, 0x89, 0xe0, // mov %r12,%rax
	0xeb, 0xd7, // jmp 1fe
	// 227: resumed
	0xc7, 0x40, 0x08, 0x00, 0x00, 0x00, 0x00, // movl $0x0,0x8(%rax)
	0x83, 0x38, 0x03, // cmpl $0x3,(%rax)
	0x74, 0x1f, // je 252
	0x48, 0x8b, 0x48, 0x20, // mov 0x20(%rax),%rcx
	0xf3, 0x48, 0x0f, 0xae, 0xd1, // wrfsbase %rcx
	0x48, 0x8b, 0x48, 0x28, // mov 0x28(%rax),%rcx
	0xf3, 0x48, 0x0f, 0xae, 0xd9, // wrgsbase %rcx
	0x48, 0x83, 0xc4, 0x08, // add $0x8,%rsp
	0xb8, 0x0f, 0x00, 0x00, 0x00, // mov $0xf,%eax
	// 24e: sigreturnSite
	0x0f, 0x05, // syscall
	0x0f, 0x0b, // ud2
	// 252: exit
	0xb8, 0x3c, 0x00, 0x00, 0x00, // mov $0x3c,%eax
	0x31, 0xff, // xor %edi,%edi
	// 259: exitSite
	0x0f, 0x05, // syscall
	// 25b: restorer
	0x0f, 0x0b, // ud2
	// 25d: fail
	0x0f, 0x0b, // ud2
	0x90, // nop
}

// The BPF constants the thread filter uses.
const (
	bpfLdWAbs       = stubproc.BPFLdWAbs
	bpfJeqK         = stubproc.BPFJeqK
	bpfRetK         = stubproc.BPFRetK
	seccompRetAllow = stubproc.SeccompRetAllow
	seccompRetTrap  = stubproc.SeccompRetTrap
	seccompDataNr   = stubproc.SeccompDataNr
	seccompDataIPLo = stubproc.SeccompDataIPLow
	seccompDataIPHi = stubproc.SeccompDataIPHigh
	seccompDataArg1 = stubproc.SeccompDataArg1
)

type bpfInstruction = stubproc.BPF

var ins = stubproc.Ins

// baseFilter is every stub thread's: a system call is allowed only from
// the stub's page; any other x86-64 call traps and any other ABI kills
// the stub. The zygote's thread, and each stub's first thread after it,
// run only the kernel's injected calls.
func baseFilter() []bpfInstruction { return stubproc.PageFilter(stubBase, stubSize) }

// threadFilter is added, on top of baseFilter, to every thread that runs
// application code: the only calls it lets through are the handler's
// own, each from its own instruction with its own number (and futex
// operation): FUTEX_WAKE to the kernel, FUTEX_WAIT for it, rt_sigreturn
// and exit. Everything else traps, the stub's other instructions
// included, so an application that jumps into the stub can do no more
// than those four: wake or wait on a futex, load its own registers, end
// its own thread.
func threadFilter() []bpfInstruction {
	site := func(off uint32) uint32 { return uint32(stubBase&0xffffffff) + codeOffset + off + 2 }
	const (
		allow = 21
		trap  = 22
	)
	// Instruction i jumps to t with jt/jf = t-i-1.
	to := func(i, t int) uint8 { return uint8(t - i - 1) }
	return []bpfInstruction{
		0:     ins(bpfLdWAbs, 0, 0, seccompDataIPHi),
		1:     ins(bpfJeqK, 0, to(1, trap), uint32(stubBase>>32)),
		2:     ins(bpfLdWAbs, 0, 0, seccompDataIPLo),
		3:     ins(bpfJeqK, to(3, 7), 0, site(offWakeSite)),
		4:     ins(bpfJeqK, to(4, 11), 0, site(offWaitSite)),
		5:     ins(bpfJeqK, to(5, 15), 0, site(offSigreturnSite)),
		6:     ins(bpfJeqK, to(6, 18), to(6, trap), site(offExitSite)),
		7:     ins(bpfLdWAbs, 0, 0, seccompDataNr), // wake
		8:     ins(bpfJeqK, 0, to(8, trap), unix.SYS_FUTEX),
		9:     ins(bpfLdWAbs, 0, 0, seccompDataArg1),
		10:    ins(bpfJeqK, to(10, allow), to(10, trap), futexWake),
		11:    ins(bpfLdWAbs, 0, 0, seccompDataNr), // wait
		12:    ins(bpfJeqK, 0, to(12, trap), unix.SYS_FUTEX),
		13:    ins(bpfLdWAbs, 0, 0, seccompDataArg1),
		14:    ins(bpfJeqK, to(14, allow), to(14, trap), futexWait),
		15:    ins(bpfLdWAbs, 0, 0, seccompDataNr), // rt_sigreturn
		16:    ins(bpfJeqK, to(16, allow), to(16, trap), unix.SYS_RT_SIGRETURN),
		17:    ins(bpfRetK, 0, 0, seccompRetTrap),  // unused
		18:    ins(bpfLdWAbs, 0, 0, seccompDataNr), // exit
		19:    ins(bpfJeqK, to(19, allow), to(19, trap), unix.SYS_EXIT),
		20:    ins(bpfRetK, 0, 0, seccompRetTrap), // unused
		allow: ins(bpfRetK, 0, 0, seccompRetAllow),
		trap:  ins(bpfRetK, 0, 0, seccompRetTrap),
	}
}

// Linux's struct kernel_sigaction flags.
const (
	saSiginfo  = 0x4
	saOnstack  = 0x08000000
	saRestorer = 0x04000000
	sigIgn     = 1
)

// stubImage returns the stub executable: an ELF header, one PT_LOAD
// program header mapping the whole file read+execute at stubBase, the
// code at codeOffset and its data after it.
func stubImage() []byte {
	base, thread := baseFilter(), threadFilter()
	size := codeOffset + offFilters + 8*(len(base)+len(thread))
	if size > stubSize {
		panic("systrap: stub larger than its page")
	}
	img := stubproc.Image(stubBase, codeOffset, size, stubSize)
	le := binary.LittleEndian
	code := img[codeOffset:]
	copy(code, stubCode)
	var handled uint64
	for _, s := range handledSignals {
		handled |= 1 << (s - 1)
	}
	le.PutUint64(code[offHandled:], handled)
	// The first thread blocks every signal but SIGTRAP: its own int3
	// raises one, and the host resets the disposition of a blocked
	// SIGTRAP it forces to SIG_DFL (for the whole stub) before its
	// tracer sees the trap.
	le.PutUint64(code[offAllMask:], ^uint64(1<<(unix.SIGTRAP-1)))
	le.PutUint64(code[offZeroMask:], 0)
	// struct kernel_sigaction: handler, flags, restorer, mask. Every
	// signal is blocked while the handler runs: it hands the thread
	// over, and nothing may interrupt that.
	le.PutUint64(code[offAct:], stubBase+codeOffset+offHandler)
	le.PutUint64(code[offAct+8:], saSiginfo|saOnstack|saRestorer)
	le.PutUint64(code[offAct+16:], stubBase+codeOffset+offRestorer)
	le.PutUint64(code[offAct+24:], ^uint64(0))
	le.PutUint64(code[offIgnAct:], sigIgn)
	le.PutUint64(code[offIgnAct+8:], saRestorer)
	le.PutUint64(code[offIgnAct+16:], stubBase+codeOffset+offRestorer)
	le.PutUint32(code[offCapHdr:], unix.LINUX_CAPABILITY_VERSION_3)
	addr := uint64(stubBase + codeOffset)
	stubproc.PutProg(code, addr, offBaseProg, offFilters, base)
	stubproc.PutProg(code, addr, offThreadProg, offFilters+8*len(base), thread)
	return img
}

// newStubFile writes the stub into a sealed memfd.
func newStubFile() (int, error) { return stubproc.NewFile("magawa-systrap-stub", stubImage()) }
