// Package arch owns the x86-64 user ABI of signals: siginfo_t
// (SignalInfo), stack_t (SignalStack), and the signal frame a handler runs
// on, built by SetupFrame and taken apart by RestoreFrame (rt_sigreturn),
// including the XSAVE area inside it. It mirrors Linux's
// arch/x86/kernel/signal.c, signal_64.c and fpu/signal.c for 64-bit
// processes; there are no 32-bit (ia32, x32) frames.
//
// Locking: none. The package has no state; callers own the registers, FP
// state and memory they pass in, and must keep the thread stopped while
// its frame is built or read.
//
// FP state is always the platform's XSAVE area (PTRACE_GETREGSET
// NT_X86_XSTATE: standard form, XCR0 in its software-reserved bytes, the
// host's full length). Its length and XCR0 tell the package the host's
// layout; frames leave out AMX tile data, as Linux's do for a process that
// has not asked for it, and what RestoreFrame and ResetFPState produce has
// the same length and is accepted by PTRACE_SETREGSET.
//
// What the kernel does around it:
//
//   - Choose the signal, decide between default action, ignore and
//     handler, and fix up an interrupted system call (restart or EINTR)
//     in the registers before SetupFrame, which saves them as they are.
//   - Give SetupFrame the mask to restore (the blocked set, or the one
//     sigsuspend or ppoll saved) and the thread's sigaltstack as stored.
//   - After SetupFrame succeeds: block sa_mask (and the signal unless
//     SA_NODEFER), reset the action if SA_RESETHAND, disarm an
//     SS_AUTODISARM stack, and load ResetFPState's initial FP state.
//   - When SetupFrame fails, force SIGSEGV (Linux: force_sigsegv()).
//   - rt_sigreturn: apply the returned mask without SIGKILL and SIGSTOP,
//     pass uc_stack to sigaltstack ignoring its errors, load the returned
//     FP state, and return the restored rax; on error force SIGSEGV
//     (applying the mask first if the error says it was read).
package arch
