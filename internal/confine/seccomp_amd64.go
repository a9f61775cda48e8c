package confine

import (
	"slices"

	"golang.org/x/sys/unix"

	"magawa/internal/seccomp"
	"magawa/kernel/net/hostinet"
)

// Clone flags, exactly: the Go runtime's for a new thread (runtime
// cloneFlags, with the CLONE_SETTLS its clone adds); those the platform
// injects in a stub to make a stub thread (the same, without a TLS);
// and syscall.ForkExec's for the stub process (a vfork sharing memory
// until the exec, SIGCHLD at exit). Anything else, a namespace flag
// above all, is refused.
const (
	cloneStubThread = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
		unix.CLONE_SYSVSEM | unix.CLONE_THREAD
	cloneGoThread = cloneStubThread | unix.CLONE_SETTLS
	cloneStub     = unix.CLONE_VM | unix.CLONE_VFORK | uint32(unix.SIGCHLD)
)

// ptraceRequests are those the platform makes (kernel/platform/ptrace):
// PTRACE_TRACEME in the stub being started, then options, SYSEMU, CONT,
// the registers (whole sets, rax alone, the XSAVE area), the stop's
// siginfo, and SEIZE with INTERRUPT for new stub threads. Not PEEK/POKE
// of memory (the memory file is shared) nor ATTACH.
var ptraceRequests = []uint32{
	unix.PTRACE_SYSEMU, unix.PTRACE_GETREGS, unix.PTRACE_POKEUSR, unix.PTRACE_SETREGS,
	unix.PTRACE_CONT, unix.PTRACE_GETSIGINFO, unix.PTRACE_GETREGSET, unix.PTRACE_SETREGSET,
	unix.PTRACE_SEIZE, unix.PTRACE_INTERRUPT, unix.PTRACE_SETOPTIONS, unix.PTRACE_TRACEME,
}

// terminalRequests are the ioctls the kernel makes on the host's
// standard streams: hostfs answers a program's TCGETS and TIOCGWINSZ
// from them; the console (internal/sandbox, terminal.go) reads the host
// terminal's settings and size and puts it in raw mode and back. No
// TIOCSTI (typing into the host's terminal), TIOCSCTTY, TIOCSWINSZ or
// anything on other devices.
var terminalRequests = []uint32{unix.TCGETS, unix.TCSETS, unix.TCSETSW, unix.TCSETSF, unix.TIOCGWINSZ}

// fcntlCommands are the fcntl(2) commands of the kernel, the Go runtime
// (non-blocking descriptors) and the starting of stubs (F_SETFD on the
// memory file's descriptor): no F_SETOWN or F_SETSIG, which would aim
// signals at other processes, no leases or seals.
var fcntlCommands = []uint32{unix.F_GETFD, unix.F_SETFD, unix.F_GETFL, unix.F_SETFL, unix.F_DUPFD_CLOEXEC}

// atFDCWD is AT_FDCWD as the filter sees the low half of an int
// argument.
const atFDCWD = 1<<32 + unix.AT_FDCWD

func rules(pid int) []seccomp.Rule {
	self := uint32(pid)
	var (
		argIs     = seccomp.ArgIs
		argIn     = seccomp.ArgIn
		argMasked = seccomp.ArgMasked
	)
	type check = seccomp.Check
	return []seccomp.Rule{
		// The platform: every application system call is a
		// PTRACE_SYSEMU, a wait4 and a register transfer or two.
		{Nr: unix.SYS_PTRACE, Name: "ptrace", Checks: []check{argIn(0, ptraceRequests...)}},
		{Nr: unix.SYS_WAIT4, Name: "wait4"},
		{Nr: unix.SYS_FUTEX, Name: "futex"},

		// The Go runtime: scheduling, timers, the network poller.
		{Nr: unix.SYS_NANOSLEEP, Name: "nanosleep"},
		{Nr: unix.SYS_SCHED_YIELD, Name: "sched_yield"},
		{Nr: unix.SYS_EPOLL_PWAIT, Name: "epoll_pwait"},
		{Nr: unix.SYS_EPOLL_CTL, Name: "epoll_ctl"},
		{Nr: unix.SYS_EPOLL_CREATE1, Name: "epoll_create1"},
		{Nr: unix.SYS_EVENTFD2, Name: "eventfd2"},
		{Nr: unix.SYS_GETPID, Name: "getpid"},
		{Nr: unix.SYS_GETTID, Name: "gettid"},
		// Signals: the runtime's preemption and crashes go to this
		// process's own threads; the platform stops a running stub
		// thread with SIGSTOP (Context.Interrupt).
		{Nr: unix.SYS_TGKILL, Name: "tgkill", Checks: []check{argIs(0, self)}},
		{Nr: unix.SYS_TGKILL, Name: "tgkill", Checks: []check{argIs(2, uint32(unix.SIGSTOP))}},
		// The systrap platform interrupts a stub thread running
		// application code with SIGUSR2, which its handler turns into
		// a hand-off to the kernel like a fault. Any PID is one of the
		// sandbox's PID namespace (stubs and the gofer), which kill's
		// SIGKILL below can end anyway: no new power over them.
		{Nr: unix.SYS_TGKILL, Name: "tgkill", Checks: []check{argIs(2, uint32(unix.SIGUSR2))}},
		// kill: to this process (a fatal signal the console passes on
		// after restoring the terminal), or SIGKILL, with which the
		// platform ends a stub and a stub being started ends itself
		// when its parent has gone. Any PID is one of the sandbox's
		// PID namespace, which holds only stubs and the gofer.
		{Nr: unix.SYS_KILL, Name: "kill", Checks: []check{argIs(0, self)}},
		{Nr: unix.SYS_KILL, Name: "kill", Checks: []check{argIs(1, uint32(unix.SIGKILL))}},
		{Nr: unix.SYS_RT_SIGRETURN, Name: "rt_sigreturn"},
		{Nr: unix.SYS_RT_SIGPROCMASK, Name: "rt_sigprocmask"},
		{Nr: unix.SYS_RT_SIGACTION, Name: "rt_sigaction"},
		{Nr: unix.SYS_SIGALTSTACK, Name: "sigaltstack"},
		{Nr: unix.SYS_RESTART_SYSCALL, Name: "restart_syscall"},
		// Memory: the runtime's heap, and the changes injected into
		// stubs (mmap of the memory file, munmap, mprotect), which go
		// through this filter too; mincore for the application's
		// mincore(2).
		{Nr: unix.SYS_MMAP, Name: "mmap"},
		{Nr: unix.SYS_MUNMAP, Name: "munmap"},
		{Nr: unix.SYS_MPROTECT, Name: "mprotect"},
		{Nr: unix.SYS_MADVISE, Name: "madvise"},
		{Nr: unix.SYS_MINCORE, Name: "mincore"},
		// The runtime names its mappings (Go 1.25).
		{Nr: unix.SYS_PRCTL, Name: "prctl", Checks: []check{argIs(0, unix.PR_SET_VMA), argIs(1, unix.PR_SET_VMA_ANON_NAME)}},
		{Nr: unix.SYS_CLONE, Name: "clone", Checks: []check{argIn(0, cloneGoThread, cloneStubThread, cloneStub)}},
		// clone3's flags are behind a pointer the filter cannot read:
		// ENOSYS makes callers fall back to clone.
		{Nr: unix.SYS_CLONE3, Name: "clone3", Action: seccomp.Errno(unix.ENOSYS)},
		{Nr: unix.SYS_EXIT, Name: "exit"},
		{Nr: unix.SYS_EXIT_GROUP, Name: "exit_group"},
		// GOMAXPROCS follows the CPU affinity and the cgroup's CPU
		// limit, re-read from a descriptor opened at start.
		{Nr: unix.SYS_SCHED_GETAFFINITY, Name: "sched_getaffinity"},
		// Clocks (x/sys/unix calls the host's clock_gettime, not the
		// vDSO) and randomness.
		{Nr: unix.SYS_CLOCK_GETTIME, Name: "clock_gettime"},
		{Nr: unix.SYS_GETRANDOM, Name: "getrandom"},

		// Data: the memory file (holes punched, data found with
		// SEEK_DATA), the host files the gofer donates (read, written,
		// synced, their attributes changed through the descriptor),
		// the host's standard streams, pipes.
		{Nr: unix.SYS_READ, Name: "read"},
		{Nr: unix.SYS_WRITE, Name: "write"},
		{Nr: unix.SYS_PREAD64, Name: "pread64"},
		{Nr: unix.SYS_PWRITE64, Name: "pwrite64"},
		{Nr: unix.SYS_PWRITEV2, Name: "pwritev2"},
		{Nr: unix.SYS_LSEEK, Name: "lseek"},
		{Nr: unix.SYS_FALLOCATE, Name: "fallocate"},
		{Nr: unix.SYS_FTRUNCATE, Name: "ftruncate"},
		{Nr: unix.SYS_FSYNC, Name: "fsync"},
		{Nr: unix.SYS_FDATASYNC, Name: "fdatasync"},
		{Nr: unix.SYS_FSTAT, Name: "fstat"},
		{Nr: unix.SYS_STATX, Name: "statx"},
		{Nr: unix.SYS_FCHMOD, Name: "fchmod"},
		{Nr: unix.SYS_FCHOWN, Name: "fchown"},
		// On a donated descriptor (AT_EMPTY_PATH): the path cannot be
		// checked, but there is no directory descriptor to resolve it
		// from (checkNoDirectories) and the root is empty.
		{Nr: unix.SYS_UTIMENSAT, Name: "utimensat"},
		{Nr: unix.SYS_CLOSE, Name: "close"},
		{Nr: unix.SYS_FCNTL, Name: "fcntl", Checks: []check{argIn(1, fcntlCommands...)}},
		{Nr: unix.SYS_PPOLL, Name: "ppoll"},
		{Nr: unix.SYS_PIPE2, Name: "pipe2"},
		// Files by name: only in /proc (the root is otherwise empty),
		// read-only, from the root or the working directory, never from
		// a descriptor.
		{Nr: unix.SYS_OPENAT, Name: "openat", Checks: []check{
			argIs(0, atFDCWD),
			argMasked(2, unix.O_ACCMODE|unix.O_CREAT|unix.O_TRUNC, unix.O_RDONLY),
		}},
		{Nr: unix.SYS_NEWFSTATAT, Name: "newfstatat", Checks: []check{argIs(0, atFDCWD)}},
		{Nr: unix.SYS_SYSINFO, Name: "sysinfo"},

		// The gofer's channels and the control socket: messages with
		// descriptors, new channels as Unix socket pairs; no socket(2)
		// at all, so no network.
		{Nr: unix.SYS_SENDMSG, Name: "sendmsg"},
		{Nr: unix.SYS_RECVMSG, Name: "recvmsg"},
		{Nr: unix.SYS_SOCKETPAIR, Name: "socketpair", Checks: []check{argIs(0, unix.AF_UNIX)}},
		{Nr: unix.SYS_ACCEPT4, Name: "accept4"},
		{Nr: unix.SYS_SHUTDOWN, Name: "shutdown"},
		{Nr: unix.SYS_SETSOCKOPT, Name: "setsockopt", Checks: []check{argIs(1, unix.SOL_SOCKET)}},
		{Nr: unix.SYS_GETSOCKOPT, Name: "getsockopt", Checks: []check{argIs(1, unix.SOL_SOCKET)}},
		{Nr: unix.SYS_IOCTL, Name: "ioctl", Checks: []check{argIn(1, terminalRequests...)}},
		// The gofer process, started before the confinement with a
		// pidfd (os/exec): waited for and, at the end, killed.
		{Nr: unix.SYS_WAITID, Name: "waitid"},
		{Nr: unix.SYS_PIDFD_SEND_SIGNAL, Name: "pidfd_send_signal"},

		// Starting a stub (syscall.ForkExec): after the clone the child,
		// sharing our memory and this filter, joins its own process
		// group, asks for SIGKILL at our death (and checks we have not
		// died already), moves the memory file's descriptor to 3 and
		// closes 0-2, restores the RLIMIT_NOFILE the runtime raised,
		// asks to be traced and executes the stub from its memfd
		// through /proc/self/fd; a failure is written to a pipe
		// before it exits.
		{Nr: unix.SYS_SETPGID, Name: "setpgid", Checks: []check{argIs(0, 0), argIs(1, 0)}},
		{Nr: unix.SYS_PRCTL, Name: "prctl", Checks: []check{argIs(0, unix.PR_SET_PDEATHSIG)}},
		{Nr: unix.SYS_GETPPID, Name: "getppid"},
		{Nr: unix.SYS_DUP3, Name: "dup3"},
		{Nr: unix.SYS_PRLIMIT64, Name: "prlimit64", Checks: []check{argIs(0, 0), argIs(1, unix.RLIMIT_NOFILE)}},
		// The path is behind a pointer, so any file the process can
		// name could be executed: but it names only /proc (descriptors
		// the kernel holds), and what runs inherits this filter,
		// no_new_privs and the empty capability sets, so it can do
		// nothing the kernel could not.
		{Nr: unix.SYS_EXECVE, Name: "execve"},
		// The stub itself, before its first trap: no_new_privs and its
		// own filter (which only narrows this one), then pause() in
		// each new stub thread until its tracer seizes it.
		{Nr: unix.SYS_PRCTL, Name: "prctl", Checks: []check{argIs(0, unix.PR_SET_NO_NEW_PRIVS), argIs(1, 1)}},
		{Nr: unix.SYS_SECCOMP, Name: "seccomp", Checks: []check{argIs(0, unix.SECCOMP_SET_MODE_FILTER), argIs(1, 0)}},
		{Nr: unix.SYS_PAUSE, Name: "pause"},
	}
}

// networkRules are the calls that serve interfaces taken over from the
// container's network namespace (--network=sandbox): netstack's link
// endpoint reads frames from the interface's packet socket in batches
// and writes them one (writev) or many (sendmmsg) at a time. Only a
// sandbox with interfaces gets them.
func networkRules() []seccomp.Rule {
	return []seccomp.Rule{
		{Nr: unix.SYS_RECVMMSG, Name: "recvmmsg"},
		{Nr: unix.SYS_READV, Name: "readv"},
		{Nr: unix.SYS_WRITEV, Name: "writev"},
		{Nr: unix.SYS_SENDMMSG, Name: "sendmmsg"},
	}
}

// hostNetworkRules are the calls of kernel/net/hostinet
// (--network=host): TCP and UDP sockets of either Internet family,
// always non-blocking and close-on-exec; binding, connecting,
// listening and naming them (on a descriptor: nothing there to check);
// the options of the package's allowlist at the IP, IPv6 and TCP levels
// (SOL_SOCKET's are in Rules already); the queue-size and interface
// ioctls. accept4, sendmsg, recvmsg, shutdown, ppoll and the epoll
// calls are in Rules already. AF_PACKET, AF_NETLINK, raw sockets and
// anything else stay refused.
func hostNetworkRules() []seccomp.Rule {
	const flags = unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
	rules := []seccomp.Rule{
		{Nr: unix.SYS_SOCKET, Name: "socket", Checks: []seccomp.Check{
			seccomp.ArgIn(0, unix.AF_INET, unix.AF_INET6),
			seccomp.ArgIn(1, unix.SOCK_STREAM|flags, unix.SOCK_DGRAM|flags),
			seccomp.ArgIn(2, unix.IPPROTO_TCP, unix.IPPROTO_UDP),
		}},
		{Nr: unix.SYS_BIND, Name: "bind"},
		{Nr: unix.SYS_CONNECT, Name: "connect"},
		{Nr: unix.SYS_LISTEN, Name: "listen"},
		{Nr: unix.SYS_GETSOCKNAME, Name: "getsockname"},
		{Nr: unix.SYS_GETPEERNAME, Name: "getpeername"},
		{Nr: unix.SYS_IOCTL, Name: "ioctl", Checks: []seccomp.Check{seccomp.ArgIn(1, hostinet.HostIoctls...)}},
	}
	opts := hostinet.HostOptions()
	levels := make([]int, 0, len(opts))
	for level := range opts {
		levels = append(levels, level)
	}
	slices.Sort(levels) // the same filter every time
	for _, level := range levels {
		names := make([]uint32, len(opts[level]))
		for i, n := range opts[level] {
			names[i] = uint32(n)
		}
		for _, nr := range []struct {
			nr   uint32
			name string
		}{{unix.SYS_SETSOCKOPT, "setsockopt"}, {unix.SYS_GETSOCKOPT, "getsockopt"}} {
			rules = append(rules, seccomp.Rule{Nr: nr.nr, Name: nr.name, Checks: []seccomp.Check{
				seccomp.ArgIs(1, uint32(level)), seccomp.ArgIn(2, names...),
			}})
		}
	}
	return rules
}
