package confine

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"magawa/internal/seccomp"
)

// Options say how the sandbox process confines itself.
type Options struct {
	// OnDenied is what a host system call outside the allowlist gets.
	// Zero means seccomp.KillProcess, or what the environment asks for
	// while debugging the list (OnDeniedFromEnv).
	OnDenied seccomp.Action
	// Network allows the calls that serve network interfaces taken
	// over from the container's network namespace (NetworkRules).
	Network bool
	// HostNetwork allows the calls with which the kernel passes
	// Internet sockets through to the host (--network=host,
	// HostNetworkRules).
	HostNetwork bool
}

// Environment variables that relax the filter's answer to a call it
// does not list, for finding what the list lacks. Neither is for
// production: both let the kernel go on past a call it should not make.
const (
	// TrapEnv=1 sends SIGSYS instead of killing: the Go runtime dies
	// with a traceback naming the call site (GOTRACEBACK=system adds the
	// registers; rax is the call's number). A call made with signals
	// blocked (the runtime's clone), by a stub or by a stub being
	// started dies of it as if killed.
	TrapEnv = "MAGAWA_SECCOMP_TRAP"
	// LogEnv=1 lets every call through and has the host log those the
	// list lacks (dmesg: "audit: type=1326 ... syscall=N"): run a
	// workload, then read the log.
	LogEnv = "MAGAWA_SECCOMP_LOG"
)

// OnDeniedFromEnv is the answer to calls outside the allowlist that the
// environment asks for: seccomp.KillProcess unless TrapEnv or LogEnv is
// set to 1.
func OnDeniedFromEnv() seccomp.Action {
	switch {
	case os.Getenv(TrapEnv) == "1":
		return seccomp.Trap
	case os.Getenv(LogEnv) == "1":
		return seccomp.Log
	}
	return seccomp.KillProcess
}

// Sandbox confines the calling process, the sandbox process, for good
// (see the package documentation). It must run after everything
// host-facing is open and before any application code: afterwards the
// process can open no host file, mount nothing, make no network socket
// and no host system call outside its allowlist. An error leaves the
// process partly confined; the caller must exit.
func Sandbox(opts Options) error {
	if !confining.CompareAndSwap(false, true) {
		return errors.New("the sandbox process confines itself once")
	}
	onDenied := opts.OnDenied
	if onDenied == 0 {
		onDenied = OnDeniedFromEnv()
	}
	pid := os.Getpid()
	// The filter first: a missing allowlist fails before anything
	// changes.
	prog, err := seccomp.Program(seccomp.NativeArch, opts.rules(pid), onDenied)
	if err != nil {
		return err
	}
	if pid != 1 {
		return fmt.Errorf("the sandbox process is PID %d, not the init of a PID namespace of its own", pid)
	}
	if err := checkOwnMountNamespace(); err != nil {
		return err
	}
	if err := pivotToEmptyRoot(); err != nil {
		return err
	}
	if err := checkNoDirectories(); err != nil {
		return err
	}
	// The kernel keeps no capability: none of what it does from here on
	// needs one. It traces and signals only its own stubs, which run with
	// its uid and, started from a process without capabilities, with none
	// either (so ptrace(2)'s "the tracee's permitted set is within the
	// tracer's" holds without CAP_SYS_PTRACE); everything else is done on
	// descriptors it already holds. Gone with them in particular:
	// CAP_SYS_ADMIN (mounts would undo the new root), CAP_SYS_PTRACE,
	// CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, CAP_NET_*,
	// CAP_SYS_CHROOT, CAP_SETUID. Not dumpable: /proc/1 is closed to the
	// other processes of the sandbox's PID namespace, the gofer included.
	// On the host's network the one exception is CAP_NET_BIND_SERVICE:
	// the host's stack decides about its ports, and a container's server
	// on port 80 needs it (the kernel checks the container's own
	// capability first, kernel/net/hostinet).
	var keep []int
	if opts.HostNetwork {
		keep = []int{unix.CAP_NET_BIND_SERVICE}
	}
	if err := DropCapabilities(keep); err != nil {
		return err
	}
	if err := seccomp.Install(prog); err != nil {
		return err
	}
	return nil
}

// confining is set by the first Sandbox: a second one would die of its
// own filter at its first mount.
var confining atomic.Bool

// checkOwnMountNamespace refuses to go on in the mount namespace of the
// init of the PID namespace the inherited /proc shows (the launcher's):
// pivot_root there would take the host's root away from every process
// in it. When /proc is this PID namespace's own, or that init's
// namespace cannot be read, nothing is known and the launcher is
// trusted.
func checkOwnMountNamespace() error {
	if self, err := os.Readlink("/proc/self"); err != nil || self == "1" {
		return nil
	}
	var ours, theirs unix.Stat_t
	if err := unix.Stat("/proc/self/ns/mnt", &ours); err != nil {
		return nil
	}
	if err := unix.Stat("/proc/1/ns/mnt", &theirs); err != nil {
		return nil
	}
	if ours.Dev == theirs.Dev && ours.Ino == theirs.Ino {
		return errors.New("the sandbox process shares its launcher's mount namespace (no CLONE_NEWNS)")
	}
	return nil
}
