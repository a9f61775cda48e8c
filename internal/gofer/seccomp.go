package gofer

import (
	"os"

	"magawa/internal/seccomp"
)

// The gofer's seccomp filter: once confined, and before it serves, the
// gofer allows itself only the system calls a file server and the Go
// runtime need (seccompRules, per architecture), with a few arguments
// checked, and is killed (SECCOMP_RET_KILL_PROCESS) by anything else: a
// gofer taken over through a bug in its request handling cannot mount,
// trace, exec, open sockets or send signals to others. The filter covers
// every thread and checks the architecture first, so a call through
// another ABI (the 32-bit int 0x80 one, x32's numbers) is killed as well
// (package seccomp builds and installs it).
//
// Finding the list: strace -f of gofer processes during the gofer tests
// and the end-to-end tests, plus what the runtime does only now and then
// (threads coming and going, preemption signals, the scavenger, the
// cgroup CPU limit it re-reads). A call missing from the list shows as a
// gofer killed by SIGSYS (the client's requests then fail with EIO); the
// kernel logs each kill (dmesg: "audit: type=1326 ... sig=31 ...
// syscall=N"), and strace -f of the gofer shows the call it died in.
// TestSeccompProgram checks the filter's decisions, TestSeccompKills that
// the runtime and a server live under it and that forbidden calls kill,
// and every test of a confined gofer runs with it.

// installSeccomp installs the gofer's filter on every thread of the
// process.
func installSeccomp() error {
	prog, err := seccomp.Program(seccomp.NativeArch, seccompRules(os.Getpid()), seccomp.KillProcess)
	if err != nil {
		return err
	}
	return seccomp.Install(prog)
}
