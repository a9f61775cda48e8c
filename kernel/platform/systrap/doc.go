// Package systrap is the platform that runs application code in stub
// processes under a seccomp filter that traps every system call
// (SECCOMP_RET_TRAP): the host delivers SIGSYS to a small handler in the
// stub, which hands the thread to the kernel through memory the two
// share, and the kernel hands it back the same way. No ptrace stop, no
// register transfer by system call: a system call costs one signal
// delivery and one rt_sigreturn in the stub, and, while both sides are
// busy, no sleep at all.
//
// # What it owns
//
//   - The zygote (systrap.go): the first stub, started by New, before the
//     sandbox process confines itself, so that stubs are not under the
//     kernel's own seccomp allowlist (that filter's SECCOMP_RET_KILL_PROCESS
//     would win over the stub filter's trap at the application's first call
//     outside it). The zygote drops every capability and sets no_new_privs
//     itself; the sandbox's pivot_root later moves its root like every
//     other process's in the namespace. It is traced by a goroutine locked
//     to its own OS thread and only ever clones itself (CLONE_PARENT: each
//     stub is a child of the sandbox process) into a new stub.
//   - One stub per address space (addrspace.go). Its first thread is
//     seized by the address space's master goroutine, locked to its own OS
//     thread, which injects mmap of the memory file, munmap, mprotect and
//     the clone of each application thread, as on ptrace. That thread blocks
//     every signal but SIGTRAP (its own int3) and never runs application
//     code. Application threads are never traced. One stub is kept
//     forked and seized ahead, so that a fork or exec takes it at once
//     (takeMaster) while the next is made in the background.
//   - The slot file (slots.go): a memfd the sandbox process maps whole, cut
//     in 64 KiB slots, one per application thread: a state page, then the
//     thread's alternate signal stack. The stub maps a thread's slot above
//     its own page, outside the application's range. The host writes the
//     signal frame (siginfo, ucontext, XSAVE area) there; the kernel reads
//     and writes it in place (frame.go) and rt_sigreturn loads it back, FP
//     state included. fs_base and gs_base, which a frame does not hold, go
//     through the state page (the handler uses RDFSBASE/WRFSBASE, so New
//     refuses a host without FSGSBASE).
//   - The stub's code and filters (stub.go, source in testdata/stub.S).
//     An application thread runs under two filters: the stub's (calls only
//     from the stub's page, any other ABI kills) and the thread filter,
//     which allows only the handler's own four calls, each at its own
//     instruction with its own number: FUTEX_WAKE, FUTEX_WAIT,
//     rt_sigreturn, exit. Every other call, from anywhere, traps.
//
// # The hand-off
//
// A slot's state word says who has the thread: stateRunning (the
// application), stateEvent (the kernel: the frame is its to read and
// change), stateExit (the kernel wants the thread gone), stateDead (the
// host cleared it at the thread's exit: CLONE_CHILD_CLEARTID, which also
// wakes the futex). The handler stores the frame's addresses and fs/gs
// base, exchanges the word to stateEvent, wakes the kernel's thread if it
// said it sleeps (kSleep), then spins a few hundred PAUSEs for
// stateRunning before it sleeps on the word (sSleep). Context.Switch
// mirrors it: writes the registers into the frame, exchanges the word to
// stateRunning, wakes the handler if it sleeps, and waits. Each side sets
// its sleep flag with an exchange and then reads the word again before
// it sleeps, and each side exchanges the word before it reads the other's
// flag, so one of the two always sees the other (no lost wake-up).
//
// Both sides spin before they sleep (spin.go): on the 2-CPU virtual
// machines this runs on, a hand-off to a spinning thread costs a few
// hundred nanoseconds, a futex wake-up of a sleeping one about 6 µs
// (its idle CPU has to be woken). The handler spins a few hundred
// PAUSEs for the kernel's answer, unless the kernel told it not to: it
// zeroes the slot's spin count when the call it serves is about to
// block (Context.PrepareSleep, from Task.Block), and gives no count at
// all while more application threads run than half the CPUs. The
// kernel's thread spins up to 20 µs for the next event when the
// application came back within that last time, and while no more than
// half the CPUs' worth of kernel threads spin. A handler that had to
// wake the kernel's thread sleeps at once (the woken thread tends to be
// placed on its CPU). So a program that makes calls in quick
// succession passes them without any sleep, and an idle sandbox has
// every stub thread and kernel thread asleep on a futex; a sleeping
// kernel thread wakes once a second to make sure its stub thread still
// exists (the host does not clear the word for the last thread of a
// stub killed whole).
//
// Nothing ties a context to an OS thread (NeedsOSThread is false), so
// task goroutines are not locked to theirs: a hand-off between two
// tasks (a pipe's writer waking its reader) is a goroutine switch
// rather than the wake-up of another host thread.
//
// Interrupt sends SIGUSR2 to the stub thread (tgkill; the sandbox
// process's allowlist has that rule for it); the handler hands the thread
// over like a fault and Switch reports EventInterrupted. Sent while the
// thread is in the handler, it stays blocked until rt_sigreturn and then
// stops the thread at once: a spurious interrupt, as on ptrace. Other
// signals from the host are ignored in the stub, or, for those the
// handler takes, recognised by their si_code (sent signals carry
// SI_USER, SI_TKILL, ...) and the application resumed past them.
//
// # What the application can and cannot do
//
// The slots are in the stub's memory, so the application can write them.
// The kernel therefore checks everything it reads there: the frame's
// parts must lie in the thread's own stack, the XSAVE area must carry
// its magic and a sane size, registers are data, and any state other than
// stateEvent ends the thread (ErrContextDead). It writes back, at every
// resume, the signal mask and alternate stack rt_sigreturn will load, so
// a frame the application forged cannot keep them. A stub maps only its
// own threads' slots, so a forged hand-off can only be for a thread of
// the same address space, whose memory (code included) the forger can
// already change at will. A slot is reused only by the same stub, or,
// after the stub is dead and reaped, by any: never while another stub can
// write it.
//
// An application can still keep the interrupt signal blocked in its
// host thread: it may jump to the handler's rt_sigreturn with a frame of
// its own whose mask blocks SIGUSR2, and a thread that then only
// computes, or sleeps at the handler's FUTEX_WAIT, never answers
// Interrupt. The kernel's thread watches for that while an interrupt is
// outstanding (Interrupt wakes it): every 100 ms it reads the thread's
// /proc status (the confined sandbox process has its own /proc, where
// the stubs, children in its PID namespace, appear), and a thread whose
// SigBlk holds SIGUSR2 at two looks in a row and which between them
// used CPU time or slept at both is taken for hostile: the handler
// blocks every signal too, but only for a few instructions, which it
// neither sleeps nor loops in while the state word says running. Its
// stub is killed and Switch returns ErrContextDead, so its tasks die as
// if by SIGKILL (context.go, interruptWatch).
//
// # Locking
//
// addressSpace.mu guards the address space's master, released, slots,
// free and threads. slotPool.mu guards the pool's free list; a slot's
// references are atomic. The zygote's master (internal/stubproc) serves
// one fork at a time. A context's threads
// map, pendingFP and lastRun belong to the goroutine using the context
// (one at a time, on any OS thread); the spinning counters (spinners,
// inApp) are package atomics; the fields Interrupt and CPUTime read from other goroutines
// (interrupted, running, last) are atomics, with the same order between
// Interrupt and Switch as on ptrace: Interrupt sets interrupted and then
// loads running, Switch stores running and then swaps interrupted.
// Platform.spareMu guards closed and orders the spare's refill before
// Close's drop; only the one refilling goroutine sends on spare.
// Lock order: addressSpace.mu, then slotPool.mu.
package systrap
