// Package pidfd implements pidfds (pidfd_open(2), clone's CLONE_PIDFD):
// files that refer to a process, or with PIDFD_THREAD to one thread, and
// become readable when it exits. They take no reads or writes; the
// system-call layer signals through them (pidfd_send_signal), waits on
// them (waitid P_PIDFD) and takes descriptors from their process
// (pidfd_getfd). Linux: kernel/pid.c, fs/pidfs.c.
//
// The package does not know the kernel: a pidfd holds a Target, which
// the kernel implements (kernel.PidfdTarget).
//
// Locking: a pidfd's target is set once (CLONE_PIDFD installs the
// descriptor before the new process exists, and sets it with the
// kernel's lock held); pidFD.mu orders that with registrations of
// pollers, and is taken before the target's queue lock. Readiness reads
// the target atomically and takes no lock of its own.
package pidfd
