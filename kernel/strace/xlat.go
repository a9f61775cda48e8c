package strace

import (
	"strconv"
	"strings"
)

// xlat is a table of named constants, in the order strace lists them:
// flags are printed in table order, so the order is part of the format.
type xlat []struct {
	v    uint64
	name string
}

// value prints v by name, or in hex with a comment naming the kind of
// constant expected ("0x5 /* SIG_??? */"), or plain hex when dflt is "".
func (x xlat) value(v uint64, dflt string) string {
	for _, e := range x {
		if e.v == v {
			return e.name
		}
	}
	if dflt == "" {
		return hex(v)
	}
	return hex(v) + " /* " + dflt + " */"
}

// flags prints a bit set: the names that match, in table order, joined
// with "|", then any leftover bits in hex. An entry with value 0 names an
// empty set (PROT_NONE); otherwise an empty set prints "0" and a set with
// no known bit prints "0x... /* dflt */". Linux: strace's printflags_ex().
func (x xlat) flags(v uint64, dflt string) string {
	var names []string
	for _, e := range x {
		if e.v == v || (e.v != 0 && v&e.v == e.v) {
			names = append(names, e.name)
			v &^= e.v
			if v == 0 {
				break
			}
		}
	}
	if len(names) == 0 {
		if v == 0 {
			return "0"
		}
		if dflt == "" {
			return hex(v)
		}
		return hex(v) + " /* " + dflt + " */"
	}
	if v != 0 {
		names = append(names, hex(v))
	}
	return strings.Join(names, "|")
}

// lookup returns the name of v, or "".
func (x xlat) lookup(v uint64) string {
	for _, e := range x {
		if e.v == v {
			return e.name
		}
	}
	return ""
}

// hex prints v as C's "%#x" does: "0" for zero, "0x..." otherwise.
func hex(v uint64) string {
	if v == 0 {
		return "0"
	}
	return "0x" + strconv.FormatUint(v, 16)
}

// octal prints v as C's "%#03o" does (strace's file-mode format): "0644",
// "000" for zero.
func octal(v uint64) string {
	s := "0"
	if v != 0 {
		s += strconv.FormatUint(v, 8)
	}
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}

// ptr prints a pointer: NULL for zero, hex otherwise.
func ptr(v uintptr) string {
	if v == 0 {
		return "NULL"
	}
	return hex(uint64(v))
}

func dec(v int64) string   { return strconv.FormatInt(v, 10) }
func udec(v uint64) string { return strconv.FormatUint(v, 10) }

// The constant tables. Values are the x86-64 ones from the Linux UAPI
// headers; names and order follow strace's src/xlat/*.in.

var openAccessModes = xlat{
	{0, "O_RDONLY"}, {1, "O_WRONLY"}, {2, "O_RDWR"}, {3, "O_ACCMODE"},
}

var openModeFlags = xlat{
	{0o100, "O_CREAT"},
	{0o200, "O_EXCL"},
	{0o400, "O_NOCTTY"},
	{0o1000, "O_TRUNC"},
	{0o2000, "O_APPEND"},
	{0o4000, "O_NONBLOCK"},
	// O_SYNC before its parts, so that both bits print as one name.
	{0o4010000, "O_SYNC"},
	{0o4000000, "__O_SYNC"},
	{0o10000, "O_DSYNC"},
	{0o40000, "O_DIRECT"},
	{0o100000, "O_LARGEFILE"},
	{0o400000, "O_NOFOLLOW"},
	{0o1000000, "O_NOATIME"},
	{0o2000000, "O_CLOEXEC"},
	{0o10000000, "O_PATH"},
	// O_TMPFILE before O_DIRECTORY, which it includes.
	{0o20200000, "O_TMPFILE"},
	{0o20000000, "__O_TMPFILE"},
	{0o200000, "O_DIRECTORY"},
	{0o20000, "FASYNC"},
}

const (
	oCreat    = 0o100
	oTmpfileB = 0o20000000 // __O_TMPFILE
)

var accessModes = xlat{
	{0, "F_OK"}, {4, "R_OK"}, {2, "W_OK"}, {1, "X_OK"},
}

var atFlags = xlat{
	{0x100, "AT_SYMLINK_NOFOLLOW"},
	{0x200, "AT_REMOVEDIR"},
	{0x400, "AT_SYMLINK_FOLLOW"},
	{0x800, "AT_NO_AUTOMOUNT"},
	{0x1000, "AT_EMPTY_PATH"},
	{0x8000, "AT_RECURSIVE"},
}

// faccessatFlags are faccessat2's: AT_EACCESS shares AT_REMOVEDIR's bit.
var faccessatFlags = xlat{
	{0x100, "AT_SYMLINK_NOFOLLOW"},
	{0x200, "AT_EACCESS"},
	{0x1000, "AT_EMPTY_PATH"},
}

var statxSyncTypes = xlat{
	{0, "AT_STATX_SYNC_AS_STAT"},
	{0x2000, "AT_STATX_FORCE_SYNC"},
	{0x4000, "AT_STATX_DONT_SYNC"},
}

var statxMasks = xlat{
	{0xfff, "STATX_ALL"},
	{0x7ff, "STATX_BASIC_STATS"},
	{0x1, "STATX_TYPE"},
	{0x2, "STATX_MODE"},
	{0x4, "STATX_NLINK"},
	{0x8, "STATX_UID"},
	{0x10, "STATX_GID"},
	{0x20, "STATX_ATIME"},
	{0x40, "STATX_MTIME"},
	{0x80, "STATX_CTIME"},
	{0x100, "STATX_INO"},
	{0x200, "STATX_SIZE"},
	{0x400, "STATX_BLOCKS"},
	{0x800, "STATX_BTIME"},
	{0x1000, "STATX_MNT_ID"},
	{0x2000, "STATX_DIOALIGN"},
	{0x4000, "STATX_MNT_ID_UNIQUE"},
	{0x8000, "STATX_SUBVOL"},
	{0x10000, "STATX_WRITE_ATOMIC"},
	{0x20000, "STATX_DIO_READ_ALIGN"},
}

var statxAttrs = xlat{
	{0x4, "STATX_ATTR_COMPRESSED"},
	{0x10, "STATX_ATTR_IMMUTABLE"},
	{0x20, "STATX_ATTR_APPEND"},
	{0x40, "STATX_ATTR_NODUMP"},
	{0x800, "STATX_ATTR_ENCRYPTED"},
	{0x1000, "STATX_ATTR_AUTOMOUNT"},
	{0x2000, "STATX_ATTR_MOUNT_ROOT"},
	{0x100000, "STATX_ATTR_VERITY"},
	{0x200000, "STATX_ATTR_DAX"},
	{0x400000, "STATX_ATTR_WRITE_ATOMIC"},
}

var fileTypes = xlat{
	{0o140000, "S_IFSOCK"},
	{0o120000, "S_IFLNK"},
	{0o100000, "S_IFREG"},
	{0o60000, "S_IFBLK"},
	{0o40000, "S_IFDIR"},
	{0o20000, "S_IFCHR"},
	{0o10000, "S_IFIFO"},
}

var mmapProt = xlat{
	{0, "PROT_NONE"},
	{1, "PROT_READ"},
	{2, "PROT_WRITE"},
	{4, "PROT_EXEC"},
	{8, "PROT_SEM"},
	{0x01000000, "PROT_GROWSDOWN"},
	{0x02000000, "PROT_GROWSUP"},
}

// mmapTypes is the low nibble of mmap's flags, a value rather than bits.
var mmapTypes = xlat{
	{0, "MAP_FILE"},
	{1, "MAP_SHARED"},
	{2, "MAP_PRIVATE"},
	{3, "MAP_SHARED_VALIDATE"},
	{8, "MAP_DROPPABLE"},
}

var mmapFlags = xlat{
	{0x10, "MAP_FIXED"},
	{0x20, "MAP_ANONYMOUS"},
	{0x40, "MAP_32BIT"},
	{0x80, "MAP_ABOVE4G"},
	{0x4000, "MAP_NORESERVE"},
	{0x8000, "MAP_POPULATE"},
	{0x10000, "MAP_NONBLOCK"},
	{0x100, "MAP_GROWSDOWN"},
	{0x800, "MAP_DENYWRITE"},
	{0x1000, "MAP_EXECUTABLE"},
	{0x2000, "MAP_LOCKED"},
	{0x20000, "MAP_STACK"},
	{0x40000, "MAP_HUGETLB"},
	{0x80000, "MAP_SYNC"},
	{0x4000000, "MAP_UNINITIALIZED"},
	{0x100000, "MAP_FIXED_NOREPLACE"},
}

var mremapFlags = xlat{
	{1, "MREMAP_MAYMOVE"},
	{2, "MREMAP_FIXED"},
	{4, "MREMAP_DONTUNMAP"},
}

var msyncFlags = xlat{
	{4, "MS_SYNC"},
	{1, "MS_ASYNC"},
	{2, "MS_INVALIDATE"},
}

var madviseAdvice = xlat{
	{0, "MADV_NORMAL"},
	{1, "MADV_RANDOM"},
	{2, "MADV_SEQUENTIAL"},
	{3, "MADV_WILLNEED"},
	{4, "MADV_DONTNEED"},
	{8, "MADV_FREE"},
	{9, "MADV_REMOVE"},
	{10, "MADV_DONTFORK"},
	{11, "MADV_DOFORK"},
	{12, "MADV_MERGEABLE"},
	{13, "MADV_UNMERGEABLE"},
	{14, "MADV_HUGEPAGE"},
	{15, "MADV_NOHUGEPAGE"},
	{16, "MADV_DONTDUMP"},
	{17, "MADV_DODUMP"},
	{18, "MADV_WIPEONFORK"},
	{19, "MADV_KEEPONFORK"},
	{20, "MADV_COLD"},
	{21, "MADV_PAGEOUT"},
	{22, "MADV_POPULATE_READ"},
	{23, "MADV_POPULATE_WRITE"},
	{24, "MADV_DONTNEED_LOCKED"},
	{25, "MADV_COLLAPSE"},
	{100, "MADV_HWPOISON"},
	{101, "MADV_SOFT_OFFLINE"},
	{102, "MADV_GUARD_INSTALL"},
	{103, "MADV_GUARD_REMOVE"},
}

var whences = xlat{
	{0, "SEEK_SET"}, {1, "SEEK_CUR"}, {2, "SEEK_END"}, {3, "SEEK_DATA"}, {4, "SEEK_HOLE"},
}

var clockNames = xlat{
	{0, "CLOCK_REALTIME"},
	{1, "CLOCK_MONOTONIC"},
	{2, "CLOCK_PROCESS_CPUTIME_ID"},
	{3, "CLOCK_THREAD_CPUTIME_ID"},
	{4, "CLOCK_MONOTONIC_RAW"},
	{5, "CLOCK_REALTIME_COARSE"},
	{6, "CLOCK_MONOTONIC_COARSE"},
	{7, "CLOCK_BOOTTIME"},
	{8, "CLOCK_REALTIME_ALARM"},
	{9, "CLOCK_BOOTTIME_ALARM"},
	{10, "CLOCK_SGI_CYCLE"},
	{11, "CLOCK_TAI"},
}

var timerFlags = xlat{{1, "TIMER_ABSTIME"}}

var archPrctlCodes = xlat{
	{0x1001, "ARCH_SET_GS"},
	{0x1002, "ARCH_SET_FS"},
	{0x1003, "ARCH_GET_FS"},
	{0x1004, "ARCH_GET_GS"},
	{0x1011, "ARCH_GET_CPUID"},
	{0x1012, "ARCH_SET_CPUID"},
	{0x1021, "ARCH_GET_XCOMP_SUPP"},
	{0x1022, "ARCH_GET_XCOMP_PERM"},
	{0x1023, "ARCH_REQ_XCOMP_PERM"},
	{0x1024, "ARCH_GET_XCOMP_GUEST_PERM"},
	{0x1025, "ARCH_REQ_XCOMP_GUEST_PERM"},
	{0x2001, "ARCH_MAP_VDSO_X32"},
	{0x2002, "ARCH_MAP_VDSO_32"},
	{0x2003, "ARCH_MAP_VDSO_64"},
	{0x4001, "ARCH_GET_UNTAG_MASK"},
	{0x4002, "ARCH_ENABLE_TAGGED_ADDR"},
	{0x4003, "ARCH_GET_MAX_TAG_BITS"},
	{0x4004, "ARCH_FORCE_TAGGED_SVA"},
	{0x5001, "ARCH_SHSTK_ENABLE"},
	{0x5002, "ARCH_SHSTK_DISABLE"},
	{0x5003, "ARCH_SHSTK_LOCK"},
	{0x5004, "ARCH_SHSTK_UNLOCK"},
	{0x5005, "ARCH_SHSTK_STATUS"},
}

var rlimitResources = xlat{
	{0, "RLIMIT_CPU"},
	{1, "RLIMIT_FSIZE"},
	{2, "RLIMIT_DATA"},
	{3, "RLIMIT_STACK"},
	{4, "RLIMIT_CORE"},
	{5, "RLIMIT_RSS"},
	{6, "RLIMIT_NPROC"},
	{7, "RLIMIT_NOFILE"},
	{8, "RLIMIT_MEMLOCK"},
	{9, "RLIMIT_AS"},
	{10, "RLIMIT_LOCKS"},
	{11, "RLIMIT_SIGPENDING"},
	{12, "RLIMIT_MSGQUEUE"},
	{13, "RLIMIT_NICE"},
	{14, "RLIMIT_RTPRIO"},
	{15, "RLIMIT_RTTIME"},
}

var rusageWho = xlat{
	{0, "RUSAGE_SELF"},
	{0xffffffff, "RUSAGE_CHILDREN"},
	{1, "RUSAGE_THREAD"},
}

var waitOptions = xlat{
	{1, "WNOHANG"},
	{4, "WEXITED"},
	{2, "WSTOPPED"},
	{8, "WCONTINUED"},
	{0x1000000, "WNOWAIT"},
	{0x80000000, "__WCLONE"},
	{0x40000000, "__WALL"},
	{0x20000000, "__WNOTHREAD"},
}

var cloneFlags = xlat{
	{0x100, "CLONE_VM"},
	{0x200, "CLONE_FS"},
	{0x400, "CLONE_FILES"},
	{0x800, "CLONE_SIGHAND"},
	{0x1000, "CLONE_PIDFD"},
	{0x2000, "CLONE_PTRACE"},
	{0x4000, "CLONE_VFORK"},
	{0x8000, "CLONE_PARENT"},
	{0x10000, "CLONE_THREAD"},
	{0x20000, "CLONE_NEWNS"},
	{0x40000, "CLONE_SYSVSEM"},
	{0x80000, "CLONE_SETTLS"},
	{0x100000, "CLONE_PARENT_SETTID"},
	{0x200000, "CLONE_CHILD_CLEARTID"},
	{0x800000, "CLONE_UNTRACED"},
	{0x1000000, "CLONE_CHILD_SETTID"},
	{0x2000000, "CLONE_NEWCGROUP"},
	{0x4000000, "CLONE_NEWUTS"},
	{0x8000000, "CLONE_NEWIPC"},
	{0x10000000, "CLONE_NEWUSER"},
	{0x20000000, "CLONE_NEWPID"},
	{0x40000000, "CLONE_NEWNET"},
	{0x80000000, "CLONE_IO"},
}

// clone3Flags are the bits only clone3 takes, printed after cloneFlags.
var clone3Flags = xlat{
	{0x100000000, "CLONE_CLEAR_SIGHAND"},
	{0x200000000, "CLONE_INTO_CGROUP"},
}

const (
	clonePidfd       = 0x1000
	cloneSettls      = 0x80000
	cloneParentSetid = 0x100000
	cloneChildClear  = 0x200000
	cloneChildSetid  = 0x1000000
	cloneIntoCgroup  = 0x200000000
)

var pipeFlags = openModeFlags

var getrandomFlags = xlat{
	{1, "GRND_NONBLOCK"}, {2, "GRND_RANDOM"}, {4, "GRND_INSECURE"},
}

var closeRangeFlags = xlat{
	{2, "CLOSE_RANGE_UNSHARE"}, {4, "CLOSE_RANGE_CLOEXEC"},
}

var pollEvents = xlat{
	{0x1, "POLLIN"},
	{0x2, "POLLPRI"},
	{0x4, "POLLOUT"},
	{0x8, "POLLERR"},
	{0x10, "POLLHUP"},
	{0x20, "POLLNVAL"},
	{0x40, "POLLRDNORM"},
	{0x80, "POLLRDBAND"},
	{0x100, "POLLWRNORM"},
	{0x200, "POLLWRBAND"},
	{0x400, "POLLMSG"},
	{0x1000, "POLLREMOVE"},
	{0x2000, "POLLRDHUP"},
	{0x8000, "POLL_BUSY_LOOP"},
}

var fcntlCmds = xlat{
	{0, "F_DUPFD"},
	{1, "F_GETFD"},
	{2, "F_SETFD"},
	{3, "F_GETFL"},
	{4, "F_SETFL"},
	{5, "F_GETLK"},
	{6, "F_SETLK"},
	{7, "F_SETLKW"},
	{8, "F_SETOWN"},
	{9, "F_GETOWN"},
	{10, "F_SETSIG"},
	{11, "F_GETSIG"},
	{15, "F_SETOWN_EX"},
	{16, "F_GETOWN_EX"},
	{17, "F_GETOWNER_UIDS"},
	{36, "F_OFD_GETLK"},
	{37, "F_OFD_SETLK"},
	{38, "F_OFD_SETLKW"},
	{1024, "F_SETLEASE"},
	{1025, "F_GETLEASE"},
	{1026, "F_NOTIFY"},
	{1027, "F_DUPFD_QUERY"},
	{1028, "F_CREATED_QUERY"},
	{1029, "F_CANCELLK"},
	{1030, "F_DUPFD_CLOEXEC"},
	{1031, "F_SETPIPE_SZ"},
	{1032, "F_GETPIPE_SZ"},
	{1033, "F_ADD_SEALS"},
	{1034, "F_GET_SEALS"},
}

var fdFlags = xlat{{1, "FD_CLOEXEC"}}

var lockTypes = xlat{{0, "F_RDLCK"}, {1, "F_WRLCK"}, {2, "F_UNLCK"}}

var leaseTypes = xlat{{0, "F_RDLCK"}, {1, "F_WRLCK"}, {2, "F_UNLCK"}}

var notifyFlags = xlat{
	{0x1, "DN_ACCESS"},
	{0x2, "DN_MODIFY"},
	{0x4, "DN_CREATE"},
	{0x8, "DN_DELETE"},
	{0x10, "DN_RENAME"},
	{0x20, "DN_ATTRIB"},
	{0x80000000, "DN_MULTISHOT"},
}

var sealFlags = xlat{
	{0x1, "F_SEAL_SEAL"},
	{0x2, "F_SEAL_SHRINK"},
	{0x4, "F_SEAL_GROW"},
	{0x8, "F_SEAL_WRITE"},
	{0x10, "F_SEAL_FUTURE_WRITE"},
	{0x20, "F_SEAL_EXEC"},
}

var rebootMagic1 = xlat{{0xfee1dead, "LINUX_REBOOT_MAGIC1"}}

var rebootMagic2 = xlat{
	{672274793, "LINUX_REBOOT_MAGIC2"},
	{85072278, "LINUX_REBOOT_MAGIC2A"},
	{369367448, "LINUX_REBOOT_MAGIC2B"},
	{537993216, "LINUX_REBOOT_MAGIC2C"},
}

var rebootCmds = xlat{
	{0, "LINUX_REBOOT_CMD_CAD_OFF"},
	{0x89abcdef, "LINUX_REBOOT_CMD_CAD_ON"},
	{0xcdef0123, "LINUX_REBOOT_CMD_HALT"},
	{0x45584543, "LINUX_REBOOT_CMD_KEXEC"},
	{0x4321fedc, "LINUX_REBOOT_CMD_POWER_OFF"},
	{0x1234567, "LINUX_REBOOT_CMD_RESTART"},
	{0xa1b2c3d4, "LINUX_REBOOT_CMD_RESTART2"},
	{0xd000fce2, "LINUX_REBOOT_CMD_SW_SUSPEND"},
}

const rebootRestart2 = 0xa1b2c3d4

var mountFlags = xlat{
	{1 << 0, "MS_RDONLY"},
	{1 << 1, "MS_NOSUID"},
	{1 << 2, "MS_NODEV"},
	{1 << 3, "MS_NOEXEC"},
	{1 << 4, "MS_SYNCHRONOUS"},
	{1 << 5, "MS_REMOUNT"},
	{1 << 6, "MS_MANDLOCK"},
	{1 << 7, "MS_DIRSYNC"},
	{1 << 8, "MS_NOSYMFOLLOW"},
	{1 << 10, "MS_NOATIME"},
	{1 << 11, "MS_NODIRATIME"},
	{1 << 12, "MS_BIND"},
	{1 << 13, "MS_MOVE"},
	{1 << 14, "MS_REC"},
	{1 << 15, "MS_SILENT"},
	{1 << 16, "MS_POSIXACL"},
	{1 << 17, "MS_UNBINDABLE"},
	{1 << 18, "MS_PRIVATE"},
	{1 << 19, "MS_SLAVE"},
	{1 << 20, "MS_SHARED"},
	{1 << 21, "MS_RELATIME"},
	{1 << 22, "MS_KERNMOUNT"},
	{1 << 23, "MS_I_VERSION"},
	{1 << 24, "MS_STRICTATIME"},
	{1 << 25, "MS_LAZYTIME"},
	{1 << 26, "MS_SUBMOUNT"},
	{1 << 27, "MS_NOREMOTELOCK"},
	{1 << 28, "MS_NOSEC"},
	{1 << 29, "MS_BORN"},
	{1 << 30, "MS_ACTIVE"},
	{1 << 31, "MS_NOUSER"},
}

var umountFlags = xlat{
	{1, "MNT_FORCE"}, {2, "MNT_DETACH"}, {4, "MNT_EXPIRE"}, {8, "UMOUNT_NOFOLLOW"},
}

var finitModuleFlags = xlat{
	{1, "MODULE_INIT_IGNORE_MODVERSIONS"},
	{2, "MODULE_INIT_IGNORE_VERMAGIC"},
	{4, "MODULE_INIT_COMPRESSED_FILE"},
}

var sigaltstackFlags = xlat{
	{1, "SS_ONSTACK"}, {2, "SS_DISABLE"}, {1 << 31, "SS_AUTODISARM"},
}

var rseqFlags = xlat{{1, "RSEQ_FLAG_UNREGISTER"}}

var renameFlags = xlat{{1, "RENAME_NOREPLACE"}, {2, "RENAME_EXCHANGE"}, {4, "RENAME_WHITEOUT"}}

var itimerWhich = xlat{{0, "ITIMER_REAL"}, {1, "ITIMER_VIRTUAL"}, {2, "ITIMER_PROF"}}
