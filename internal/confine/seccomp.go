package confine

import (
	"io"

	"magawa/internal/seccomp"
)

// The sandbox process's seccomp filter. Once confined, the application
// kernel makes only the host system calls listed in Rules (per
// architecture), some with their arguments checked, and the process is
// killed (SECCOMP_RET_KILL_PROCESS) on any other: a kernel taken over by
// the application cannot open host files, mount, make network sockets,
// change its credentials or reach the host kernel's larger surfaces
// (bpf, io_uring, keyrings, perf, user namespaces...). The filter covers
// every thread, and every process the kernel starts after it: the
// stubs, whose own calls (the injected mmap, munmap, mprotect and
// clone) go through it too. The application's calls never do: a stub
// thread's calls stop at PTRACE_SYSEMU, before seccomp runs.
//
// Finding the list: every host call site of the kernel, the platform,
// the sandbox and boot packages and the parts of the Go runtime and
// syscall package they use (syscall.ForkExec's child above all), then
// real programs run confined under it (the tests: busybox, Go, python3
// with threads and subprocesses, gcc, the C programs of test/ with /tmp
// on a writable volume, a terminal, late standard input, and a
// garbage-heavy load in the kernel process itself), and `perf trace -s`
// of those runs for the calls listed but never made. A call missing
// from the list kills the sandbox: dmesg then shows "audit: type=1326
// ... sig=31 ... syscall=N"; MAGAWA_SECCOMP_TRAP=1 makes the Go runtime
// name the call site instead, and MAGAWA_SECCOMP_LOG=1 lets every call
// through and logs the missing ones (see TrapEnv and LogEnv).

// Rules returns the allowlist of the sandbox process whose PID is pid
// (1: the init of its PID namespace), most frequent calls first, since
// the filter tries them in order. Nil where no list exists.
func Rules(pid int) []seccomp.Rule { return rules(pid) }

// NetworkRules are added to Rules for a sandbox that serves network
// interfaces of its own (Options.Network).
func NetworkRules() []seccomp.Rule { return networkRules() }

// HostNetworkRules are added to Rules for a sandbox on the host's
// network (Options.HostNetwork): TCP and UDP sockets of the host,
// their options and queue ioctls. Never packet, netlink or raw sockets.
func HostNetworkRules() []seccomp.Rule { return hostNetworkRules() }

// rules is the allowlist of the sandbox process pid confined with opts:
// Rules, and the additions of its network mode.
func (opts Options) rules(pid int) []seccomp.Rule {
	rules := Rules(pid)
	if opts.Network {
		rules = append(rules, NetworkRules()...)
	}
	if opts.HostNetwork {
		rules = append(rules, HostNetworkRules()...)
	}
	return rules
}

// DescribeSeccomp writes for people the allowlist of a sandbox process
// confined with opts (`magawa debug seccomp`, for the --network given).
func DescribeSeccomp(w io.Writer, opts Options) error {
	return seccomp.Describe(w, opts.rules(1), OnDeniedFromEnv())
}
