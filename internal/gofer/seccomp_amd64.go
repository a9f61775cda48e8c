package gofer

import (
	"golang.org/x/sys/unix"

	"magawa/internal/seccomp"
)

// seccompRules are the system calls the gofer makes once it serves, for
// the process pid (signals go to it alone). The most frequent come first:
// the filter tries the rules in order.
func seccompRules(pid int) []seccomp.Rule {
	self := uint32(pid)
	return []seccomp.Rule{
		// The server: requests and replies, then the host file work
		// (ops.go, xattr.go, wire/socket.go).
		{Nr: unix.SYS_RECVMSG, Name: "recvmsg"},
		{Nr: unix.SYS_SENDMSG, Name: "sendmsg"},
		{Nr: unix.SYS_OPENAT2, Name: "openat2"},
		{Nr: unix.SYS_STATX, Name: "statx"},
		{Nr: unix.SYS_CLOSE, Name: "close"},
		{Nr: unix.SYS_FUTEX, Name: "futex"},
		{Nr: unix.SYS_GETDENTS64, Name: "getdents64"},
		{Nr: unix.SYS_FSTAT, Name: "fstat"},
		{Nr: unix.SYS_LSEEK, Name: "lseek"},
		{Nr: unix.SYS_FCNTL, Name: "fcntl"},
		{Nr: unix.SYS_OPENAT, Name: "openat"},
		{Nr: unix.SYS_READLINKAT, Name: "readlinkat"},
		{Nr: unix.SYS_FSTATFS, Name: "fstatfs"},
		{Nr: unix.SYS_FCHOWNAT, Name: "fchownat"},
		{Nr: unix.SYS_FCHMODAT, Name: "fchmodat"},
		{Nr: unix.SYS_FCHMODAT2, Name: "fchmodat2"},
		{Nr: unix.SYS_FCHMOD, Name: "fchmod"},
		{Nr: unix.SYS_MKDIRAT, Name: "mkdirat"},
		{Nr: unix.SYS_SYMLINKAT, Name: "symlinkat"},
		{Nr: unix.SYS_UNLINKAT, Name: "unlinkat"},
		{Nr: unix.SYS_UTIMENSAT, Name: "utimensat"},
		{Nr: unix.SYS_FTRUNCATE, Name: "ftruncate"},
		// FIFOs and sockets only: device nodes are never made on the
		// host (nor could they be: no CAP_MKNOD, nodev mounts).
		{Nr: unix.SYS_MKNODAT, Name: "mknodat", Checks: []seccomp.Check{seccomp.ArgMasked(2, unix.S_IFMT, unix.S_IFIFO, unix.S_IFSOCK)}},
		// No AT_EMPTY_PATH (linking an open file into the tree) nor
		// AT_SYMLINK_FOLLOW.
		{Nr: unix.SYS_LINKAT, Name: "linkat", Checks: []seccomp.Check{seccomp.ArgIs(4, 0)}},
		// No RENAME_WHITEOUT (a device node).
		{Nr: unix.SYS_RENAMEAT2, Name: "renameat2", Checks: []seccomp.Check{seccomp.ArgMasked(4, unix.RENAME_WHITEOUT, 0)}},
		{Nr: unix.SYS_GETXATTRAT, Name: "getxattrat"},
		{Nr: unix.SYS_SETXATTRAT, Name: "setxattrat"},
		{Nr: unix.SYS_LISTXATTRAT, Name: "listxattrat"},
		{Nr: unix.SYS_REMOVEXATTRAT, Name: "removexattrat"},
		{Nr: unix.SYS_FGETXATTR, Name: "fgetxattr"},
		{Nr: unix.SYS_FSETXATTR, Name: "fsetxattr"},
		{Nr: unix.SYS_FLISTXATTR, Name: "flistxattr"},
		{Nr: unix.SYS_FREMOVEXATTR, Name: "fremovexattr"},
		// New channels: Unix socket pairs only.
		{Nr: unix.SYS_SOCKETPAIR, Name: "socketpair", Checks: []seccomp.Check{seccomp.ArgIs(0, unix.AF_UNIX)}},
		{Nr: unix.SYS_SETSOCKOPT, Name: "setsockopt"},
		{Nr: unix.SYS_GETSOCKOPT, Name: "getsockopt"},
		{Nr: unix.SYS_WRITE, Name: "write"}, // error messages; the runtime's wakeups
		{Nr: unix.SYS_READ, Name: "read"},

		// The Go runtime: scheduling, memory, signals, threads.
		{Nr: unix.SYS_SCHED_YIELD, Name: "sched_yield"},
		{Nr: unix.SYS_NANOSLEEP, Name: "nanosleep"},
		{Nr: unix.SYS_EPOLL_PWAIT, Name: "epoll_pwait"},
		{Nr: unix.SYS_EPOLL_WAIT, Name: "epoll_wait"},
		{Nr: unix.SYS_EPOLL_CTL, Name: "epoll_ctl"},
		{Nr: unix.SYS_EPOLL_CREATE1, Name: "epoll_create1"},
		{Nr: unix.SYS_EVENTFD2, Name: "eventfd2"},
		{Nr: unix.SYS_GETPID, Name: "getpid"},
		{Nr: unix.SYS_GETTID, Name: "gettid"},
		// Preemption and crashes signal this process's threads, and
		// nothing else.
		{Nr: unix.SYS_TGKILL, Name: "tgkill", Checks: []seccomp.Check{seccomp.ArgIs(0, self)}},
		{Nr: unix.SYS_KILL, Name: "kill", Checks: []seccomp.Check{seccomp.ArgIs(0, self)}},
		{Nr: unix.SYS_RT_SIGRETURN, Name: "rt_sigreturn"},
		{Nr: unix.SYS_RT_SIGPROCMASK, Name: "rt_sigprocmask"},
		{Nr: unix.SYS_RT_SIGACTION, Name: "rt_sigaction"},
		{Nr: unix.SYS_SIGALTSTACK, Name: "sigaltstack"},
		{Nr: unix.SYS_RESTART_SYSCALL, Name: "restart_syscall"},
		{Nr: unix.SYS_MMAP, Name: "mmap"},
		{Nr: unix.SYS_MUNMAP, Name: "munmap"},
		{Nr: unix.SYS_MADVISE, Name: "madvise"},
		// Threads (new Ms), never processes.
		{Nr: unix.SYS_CLONE, Name: "clone", Checks: []seccomp.Check{seccomp.ArgHasAny(0, unix.CLONE_THREAD)}},
		// clone3's flags are behind a pointer the filter cannot read:
		// ENOSYS makes callers fall back to clone.
		{Nr: unix.SYS_CLONE3, Name: "clone3", Action: seccomp.Errno(unix.ENOSYS)},
		{Nr: unix.SYS_EXIT, Name: "exit"},
		{Nr: unix.SYS_EXIT_GROUP, Name: "exit_group"},
		// GOMAXPROCS follows the CPU affinity and the cgroup's CPU
		// limit, re-read from a descriptor opened at start.
		{Nr: unix.SYS_SCHED_GETAFFINITY, Name: "sched_getaffinity"},
		{Nr: unix.SYS_PREAD64, Name: "pread64"},
		// vDSO fallbacks.
		{Nr: unix.SYS_CLOCK_GETTIME, Name: "clock_gettime"},
		{Nr: unix.SYS_GETTIMEOFDAY, Name: "gettimeofday"},
		{Nr: unix.SYS_GETRANDOM, Name: "getrandom"},
	}
}
