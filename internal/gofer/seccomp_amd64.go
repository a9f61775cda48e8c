package gofer

import "golang.org/x/sys/unix"

// seccompArch is the architecture the filter lets through.
const seccompArch = unix.AUDIT_ARCH_X86_64

// seccompRules are the system calls the gofer makes once it serves, for
// the process pid (signals go to it alone). The most frequent come first:
// the filter tries the rules in order.
func seccompRules(pid int) []seccompRule {
	self := uint32(pid)
	return []seccompRule{
		// The server: requests and replies, then the host file work
		// (ops.go, xattr.go, wire/socket.go).
		{nr: unix.SYS_RECVMSG, name: "recvmsg"},
		{nr: unix.SYS_SENDMSG, name: "sendmsg"},
		{nr: unix.SYS_OPENAT2, name: "openat2"},
		{nr: unix.SYS_STATX, name: "statx"},
		{nr: unix.SYS_CLOSE, name: "close"},
		{nr: unix.SYS_FUTEX, name: "futex"},
		{nr: unix.SYS_GETDENTS64, name: "getdents64"},
		{nr: unix.SYS_FSTAT, name: "fstat"},
		{nr: unix.SYS_LSEEK, name: "lseek"},
		{nr: unix.SYS_FCNTL, name: "fcntl"},
		{nr: unix.SYS_OPENAT, name: "openat"},
		{nr: unix.SYS_READLINKAT, name: "readlinkat"},
		{nr: unix.SYS_FSTATFS, name: "fstatfs"},
		{nr: unix.SYS_FCHOWNAT, name: "fchownat"},
		{nr: unix.SYS_FCHMODAT, name: "fchmodat"},
		{nr: unix.SYS_FCHMODAT2, name: "fchmodat2"},
		{nr: unix.SYS_FCHMOD, name: "fchmod"},
		{nr: unix.SYS_MKDIRAT, name: "mkdirat"},
		{nr: unix.SYS_SYMLINKAT, name: "symlinkat"},
		{nr: unix.SYS_UNLINKAT, name: "unlinkat"},
		{nr: unix.SYS_UTIMENSAT, name: "utimensat"},
		{nr: unix.SYS_FTRUNCATE, name: "ftruncate"},
		// FIFOs and sockets only: device nodes are never made on the
		// host (nor could they be: no CAP_MKNOD, nodev mounts).
		{nr: unix.SYS_MKNODAT, name: "mknodat", checks: []argCheck{argMasked(2, unix.S_IFMT, unix.S_IFIFO, unix.S_IFSOCK)}},
		// No AT_EMPTY_PATH (linking an open file into the tree) nor
		// AT_SYMLINK_FOLLOW.
		{nr: unix.SYS_LINKAT, name: "linkat", checks: []argCheck{argIs(4, 0)}},
		// No RENAME_WHITEOUT (a device node).
		{nr: unix.SYS_RENAMEAT2, name: "renameat2", checks: []argCheck{argMasked(4, unix.RENAME_WHITEOUT, 0)}},
		{nr: unix.SYS_GETXATTRAT, name: "getxattrat"},
		{nr: unix.SYS_SETXATTRAT, name: "setxattrat"},
		{nr: unix.SYS_LISTXATTRAT, name: "listxattrat"},
		{nr: unix.SYS_REMOVEXATTRAT, name: "removexattrat"},
		{nr: unix.SYS_FGETXATTR, name: "fgetxattr"},
		{nr: unix.SYS_FSETXATTR, name: "fsetxattr"},
		{nr: unix.SYS_FLISTXATTR, name: "flistxattr"},
		{nr: unix.SYS_FREMOVEXATTR, name: "fremovexattr"},
		// New channels: Unix socket pairs only.
		{nr: unix.SYS_SOCKETPAIR, name: "socketpair", checks: []argCheck{argIs(0, unix.AF_UNIX)}},
		{nr: unix.SYS_SETSOCKOPT, name: "setsockopt"},
		{nr: unix.SYS_GETSOCKOPT, name: "getsockopt"},
		{nr: unix.SYS_WRITE, name: "write"}, // error messages; the runtime's wakeups
		{nr: unix.SYS_READ, name: "read"},

		// The Go runtime: scheduling, memory, signals, threads.
		{nr: unix.SYS_SCHED_YIELD, name: "sched_yield"},
		{nr: unix.SYS_NANOSLEEP, name: "nanosleep"},
		{nr: unix.SYS_EPOLL_PWAIT, name: "epoll_pwait"},
		{nr: unix.SYS_EPOLL_WAIT, name: "epoll_wait"},
		{nr: unix.SYS_EPOLL_CTL, name: "epoll_ctl"},
		{nr: unix.SYS_EPOLL_CREATE1, name: "epoll_create1"},
		{nr: unix.SYS_EVENTFD2, name: "eventfd2"},
		{nr: unix.SYS_GETPID, name: "getpid"},
		{nr: unix.SYS_GETTID, name: "gettid"},
		// Preemption and crashes signal this process's threads, and
		// nothing else.
		{nr: unix.SYS_TGKILL, name: "tgkill", checks: []argCheck{argIs(0, self)}},
		{nr: unix.SYS_KILL, name: "kill", checks: []argCheck{argIs(0, self)}},
		{nr: unix.SYS_RT_SIGRETURN, name: "rt_sigreturn"},
		{nr: unix.SYS_RT_SIGPROCMASK, name: "rt_sigprocmask"},
		{nr: unix.SYS_RT_SIGACTION, name: "rt_sigaction"},
		{nr: unix.SYS_SIGALTSTACK, name: "sigaltstack"},
		{nr: unix.SYS_RESTART_SYSCALL, name: "restart_syscall"},
		{nr: unix.SYS_MMAP, name: "mmap"},
		{nr: unix.SYS_MUNMAP, name: "munmap"},
		{nr: unix.SYS_MADVISE, name: "madvise"},
		// Threads (new Ms), never processes.
		{nr: unix.SYS_CLONE, name: "clone", checks: []argCheck{argHas(0, unix.CLONE_THREAD)}},
		// clone3's flags are behind a pointer the filter cannot read:
		// ENOSYS makes callers fall back to clone.
		{nr: unix.SYS_CLONE3, name: "clone3", action: seccompErrno(unix.ENOSYS)},
		{nr: unix.SYS_EXIT, name: "exit"},
		{nr: unix.SYS_EXIT_GROUP, name: "exit_group"},
		// GOMAXPROCS follows the CPU affinity and the cgroup's CPU
		// limit, re-read from a descriptor opened at start.
		{nr: unix.SYS_SCHED_GETAFFINITY, name: "sched_getaffinity"},
		{nr: unix.SYS_PREAD64, name: "pread64"},
		// vDSO fallbacks.
		{nr: unix.SYS_CLOCK_GETTIME, name: "clock_gettime"},
		{nr: unix.SYS_GETTIMEOFDAY, name: "gettimeofday"},
		{nr: unix.SYS_GETRANDOM, name: "getrandom"},
	}
}
