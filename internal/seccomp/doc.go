// Package seccomp builds and installs seccomp filters in pure Go (no
// cgo, no libseccomp): a process lists the host system calls it makes,
// as Rules, some with their arguments checked, and every other call gets
// one action, normally SECCOMP_RET_KILL_PROCESS. The gofer
// (internal/gofer) and the sandbox process (internal/confine) confine
// themselves with it.
//
// It owns the program's layout (Program), installing a program on every
// thread (Install), running a program on a made-up call as the host
// kernel would (Evaluate, for tests and listings) and printing a rule
// list for people (Describe).
//
// A program is classic BPF:
//
//	ld arch; jeq ARCH else → otherwise
//	ld nr; jset x32 bit → otherwise        (x86-64 only)
//	rule 1                                  (tried in order, the number in the accumulator)
//	rule 2
//	...
//	ret otherwise
//
// A rule whose number matches returns its action when all of its checks
// hold; when one fails, the number is reloaded and the next rules are
// tried, so two rules of one call mean either. A call that no rule lets
// through reaches the end.
//
// Locking: none; everything here is a pure function of its arguments but
// Install, which acts on the calling process.
package seccomp
