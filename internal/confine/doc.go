// Package confine is what the sandbox process (`magawa boot`, which runs
// the application kernel) does to itself before any application code
// runs, so that a kernel taken over by the application holds as little
// of the host as possible. Sandbox is called once everything host-facing
// is open: the gofer's channels, the memory file and the platform's stub
// file (memfds), the host's standard streams, the control socket. Its
// parent started it in fresh mount, PID, IPC, UTS, cgroup and network namespaces,
// so it is the init of its own PID namespace.
//
// In order:
//
//  1. Checks: PID 1 of its PID namespace, and not in the mount namespace
//     of the init its inherited /proc shows (a launcher that forgot
//     CLONE_NEWNS would have the host's root pivoted away).
//  2. A new root (root.go): every mount made private; a small read-only
//     tmpfs holding only /proc, on which a fresh proc file system of
//     this PID namespace is mounted read-only, nosuid, nodev, noexec and,
//     where the host has it, subset=pid (no /proc/sys, no host-wide
//     files); pivot_root into it and the old root detached. No open
//     descriptor may name a directory (it would lead around the new
//     root, as /proc/self/fd/N/..).
//  3. Capabilities (caps_unsafe.go): every set, the bounding set
//     included, emptied on every thread; no_new_privs; not dumpable.
//  4. A seccomp allowlist (seccomp.go, the list per architecture in
//     seccomp_amd64.go) on every thread, killing the process
//     (SECCOMP_RET_KILL_PROCESS) on any other host system call; the
//     stubs, which the kernel forks and executes after this, inherit it.
//
// The platform's stubs are started later, under all of this: from a
// process without capabilities, with no_new_privs and an empty bounding
// set, they get no capability either, which is also what lets the kernel
// trace them with none of its own (ptrace(2): a tracer needs the
// tracee's permitted capabilities, or CAP_SYS_PTRACE).
//
// Locking: none; Sandbox runs once, before the kernel runs anything.
package confine
