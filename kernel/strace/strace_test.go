package strace

import (
	"math/bits"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The expected lines below were produced by strace 6.1 tracing small C
// programs natively (with the `= ` column padding removed), then replayed
// here with the same registers and memory.

const (
	a1  = 0x7ffd1000
	a2  = 0x7ffd2000
	a3  = 0x7ffd3000
	a4  = 0x7ffd4000
	bad = 0x8 // never mapped
)

type lineTest struct {
	name  string
	args  [6]uintptr
	ret   uintptr
	errno unix.Errno
	mem   *fakeMem
	want  string
}

func runLines(t *testing.T, tests []lineTest) {
	t.Helper()
	for _, tt := range tests {
		m := tt.mem
		if m == nil {
			m = newMem()
		}
		got := Line(m, tt.name, tt.args, tt.ret, tt.errno)
		if got != tt.want {
			t.Errorf("Line(%s, %#x):\n got %s\nwant %s", tt.name, tt.args, got, tt.want)
		}
	}
}

func neg(v int64) uintptr { return uintptr(v) }

// sigbit is the sigset_t bit of signal s.
func sigbit(s uint) uint64 { return 1 << (s - 1) }

func TestBriefExamples(t *testing.T) {
	runLines(t, []lineTest{
		{name: "openat", args: [6]uintptr{neg(-100), a1, unix.O_RDONLY | unix.O_CLOEXEC}, ret: 3,
			mem:  newMem().str(a1, "/etc/os-release"),
			want: `openat(AT_FDCWD, "/etc/os-release", O_RDONLY|O_CLOEXEC) = 3`},
		{name: "read", args: [6]uintptr{3, a1, 4096}, ret: 267,
			mem:  newMem().put(a1, []byte("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian\"\n")),
			want: `read(3, "PRETTY_NAME=\"Debian GNU/Linux 12"..., 4096) = 267`},
		{name: "mmap", args: [6]uintptr{0, 8192, 3, unix.MAP_PRIVATE | unix.MAP_ANONYMOUS, neg(-1), 0}, ret: 0x7f12a4c00000,
			want: `mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f12a4c00000`},
		{name: "openat", args: [6]uintptr{neg(-100), a1, 0}, errno: unix.ENOENT,
			mem:  newMem().str(a1, "/nope"),
			want: `openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory)`},
		{name: "exit_group", want: `exit_group(0) = ?`},
		{name: "rt_sigprocmask", args: [6]uintptr{0, a1, 0, 8},
			mem:  newMem().u64s(a1, sigbit(2)|sigbit(15)),
			want: `rt_sigprocmask(SIG_BLOCK, [INT TERM], NULL, 8) = 0`},
	})
}

func TestStrings(t *testing.T) {
	long := "0123456789012345678901234567890123456789"
	runLines(t, []lineTest{
		{name: "write", args: [6]uintptr{3, a1, 12}, ret: 12,
			mem:  newMem().put(a1, []byte("a\x00b\x011\n\t\"\\\x7f\xff8")),
			want: `write(3, "a\0b\0011\n\t\"\\\177\3778", 12) = 12`},
		{name: "write", args: [6]uintptr{1, a1, 6}, ret: 6,
			mem:  newMem().put(a1, []byte("\x018\x01x\x80\t")),
			want: `write(1, "\18\1x\200\t", 6) = 6`},
		{name: "write", args: [6]uintptr{1, a1, 9}, ret: 9,
			mem:  newMem().put(a1, []byte("\x1b[0m\r\v\f\a\b")),
			want: `write(1, "\33[0m\r\v\f\7\10", 9) = 9`},
		{name: "write", args: [6]uintptr{3, a1, 40}, ret: 40,
			mem:  newMem().put(a1, []byte(long)),
			want: `write(3, "01234567890123456789012345678901"..., 40) = 40`},
		{name: "write", args: [6]uintptr{3, a1, 0}, mem: newMem().put(a1, []byte("x")),
			want: `write(3, "", 0) = 0`},
		{name: "write", args: [6]uintptr{3, 0, 0}, want: `write(3, NULL, 0) = 0`},
		{name: "write", args: [6]uintptr{3, 1, 5}, errno: unix.EFAULT,
			want: `write(3, 0x1, 5) = -1 EFAULT (Bad address)`},
		// A buffer that is only partly readable is printed as a pointer.
		{name: "write", args: [6]uintptr{3, a1, 10}, ret: 10, mem: newMem().put(a1, []byte("abc")),
			want: `write(3, 0x7ffd1000, 10) = 10`},
		{name: "read", args: [6]uintptr{3, a1, 100}, errno: unix.EBADF,
			mem:  newMem().put(a1, []byte("stale")),
			want: `read(3, 0x7ffd1000, 100) = -1 EBADF (Bad file descriptor)`},
		{name: "read", args: [6]uintptr{3, a1, 100}, ret: 0, want: `read(3, "", 100) = 0`},
		{name: "pread64", args: [6]uintptr{3, a1, 10, 5}, ret: 10,
			mem:  newMem().put(a1, []byte("Y_NAME=\"De")),
			want: `pread64(3, "Y_NAME=\"De", 10, 5) = 10`},
		{name: "pwrite64", args: [6]uintptr{3, a1, 5, 100}, ret: 5,
			mem:  newMem().put(a1, []byte("hello")),
			want: `pwrite64(3, "hello", 5, 100) = 5`},
		// Paths are shown in full; other strings stop after 32 bytes.
		{name: "openat", args: [6]uintptr{neg(-100), a1, 0}, errno: unix.ENOENT,
			mem:  newMem().str(a1, "/tmp/st/a-path-that-is-longer-than-thirty-two-bytes/and/more"),
			want: `openat(AT_FDCWD, "/tmp/st/a-path-that-is-longer-than-thirty-two-bytes/and/more", O_RDONLY) = -1 ENOENT (No such file or directory)`},
		{name: "init_module", args: [6]uintptr{0x1000, 100, a1}, errno: unix.EPERM,
			mem:  newMem().str(a1, long),
			want: `init_module(0x1000, 100, "01234567890123456789012345678901"...) = -1 EPERM (Operation not permitted)`},
		{name: "init_module", args: [6]uintptr{0, 0, a1}, errno: unix.EPERM,
			mem:  newMem().str(a1, long[:32]),
			want: `init_module(NULL, 0, "01234567890123456789012345678901") = -1 EPERM (Operation not permitted)`},
		{name: "readlink", args: [6]uintptr{a1, a2, 256}, ret: 50,
			mem:  newMem().str(a1, "ln").str(a2, "/etc/os-release-which-is-a-rather-long-target-name"),
			want: `readlink("ln", "/etc/os-release-which-is-a-rathe"..., 256) = 50`},
		{name: "readlinkat", args: [6]uintptr{neg(-100), a1, a2, 8}, ret: 8,
			mem:  newMem().str(a1, "ln").str(a2, "/etc/os-release"),
			want: `readlinkat(AT_FDCWD, "ln", "/etc/os-", 8) = 8`},
		{name: "getcwd", args: [6]uintptr{a1, 256}, ret: 8, mem: newMem().str(a1, "/tmp/st"),
			want: `getcwd("/tmp/st", 256) = 8`},
		{name: "getcwd", args: [6]uintptr{a1, 2}, errno: unix.ERANGE,
			want: `getcwd(0x7ffd1000, 2) = -1 ERANGE (Numerical result out of range)`},
		{name: "getrandom", args: [6]uintptr{a1, 8, 1}, ret: 8,
			mem:  newMem().put(a1, []byte{0x7f, 0x67, 0xe7, 0xd7, 0xd9, 0xf3, 0xd5, 0x65}),
			want: `getrandom("\x7f\x67\xe7\xd7\xd9\xf3\xd5\x65", 8, GRND_NONBLOCK) = 8`},
		{name: "getrandom", args: [6]uintptr{a1, 64, 0}, ret: 64, mem: newMem().zero(a1, 64),
			want: `getrandom("` + strings.Repeat(`\x00`, 32) + `"..., 64, 0) = 64`},
		{name: "getrandom", args: [6]uintptr{a1, 4, 7}, errno: unix.EINVAL,
			want: `getrandom(0x7ffd1000, 4, GRND_NONBLOCK|GRND_RANDOM|GRND_INSECURE) = -1 EINVAL (Invalid argument)`},
	})
}

// TestFaultingStrings checks strings against unmapped memory: a string
// that ends before an unmapped page is read; one that runs into it, or
// starts in it, is shown as a pointer.
func TestFaultingStrings(t *testing.T) {
	const page = 0x7ffd0000
	endsAtPage := newMem().str(page-6, "/etc") // "/etc\0" then unmapped
	runsIntoHole := newMem().put(page-4, []byte("/etc"))
	runLines(t, []lineTest{
		{name: "chdir", args: [6]uintptr{page - 6}, mem: endsAtPage, want: `chdir("/etc") = 0`},
		{name: "chdir", args: [6]uintptr{page - 4}, mem: runsIntoHole, want: `chdir(0x7ffcfffc) = 0`},
		{name: "chdir", args: [6]uintptr{bad}, errno: unix.EFAULT, want: `chdir(0x8) = -1 EFAULT (Bad address)`},
		{name: "chdir", args: [6]uintptr{0}, errno: unix.EFAULT, want: `chdir(NULL) = -1 EFAULT (Bad address)`},
		{name: "rename", args: [6]uintptr{a1, bad}, errno: unix.EFAULT, mem: newMem().str(a1, "dd"),
			want: `rename("dd", 0x8) = -1 EFAULT (Bad address)`},
		// A path with no NUL within PATH_MAX bytes.
		{name: "unlink", args: [6]uintptr{a1}, errno: unix.ENAMETOOLONG,
			mem:  newMem().put(a1, []byte(strings.Repeat("a", maxPath+10))),
			want: `unlink("` + strings.Repeat("a", maxPath) + `"...) = -1 ENAMETOOLONG (File name too long)`},
	})
}

func TestFiles(t *testing.T) {
	runLines(t, []lineTest{
		{name: "openat", args: [6]uintptr{neg(-100), a1, unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC, 0o644}, ret: 3,
			mem:  newMem().str(a1, "/tmp/st/x.txt"),
			want: `openat(AT_FDCWD, "/tmp/st/x.txt", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3`},
		{name: "openat", args: [6]uintptr{neg(-100), a1, unix.O_RDWR | unix.O_APPEND | unix.O_NONBLOCK | unix.O_SYNC | unix.O_NOFOLLOW}, ret: 3,
			mem:  newMem().str(a1, "/tmp/st/x.txt"),
			want: `openat(AT_FDCWD, "/tmp/st/x.txt", O_RDWR|O_APPEND|O_NONBLOCK|O_SYNC|O_NOFOLLOW) = 3`},
		{name: "open", args: [6]uintptr{a1, unix.O_RDWR | unix.O_CREAT | unix.O_EXCL, 0o600}, ret: 3,
			mem: newMem().str(a1, "/tmp/st/y"), want: `open("/tmp/st/y", O_RDWR|O_CREAT|O_EXCL, 0600) = 3`},
		{name: "open", args: [6]uintptr{a1, unix.O_RDWR | unix.O_TMPFILE, 0o600}, ret: 4,
			mem: newMem().str(a1, "/tmp/st"), want: `open("/tmp/st", O_RDWR|O_TMPFILE, 0600) = 4`},
		{name: "open", args: [6]uintptr{a1, unix.O_PATH | unix.O_DIRECTORY | 3}, ret: 5,
			mem: newMem().str(a1, "/tmp/st"), want: `open("/tmp/st", O_ACCMODE|O_PATH|O_DIRECTORY) = 5`},
		{name: "openat", args: [6]uintptr{7, a1, 0x80000000}, ret: 5,
			mem: newMem().str(a1, "x"), want: `openat(7, "x", O_RDONLY|0x80000000) = 5`},
		{name: "close", args: [6]uintptr{3}, want: `close(3) = 0`},
		{name: "lseek", args: [6]uintptr{3, neg(-3), 2}, ret: 264, want: `lseek(3, -3, SEEK_END) = 264`},
		{name: "lseek", args: [6]uintptr{0, 0, 9}, errno: unix.EINVAL,
			want: `lseek(0, 0, 0x9 /* SEEK_??? */) = -1 EINVAL (Invalid argument)`},
		{name: "writev", args: [6]uintptr{3, a1, 2}, ret: 7,
			mem:  newMem().u64s(a1, a2, 2, a3, 5).put(a2, []byte("hi")).put(a3, []byte("there")),
			want: `writev(3, [{iov_base="hi", iov_len=2}, {iov_base="there", iov_len=5}], 2) = 7`},
		// readv shows what was read, across the buffers.
		{name: "readv", args: [6]uintptr{3, a1, 2}, ret: 44,
			mem: newMem().u64s(a1, a2, 4, a3, 40).put(a2, []byte("a\x00b\x01")).
				put(a3, []byte("1\n\t\"\\\x7f\xff8012345678901234567890123456789")),
			want: `readv(3, [{iov_base="a\0b\1", iov_len=4}, {iov_base="1\n\t\"\\\177\3778012345678901234567890123"..., iov_len=40}], 2) = 44`},
		{name: "readv", args: [6]uintptr{3, a1, 2}, ret: 6,
			mem:  newMem().u64s(a1, a2, 4, a3, 40).put(a2, []byte("abcd")).put(a3, []byte("ef")),
			want: `readv(3, [{iov_base="abcd", iov_len=4}, {iov_base="ef", iov_len=40}], 2) = 6`},
		{name: "readv", args: [6]uintptr{99, a1, 1}, errno: unix.EBADF, mem: newMem().u64s(a1, a2, 10),
			want: `readv(99, [{iov_base=0x7ffd2000, iov_len=10}], 1) = -1 EBADF (Bad file descriptor)`},
		{name: "readv", args: [6]uintptr{3, bad, 1}, errno: unix.EFAULT,
			want: `readv(3, 0x8, 1) = -1 EFAULT (Bad address)`},
		{name: "writev", args: [6]uintptr{1, bad, 1}, errno: unix.EFAULT,
			want: `writev(1, 0x8, 1) = -1 EFAULT (Bad address)`},
		{name: "pipe", args: [6]uintptr{a1}, mem: newMem().u32s(a1, 3, 4), want: `pipe([3, 4]) = 0`},
		{name: "pipe2", args: [6]uintptr{a1, unix.O_CLOEXEC | unix.O_NONBLOCK}, mem: newMem().u32s(a1, 5, 6),
			want: `pipe2([5, 6], O_NONBLOCK|O_CLOEXEC) = 0`},
		{name: "pipe2", args: [6]uintptr{bad, 0}, errno: unix.EFAULT, want: `pipe2(0x8, 0) = -1 EFAULT (Bad address)`},
		{name: "dup", args: [6]uintptr{7}, ret: 9, want: `dup(7) = 9`},
		{name: "dup2", args: [6]uintptr{99, 12}, errno: unix.EBADF, want: `dup2(99, 12) = -1 EBADF (Bad file descriptor)`},
		{name: "dup3", args: [6]uintptr{7, 11, unix.O_CLOEXEC}, ret: 11, want: `dup3(7, 11, O_CLOEXEC) = 11`},
		{name: "access", args: [6]uintptr{a1, unix.R_OK | unix.W_OK}, mem: newMem().str(a1, "/etc/passwd"),
			want: `access("/etc/passwd", R_OK|W_OK) = 0`},
		{name: "access", args: [6]uintptr{a1, 0}, mem: newMem().str(a1, "/etc/passwd"),
			want: `access("/etc/passwd", F_OK) = 0`},
		{name: "access", args: [6]uintptr{a1, 8}, errno: unix.EINVAL, mem: newMem().str(a1, "/etc/passwd"),
			want: `access("/etc/passwd", 0x8 /* ?_OK */) = -1 EINVAL (Invalid argument)`},
		{name: "faccessat", args: [6]uintptr{neg(-100), a1, unix.R_OK}, mem: newMem().str(a1, "/etc/passwd"),
			want: `faccessat(AT_FDCWD, "/etc/passwd", R_OK) = 0`},
		{name: "faccessat2", args: [6]uintptr{neg(-100), a1, unix.R_OK, unix.AT_EACCESS | unix.AT_SYMLINK_NOFOLLOW},
			mem:  newMem().str(a1, "/etc/passwd"),
			want: `faccessat2(AT_FDCWD, "/etc/passwd", R_OK, AT_SYMLINK_NOFOLLOW|AT_EACCESS) = 0`},
		{name: "faccessat2", args: [6]uintptr{13, a1, 0, unix.AT_EMPTY_PATH}, mem: newMem().str(a1, ""),
			want: `faccessat2(13, "", F_OK, AT_EMPTY_PATH) = 0`},
		{name: "mkdir", args: [6]uintptr{a1, 0o755}, mem: newMem().str(a1, "dd"), want: `mkdir("dd", 0755) = 0`},
		{name: "mkdir", args: [6]uintptr{a1, 0}, errno: unix.EEXIST, mem: newMem().str(a1, "dd"),
			want: `mkdir("dd", 000) = -1 EEXIST (File exists)`},
		{name: "mkdirat", args: [6]uintptr{neg(-100), a1, 0o1777}, mem: newMem().str(a1, "ff"),
			want: `mkdirat(AT_FDCWD, "ff", 01777) = 0`},
		{name: "unlinkat", args: [6]uintptr{neg(-100), a1, unix.AT_REMOVEDIR}, mem: newMem().str(a1, "ff"),
			want: `unlinkat(AT_FDCWD, "ff", AT_REMOVEDIR) = 0`},
		{name: "rename", args: [6]uintptr{a1, a2}, mem: newMem().str(a1, "dd").str(a2, "ee"),
			want: `rename("dd", "ee") = 0`},
		{name: "rmdir", args: [6]uintptr{a1}, mem: newMem().str(a1, "ee"), want: `rmdir("ee") = 0`},
		{name: "unlink", args: [6]uintptr{a1}, mem: newMem().str(a1, "ln"), want: `unlink("ln") = 0`},
		{name: "chmod", args: [6]uintptr{a1, 0o4755}, mem: newMem().str(a1, "lk"), want: `chmod("lk", 04755) = 0`},
		{name: "chdir", args: [6]uintptr{a1}, errno: unix.ENOENT, mem: newMem().str(a1, "/nonexist"),
			want: `chdir("/nonexist") = -1 ENOENT (No such file or directory)`},
		{name: "umask", args: [6]uintptr{0o22}, ret: 0o22, want: `umask(022) = 022`},
		{name: "umask", args: [6]uintptr{0o777}, ret: 0, want: `umask(0777) = 000`},
		{name: "getdents64", args: [6]uintptr{13, a1, 32768}, ret: 48,
			mem:  newMem().zero(a1, 48).put(a1+16, []byte{24, 0}).put(a1+24+16, []byte{24, 0}),
			want: `getdents64(13, 0x7ffd1000 /* 2 entries */, 32768) = 48`},
		{name: "getdents64", args: [6]uintptr{13, a1, 32768}, ret: 0,
			want: `getdents64(13, 0x7ffd1000 /* 0 entries */, 32768) = 0`},
		{name: "getdents64", args: [6]uintptr{99, a1, 32768}, errno: unix.EBADF,
			want: `getdents64(99, 0x7ffd1000, 32768) = -1 EBADF (Bad file descriptor)`},
		{name: "close_range", args: [6]uintptr{100, 0xffffffff, 0}, want: `close_range(100, 4294967295, 0) = 0`},
		{name: "close_range", args: [6]uintptr{100, 200, 2 | 0x10}, errno: unix.EINVAL,
			want: `close_range(100, 200, CLOSE_RANGE_UNSHARE|0x10) = -1 EINVAL (Invalid argument)`},
	})
}

func TestStat(t *testing.T) {
	runLines(t, []lineTest{
		{name: "stat", args: [6]uintptr{a1, a2}, mem: newMem().str(a1, "/etc/os-release").put(a2, statBuf(unix.S_IFREG|0o644, 0, 267)),
			want: `stat("/etc/os-release", {st_mode=S_IFREG|0644, st_size=267, ...}) = 0`},
		{name: "lstat", args: [6]uintptr{a1, a2}, mem: newMem().str(a1, "/dev/null").put(a2, statBuf(unix.S_IFCHR|0o666, unix.Mkdev(1, 3), 0)),
			want: `lstat("/dev/null", {st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}) = 0`},
		{name: "fstat", args: [6]uintptr{0, a2}, mem: newMem().put(a2, statBuf(unix.S_IFCHR|0o666, unix.Mkdev(0x88, 0), 0)),
			want: `fstat(0, {st_mode=S_IFCHR|0666, st_rdev=makedev(0x88, 0), ...}) = 0`},
		{name: "stat", args: [6]uintptr{a1, a2}, errno: unix.ENOENT, mem: newMem().str(a1, "/nope").zero(a2, 144),
			want: `stat("/nope", 0x7ffd2000) = -1 ENOENT (No such file or directory)`},
		{name: "newfstatat", args: [6]uintptr{neg(-100), a1, a2, 0}, mem: newMem().str(a1, "/tmp").put(a2, statBuf(unix.S_IFDIR|unix.S_ISVTX|0o777, 0, 4096)),
			want: `newfstatat(AT_FDCWD, "/tmp", {st_mode=S_IFDIR|S_ISVTX|0777, st_size=4096, ...}, 0) = 0`},
		{name: "newfstatat", args: [6]uintptr{99, a1, a2, unix.AT_EMPTY_PATH}, errno: unix.EBADF, mem: newMem().str(a1, ""),
			want: `newfstatat(99, "", 0x7ffd2000, AT_EMPTY_PATH) = -1 EBADF (Bad file descriptor)`},
		{name: "newfstatat", args: [6]uintptr{neg(-100), a1, a2, unix.AT_SYMLINK_NOFOLLOW | unix.AT_NO_AUTOMOUNT},
			mem:  newMem().str(a1, "/dev/null").put(a2, statBuf(unix.S_IFCHR|0o666, unix.Mkdev(1, 3), 0)),
			want: `newfstatat(AT_FDCWD, "/dev/null", {st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}, AT_SYMLINK_NOFOLLOW|AT_NO_AUTOMOUNT) = 0`},
		// The kernel wrote a struct we cannot read back: its pointer.
		{name: "fstat", args: [6]uintptr{3, bad}, want: `fstat(3, 0x8) = 0`},
		{name: "statx", args: [6]uintptr{neg(-100), a1, 0, unix.STATX_ALL, a2},
			mem: newMem().str(a1, "/etc/os-release").zero(a2, 256).
				u32s(a2, unix.STATX_ALL|unix.STATX_MNT_ID).put(a2+28, []byte{0xa4, 0x81}).u64s(a2+40, 267),
			want: `statx(AT_FDCWD, "/etc/os-release", AT_STATX_SYNC_AS_STAT, STATX_ALL, {stx_mask=STATX_ALL|STATX_MNT_ID, stx_attributes=0, stx_mode=S_IFREG|0644, stx_size=267, ...}) = 0`},
		{name: "statx", args: [6]uintptr{neg(-100), a1, unix.AT_SYMLINK_NOFOLLOW | unix.AT_STATX_DONT_SYNC, unix.STATX_TYPE | unix.STATX_SIZE, a2},
			errno: unix.ENOENT, mem: newMem().str(a1, "/x"),
			want: `statx(AT_FDCWD, "/x", AT_STATX_DONT_SYNC|AT_SYMLINK_NOFOLLOW, STATX_TYPE|STATX_SIZE, 0x7ffd2000) = -1 ENOENT (No such file or directory)`},
	})
}

func TestMemoryCalls(t *testing.T) {
	const m = 0x7f8483d5b000
	runLines(t, []lineTest{
		{name: "mprotect", args: [6]uintptr{m, 4096, 0}, want: `mprotect(0x7f8483d5b000, 4096, PROT_NONE) = 0`},
		{name: "munmap", args: [6]uintptr{^uintptr(0), 16384}, errno: unix.EINVAL,
			want: `munmap(0xffffffffffffffff, 16384) = -1 EINVAL (Invalid argument)`},
		{name: "mincore", args: [6]uintptr{m, 8192, a1}, mem: newMem().zero(a1, 2),
			want: `mincore(0x7f8483d5b000, 8192, [0, 0]) = 0`},
		{name: "mincore", args: [6]uintptr{m, 40 * 4096, a1}, mem: newMem().put(a1, []byte(strings.Repeat("\x01", 40))),
			want: `mincore(0x7f8483d5b000, 163840, [` + strings.Repeat("1, ", 32) + `...]) = 0`},
		{name: "madvise", args: [6]uintptr{m, 8192, unix.MADV_DONTNEED}, want: `madvise(0x7f8483d5b000, 8192, MADV_DONTNEED) = 0`},
		{name: "madvise", args: [6]uintptr{m, 8192, 77}, errno: unix.EINVAL,
			want: `madvise(0x7f8483d5b000, 8192, 0x4d /* MADV_??? */) = -1 EINVAL (Invalid argument)`},
		{name: "msync", args: [6]uintptr{m, 4096, unix.MS_SYNC | unix.MS_INVALIDATE},
			want: `msync(0x7f8483d5b000, 4096, MS_SYNC|MS_INVALIDATE) = 0`},
		{name: "mremap", args: [6]uintptr{m, 4096, 8192, 0}, errno: unix.EFAULT,
			want: `mremap(0x7f8483d5b000, 4096, 8192, 0) = -1 EFAULT (Bad address)`},
		{name: "mremap", args: [6]uintptr{0x7f2906ccc000, 4096, 8192, 3, 0x7f2906acb000}, ret: 0x7f2906acb000,
			want: `mremap(0x7f2906ccc000, 4096, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7f2906acb000) = 0x7f2906acb000`},
		{name: "mmap", args: [6]uintptr{0x10000000, 4096, 5, 0x1 | 0x10 | 0x20 | 0x4000 | 0x8000, neg(-1), 0}, ret: 0x10000000,
			want: `mmap(0x10000000, 4096, PROT_READ|PROT_EXEC, MAP_SHARED|MAP_FIXED|MAP_ANONYMOUS|MAP_NORESERVE|MAP_POPULATE, -1, 0) = 0x10000000`},
		{name: "mmap", args: [6]uintptr{0, 4096, 1, 2, 99, 0x1000}, errno: unix.EBADF,
			want: `mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 99, 0x1000) = -1 EBADF (Bad file descriptor)`},
		{name: "mmap", args: [6]uintptr{0, 4096, 0x41, 0x4 | 0x20 | 21<<26 | 0x40000, neg(-1), 0}, errno: unix.EINVAL,
			want: `mmap(NULL, 4096, PROT_READ|0x40, 0x4 /* MAP_??? */|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT, -1, 0) = -1 EINVAL (Invalid argument)`},
		{name: "brk", args: [6]uintptr{0}, ret: 0x55dab5fd8000, want: `brk(NULL) = 0x55dab5fd8000`},
	})
}

func TestSignals(t *testing.T) {
	all := ^uint64(0)
	notRT := all &^ (sigbit(32) | sigbit(33))
	sigchldAct := newMem().u64s(a1, 0x55dc39e1e309, 0x14000001, 0x7fd0c7502050, sigbit(10))
	runLines(t, []lineTest{
		{name: "rt_sigprocmask", args: [6]uintptr{2, 0, a1, 8}, mem: newMem().u64s(a1, sigbit(2)|sigbit(15)),
			want: `rt_sigprocmask(SIG_SETMASK, NULL, [INT TERM], 8) = 0`},
		{name: "rt_sigprocmask", args: [6]uintptr{0, a1, a2, 8}, mem: newMem().u64s(a1, notRT).u64s(a2, sigbit(2)|sigbit(15)),
			want: `rt_sigprocmask(SIG_BLOCK, ~[RTMIN RT_1], [INT TERM], 8) = 0`},
		{name: "rt_sigprocmask", args: [6]uintptr{1, a1, a2, 8}, mem: newMem().u64s(a1, notRT).u64s(a2, notRT&^(sigbit(9)|sigbit(19))),
			want: `rt_sigprocmask(SIG_UNBLOCK, ~[RTMIN RT_1], ~[KILL STOP RTMIN RT_1], 8) = 0`},
		{name: "rt_sigprocmask", args: [6]uintptr{7, a1, a2, 8}, errno: unix.EINVAL, mem: newMem().u64s(a1, notRT),
			want: `rt_sigprocmask(0x7 /* SIG_??? */, ~[RTMIN RT_1], 0x7ffd2000, 8) = -1 EINVAL (Invalid argument)`},
		{name: "rt_sigprocmask", args: [6]uintptr{0, a1, a2, 4}, errno: unix.EINVAL, mem: newMem().u64s(a1, notRT),
			want: `rt_sigprocmask(SIG_BLOCK, 0x7ffd1000, 0x7ffd2000, 4) = -1 EINVAL (Invalid argument)`},
		{name: "rt_sigprocmask", args: [6]uintptr{0, a1, 0, 8}, mem: newMem().u64s(a1, sigbit(34)|sigbit(64)),
			want: `rt_sigprocmask(SIG_BLOCK, [RT_2 RT_32], NULL, 8) = 0`},
		{name: "rt_sigprocmask", args: [6]uintptr{0, bad, 0, 8}, errno: unix.EFAULT,
			want: `rt_sigprocmask(SIG_BLOCK, 0x8, NULL, 8) = -1 EFAULT (Bad address)`},
		{name: "rt_sigprocmask", args: [6]uintptr{2, a1, 0, 8}, mem: newMem().u64s(a1, 0),
			want: `rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0`},
		{name: "rt_sigaction", args: [6]uintptr{17, a1, 0, 8}, mem: sigchldAct,
			want: `rt_sigaction(SIGCHLD, {sa_handler=0x55dc39e1e309, sa_mask=[USR1], sa_flags=SA_RESTORER|SA_RESTART|SA_NOCLDSTOP, sa_restorer=0x7fd0c7502050}, NULL, 8) = 0`},
		{name: "rt_sigaction", args: [6]uintptr{13, a1, a2, 8},
			mem:  newMem().u64s(a1, 1, 0x04000000, 0x7fd0c7502050, sigbit(10)).u64s(a2, 0, 0, 0, 0),
			want: `rt_sigaction(SIGPIPE, {sa_handler=SIG_IGN, sa_mask=[USR1], sa_flags=SA_RESTORER, sa_restorer=0x7fd0c7502050}, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0`},
		{name: "rt_sigaction", args: [6]uintptr{40, 0, a2, 8}, mem: newMem().u64s(a2, 0, 0, 0, 0),
			want: `rt_sigaction(SIGRT_8, NULL, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0`},
		{name: "rt_sigaction", args: [6]uintptr{9, a1, a2, 8}, errno: unix.EINVAL,
			mem:  newMem().u64s(a1, 1, 0x04000000, 0x7fd0c7502050, sigbit(10)).u64s(a2, 0, 0, 0, 0),
			want: `rt_sigaction(SIGKILL, {sa_handler=SIG_IGN, sa_mask=[USR1], sa_flags=SA_RESTORER, sa_restorer=0x7fd0c7502050}, 0x7ffd2000, 8) = -1 EINVAL (Invalid argument)`},
		{name: "rt_sigaction", args: [6]uintptr{12, a1, 0, 8},
			mem:  newMem().u64s(a1, 0x55dc39e1e309, 0xffffffff00000000|0x04000000|0x08000000|0x40000000|0x80000000|4, 0x7fd0c7502050, sigbit(10)),
			want: `rt_sigaction(SIGUSR2, {sa_handler=0x55dc39e1e309, sa_mask=[USR1], sa_flags=SA_RESTORER|SA_ONSTACK|SA_NODEFER|SA_RESETHAND|SA_SIGINFO|0xffffffff00000000, sa_restorer=0x7fd0c7502050}, NULL, 8) = 0`},
		{name: "rt_sigreturn", ret: 0xfffffffffffffffc, want: `rt_sigreturn() = ?`},
		{name: "kill", args: [6]uintptr{8352, 0}, want: `kill(8352, 0) = 0`},
		{name: "kill", args: [6]uintptr{8352, 17}, want: `kill(8352, SIGCHLD) = 0`},
		{name: "kill", args: [6]uintptr{999999, 77}, errno: unix.ESRCH, want: `kill(999999, 77) = -1 ESRCH (No such process)`},
		{name: "kill", args: [6]uintptr{999999, 45}, errno: unix.ESRCH, want: `kill(999999, SIGRT_13) = -1 ESRCH (No such process)`},
		{name: "kill", args: [6]uintptr{neg(-1), 9}, want: `kill(-1, SIGKILL) = 0`},
		{name: "tgkill", args: [6]uintptr{8352, 8352, 23}, want: `tgkill(8352, 8352, SIGURG) = 0`},
		{name: "sigaltstack", args: [6]uintptr{a1, 0}, mem: newMem().u64s(a1, 0x55dc483e52a0, 0, 65536),
			want: `sigaltstack({ss_sp=0x55dc483e52a0, ss_flags=0, ss_size=65536}, NULL) = 0`},
		{name: "sigaltstack", args: [6]uintptr{0, a2}, mem: newMem().u64s(a2, 0, 2, 0),
			want: `sigaltstack(NULL, {ss_sp=NULL, ss_flags=SS_DISABLE, ss_size=0}) = 0`},
	})
}

func TestTime(t *testing.T) {
	runLines(t, []lineTest{
		{name: "nanosleep", args: [6]uintptr{a1, a2}, mem: newMem().u64s(a1, 0, 1000).u64s(a2, 0, 0),
			want: `nanosleep({tv_sec=0, tv_nsec=1000}, 0x7ffd2000) = 0`},
		{name: "nanosleep", args: [6]uintptr{a1, 0}, mem: newMem().u64s(a1, 0, 1000),
			want: `nanosleep({tv_sec=0, tv_nsec=1000}, NULL) = 0`},
		{name: "nanosleep", args: [6]uintptr{a1, a2}, errno: 516, mem: newMem().u64s(a1, 5, 0).u64s(a2, 4, 979923476),
			want: `nanosleep({tv_sec=5, tv_nsec=0}, {tv_sec=4, tv_nsec=979923476}) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)`},
		{name: "clock_nanosleep", args: [6]uintptr{1, 0, a1, a2}, errno: unix.EINTR, mem: newMem().u64s(a1, 5, 0).u64s(a2, 4, 5),
			want: `clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=5, tv_nsec=0}, {tv_sec=4, tv_nsec=5}) = -1 EINTR (Interrupted system call)`},
		{name: "clock_nanosleep", args: [6]uintptr{0, 0, a1, a2}, errno: unix.EINVAL, mem: newMem().u64s(a1, 0, 2000000000),
			want: `clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=2000000000}, 0x7ffd2000) = -1 EINVAL (Invalid argument)`},
		{name: "clock_nanosleep", args: [6]uintptr{1, 1, a1, 0}, mem: newMem().u64s(a1, 0, 853419),
			want: `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, {tv_sec=0, tv_nsec=853419}, NULL) = 0`},
		{name: "clock_gettime", args: [6]uintptr{7, a1}, mem: newMem().u64s(a1, 6124, 406775572),
			want: `clock_gettime(CLOCK_BOOTTIME, {tv_sec=6124, tv_nsec=406775572}) = 0`},
		{name: "clock_getres", args: [6]uintptr{99, a1}, errno: unix.EINVAL,
			want: `clock_getres(0x63 /* CLOCK_??? */, 0x7ffd1000) = -1 EINVAL (Invalid argument)`},
		{name: "clock_gettime", args: [6]uintptr{neg(-1000), a1}, errno: unix.EINVAL,
			want: `clock_gettime(0xfffffc18 /* CLOCK_??? */, 0x7ffd1000) = -1 EINVAL (Invalid argument)`},
		{name: "gettimeofday", args: [6]uintptr{a1, a2}, mem: newMem().u64s(a1, 1795927709, 322447).u32s(a2, 0, 0),
			want: `gettimeofday({tv_sec=1795927709, tv_usec=322447}, {tz_minuteswest=0, tz_dsttime=0}) = 0`},
		{name: "time", args: [6]uintptr{0}, ret: 1795927709,
			want: `time(NULL) = 1795927709 (2026-11-29T04:48:29+0000)`},
		{name: "time", args: [6]uintptr{a1}, ret: 1795927709, mem: newMem().u64s(a1, 1795927709),
			want: `time([1795927709 /* 2026-11-29T04:48:29+0000 */]) = 1795927709 (2026-11-29T04:48:29+0000)`},
		{name: "times", args: [6]uintptr{a1}, ret: 1718569349, mem: newMem().zero(a1, 32),
			want: `times({tms_utime=0, tms_stime=0, tms_cutime=0, tms_cstime=0}) = 1718569349`},
	})
}

func TestSystemInfo(t *testing.T) {
	uts := newMem().zero(a1, 6*65).str(a1, "Linux").str(a1+65, "vm")
	si := newMem().zero(a1, 112).u64s(a1, 6125, 0, 1568, 96, 25276510208, 24643522560, 9068544, 23871488).
		put(a1+80, []byte{85, 0}).u32s(a1+104, 1)
	runLines(t, []lineTest{
		{name: "uname", args: [6]uintptr{a1}, mem: uts, want: `uname({sysname="Linux", nodename="vm", ...}) = 0`},
		{name: "uname", args: [6]uintptr{bad}, errno: unix.EFAULT, want: `uname(0x8) = -1 EFAULT (Bad address)`},
		{name: "sysinfo", args: [6]uintptr{a1}, mem: si,
			want: `sysinfo({uptime=6125, loads=[0, 1568, 96], totalram=25276510208, freeram=24643522560, sharedram=9068544, bufferram=23871488, totalswap=0, freeswap=0, procs=85, totalhigh=0, freehigh=0, mem_unit=1}) = 0`},
		{name: "getrlimit", args: [6]uintptr{3, a1}, mem: newMem().u64s(a1, 8192*1024, ^uint64(0)),
			want: `getrlimit(RLIMIT_STACK, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0`},
		{name: "getrlimit", args: [6]uintptr{99, a1}, errno: unix.EINVAL,
			want: `getrlimit(0x63 /* RLIMIT_??? */, 0x7ffd1000) = -1 EINVAL (Invalid argument)`},
		{name: "prlimit64", args: [6]uintptr{0, 7, 0, a1}, mem: newMem().u64s(a1, 20000, 1024),
			want: `prlimit64(0, RLIMIT_NOFILE, NULL, {rlim_cur=20000, rlim_max=1024}) = 0`},
		{name: "prlimit64", args: [6]uintptr{0, 7, a1, 0}, mem: newMem().u64s(a1, 2048, 4096),
			want: `prlimit64(0, RLIMIT_NOFILE, {rlim_cur=2*1024, rlim_max=4*1024}, NULL) = 0`},
		{name: "getrusage", args: [6]uintptr{neg(-1), a1}, mem: newMem().zero(a1, 144),
			want: `getrusage(RUSAGE_CHILDREN, {ru_utime={tv_sec=0, tv_usec=0}, ru_stime={tv_sec=0, tv_usec=0}, ...}) = 0`},
		{name: "getuid", want: `getuid() = 0`},
		{name: "getppid", ret: 8349, want: `getppid() = 8349`},
		{name: "setuid", args: [6]uintptr{0}, want: `setuid(0) = 0`},
		{name: "setgid", args: [6]uintptr{1000}, errno: unix.EPERM, want: `setgid(1000) = -1 EPERM (Operation not permitted)`},
		{name: "sched_yield", want: `sched_yield() = 0`},
		{name: "arch_prctl", args: [6]uintptr{0x1003, a1}, mem: newMem().u64s(a1, 0x7f2cb04ef740),
			want: `arch_prctl(ARCH_GET_FS, [0x7f2cb04ef740]) = 0`},
		{name: "arch_prctl", args: [6]uintptr{0x1002, 0x7f2cb04ef740}, want: `arch_prctl(ARCH_SET_FS, 0x7f2cb04ef740) = 0`},
		{name: "arch_prctl", args: [6]uintptr{0x3001, a1}, errno: unix.EINVAL,
			want: `arch_prctl(0x3001 /* ARCH_??? */, 0x7ffd1000) = -1 EINVAL (Invalid argument)`},
		{name: "arch_prctl", args: [6]uintptr{0x1011, 0}, ret: 1, want: `arch_prctl(ARCH_GET_CPUID) = 1`},
		{name: "arch_prctl", args: [6]uintptr{0x1004, 8}, errno: unix.EFAULT,
			want: `arch_prctl(ARCH_GET_GS, 0x8) = -1 EFAULT (Bad address)`},
		{name: "set_tid_address", args: [6]uintptr{0x7ffe28908040}, ret: 9737, want: `set_tid_address(0x7ffe28908040) = 9737`},
		{name: "get_robust_list", args: [6]uintptr{0, a1, a2}, mem: newMem().u64s(a1, 0x7f2cb04efa20).u64s(a2, 24),
			want: `get_robust_list(0, [0x7f2cb04efa20], [24]) = 0`},
		{name: "set_robust_list", args: [6]uintptr{0x7f2cb04efa20, 5}, errno: unix.EINVAL,
			want: `set_robust_list(0x7f2cb04efa20, 5) = -1 EINVAL (Invalid argument)`},
		{name: "rseq", args: [6]uintptr{0x7f3a0450f060, 0x20, 0, 0x53053053},
			want: `rseq(0x7f3a0450f060, 0x20, 0, 0x53053053) = 0`},
		{name: "sched_getaffinity", args: [6]uintptr{0, 8192, a1}, ret: 32, mem: newMem().zero(a1, 32).put(a1, []byte{3}),
			want: `sched_getaffinity(0, 8192, [0 1]) = 32`},
	})
}

func TestPollSelect(t *testing.T) {
	fds := newMem().u32s(a1, 7, 3|1<<16, 8, 4|4<<16, 0xffffffff, 1)
	runLines(t, []lineTest{
		{name: "poll", args: [6]uintptr{a1, 3, 1000}, ret: 2, mem: fds,
			want: `poll([{fd=7, events=POLLIN|POLLPRI}, {fd=8, events=POLLOUT}, {fd=-1}], 3, 1000) = 2 ([{fd=7, revents=POLLIN}, {fd=8, revents=POLLOUT}])`},
		{name: "poll", args: [6]uintptr{a1, 0, 0}, mem: fds, want: `poll([], 0, 0) = 0 (Timeout)`},
		{name: "poll", args: [6]uintptr{bad, 1, neg(-1)}, errno: unix.EFAULT,
			want: `poll(0x8, 1, -1) = -1 EFAULT (Bad address)`},
		// ppoll and pselect6 update the timeout in place; what is shown
		// is what remained.
		{name: "ppoll", args: [6]uintptr{a1, 2, a2, 0, 8}, ret: 2, mem: newMem().u32s(a1, 7, 3|1<<16, 8, 4|4<<16).u64s(a2, 0, 999999305),
			want: `ppoll([{fd=7, events=POLLIN|POLLPRI}, {fd=8, events=POLLOUT}], 2, {tv_sec=0, tv_nsec=999999305}, NULL, 8) = 2 ([{fd=7, revents=POLLIN}, {fd=8, revents=POLLOUT}], left {tv_sec=0, tv_nsec=999999305})`},
		{name: "ppoll", args: [6]uintptr{a1, 2, 0, a3, 8}, ret: 2, mem: newMem().u32s(a1, 7, 3|1<<16, 8, 4|4<<16).u64s(a3, sigbit(10)),
			want: `ppoll([{fd=7, events=POLLIN|POLLPRI}, {fd=8, events=POLLOUT}], 2, NULL, [USR1], 8) = 2 ([{fd=7, revents=POLLIN}, {fd=8, revents=POLLOUT}])`},
		{name: "pselect6", args: [6]uintptr{9, a1, a2, 0, a3, 0}, ret: 3,
			mem:  newMem().u64s(a1, 0x81).u64s(a2, 0x100).u64s(a3, 1, 999998088),
			want: `pselect6(9, [0 7], [8], NULL, {tv_sec=1, tv_nsec=999998088}, NULL) = 3 (in [0 7], out [8], left {tv_sec=1, tv_nsec=999998088})`},
		{name: "pselect6", args: [6]uintptr{9, a1, 0, 0, a3, a4}, ret: 1,
			mem:  newMem().u64s(a1, 0x80).u64s(a3, 2, 999999194).u64s(a4, a2, 8).u64s(a2, sigbit(10)),
			want: `pselect6(9, [7], NULL, NULL, {tv_sec=2, tv_nsec=999999194}, {sigmask=[USR1], sigsetsize=8}) = 1 (in [7], left {tv_sec=2, tv_nsec=999999194})`},
		{name: "pselect6", args: [6]uintptr{9, a1, 0, 0, a3, 0}, ret: 0, mem: newMem().u64s(a1, 0).u64s(a3, 0, 0),
			want: `pselect6(9, [], NULL, NULL, {tv_sec=0, tv_nsec=0}, NULL) = 0 (Timeout)`},
		{name: "select", args: [6]uintptr{2, 0, a1, 0, 0}, ret: 1, mem: newMem().u64s(a1, 2),
			want: `select(2, NULL, [1], NULL, NULL) = 1 (out [1])`},
		{name: "select", args: [6]uintptr{2, a1, 0, 0, a2}, ret: 2, mem: newMem().u64s(a1, 3).u64s(a2, 0, 97),
			want: `select(2, [0 1], NULL, NULL, {tv_sec=0, tv_usec=97}) = 2 (in [0 1], left {tv_sec=0, tv_usec=97})`},
	})
}

func TestFcntlIoctl(t *testing.T) {
	flock := newMem().put(a1, []byte{1, 0, 0, 0, 0, 0, 0, 0}).u64s(a1+8, 0, 10).u32s(a1+24, 0, 0)
	unlocked := newMem().put(a1, []byte{2, 0, 0, 0, 0, 0, 0, 0}).u64s(a1+8, 0, 10).u32s(a1+24, 0, 0)
	tty := termiosBuf(0o400|0o2000, 5, 0o277, 1|2|8|0o20|0o40|0o100000|0o1000|0o4000)
	runLines(t, []lineTest{
		{name: "fcntl", args: [6]uintptr{7, unix.F_GETFD}, want: `fcntl(7, F_GETFD) = 0`},
		{name: "fcntl", args: [6]uintptr{7, unix.F_GETFD}, ret: 1, want: `fcntl(7, F_GETFD) = 0x1 (flags FD_CLOEXEC)`},
		{name: "fcntl", args: [6]uintptr{7, unix.F_SETFD, 1}, want: `fcntl(7, F_SETFD, FD_CLOEXEC) = 0`},
		{name: "fcntl", args: [6]uintptr{7, unix.F_GETFL}, want: `fcntl(7, F_GETFL) = 0 (flags O_RDONLY)`},
		{name: "fcntl", args: [6]uintptr{1, unix.F_GETFL}, ret: 0x8001, want: `fcntl(1, F_GETFL) = 0x8001 (flags O_WRONLY|O_LARGEFILE)`},
		{name: "fcntl", args: [6]uintptr{7, unix.F_SETFL, unix.O_NONBLOCK}, want: `fcntl(7, F_SETFL, O_RDONLY|O_NONBLOCK) = 0`},
		{name: "fcntl", args: [6]uintptr{7, unix.F_DUPFD, 20}, ret: 20, want: `fcntl(7, F_DUPFD, 20) = 20`},
		{name: "fcntl", args: [6]uintptr{7, unix.F_DUPFD_CLOEXEC, 0}, ret: 12, want: `fcntl(7, F_DUPFD_CLOEXEC, 0) = 12`},
		{name: "fcntl", args: [6]uintptr{7, unix.F_GETPIPE_SZ}, ret: 65536, want: `fcntl(7, F_GETPIPE_SZ) = 65536`},
		{name: "fcntl", args: [6]uintptr{7, 9999, 5}, errno: unix.EINVAL,
			want: `fcntl(7, 0x270f /* F_??? */, 0x5) = -1 EINVAL (Invalid argument)`},
		{name: "fcntl", args: [6]uintptr{13, unix.F_SETLK, a1}, mem: flock,
			want: `fcntl(13, F_SETLK, {l_type=F_WRLCK, l_whence=SEEK_SET, l_start=0, l_len=10}) = 0`},
		{name: "fcntl", args: [6]uintptr{13, unix.F_GETLK, a1}, mem: unlocked,
			want: `fcntl(13, F_GETLK, {l_type=F_UNLCK, l_whence=SEEK_SET, l_start=0, l_len=10, l_pid=0}) = 0`},
		{name: "fcntl", args: [6]uintptr{13, unix.F_GETOWN_EX, a1}, mem: newMem().u32s(a1, 0, 0),
			want: `fcntl(13, F_GETOWN_EX, {type=F_OWNER_TID, pid=0}) = 0`},
		{name: "fcntl", args: [6]uintptr{13, unix.F_GETLEASE}, ret: 2, want: `fcntl(13, F_GETLEASE) = 0x2 (F_UNLCK)`},
		{name: "fcntl", args: [6]uintptr{13, unix.F_ADD_SEALS, 1}, errno: unix.EINVAL,
			want: `fcntl(13, F_ADD_SEALS, F_SEAL_SEAL) = -1 EINVAL (Invalid argument)`},
		{name: "fcntl", args: [6]uintptr{13, unix.F_NOTIFY, 0x4 | 0x80000000}, errno: unix.ENOTDIR,
			want: `fcntl(13, F_NOTIFY, DN_CREATE|DN_MULTISHOT) = -1 ENOTDIR (Not a directory)`},
		{name: "fcntl", args: [6]uintptr{13, unix.F_SETSIG, 10}, want: `fcntl(13, F_SETSIG, SIGUSR1) = 0`},
		{name: "fcntl", args: [6]uintptr{13, unix.F_GETSIG}, ret: 10, want: `fcntl(13, F_GETSIG) = 10 (SIGUSR1)`},
		{name: "fcntl", args: [6]uintptr{13, unix.F_SETLEASE, 2}, errno: unix.EAGAIN,
			want: `fcntl(13, F_SETLEASE, F_UNLCK) = -1 EAGAIN (Resource temporarily unavailable)`},

		{name: "ioctl", args: [6]uintptr{14, unix.TCGETS, a1}, mem: newMem().put(a1, tty),
			want: `ioctl(14, TCGETS, {c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR, c_cflag=B38400|CS8|CREAD, c_lflag=ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN|ECHOCTL|ECHOKE, ...}) = 0`},
		{name: "ioctl", args: [6]uintptr{14, unix.TCSETSW, a1}, mem: newMem().put(a1, tty),
			want: `ioctl(14, SNDCTL_TMR_STOP or TCSETSW, {c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR, c_cflag=B38400|CS8|CREAD, c_lflag=ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN|ECHOCTL|ECHOKE, ...}) = 0`},
		{name: "ioctl", args: [6]uintptr{4, unix.TCSETS, a1}, mem: newMem().put(a1, termiosBuf(0, 0, 0, 0)),
			want: `ioctl(4, SNDCTL_TMR_START or TCSETS, {c_iflag=, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|, c_cflag=B0|CS5|, c_lflag=, ...}) = 0`},
		{name: "ioctl", args: [6]uintptr{4, unix.TCSETS, a1},
			mem:  newMem().put(a1, termiosBuf(0x80000, 0x100|0x800|0x4000, 0o10002|0o15<<16|0x40000000, 0x1000000)),
			want: `ioctl(4, SNDCTL_TMR_START or TCSETS, {c_iflag=0x80000, c_oflag=NL1|CR0|TAB1|BS0|VT1|FF0|, c_cflag=B115200|B9600<<IBSHIFT|CS5|CMSPAR, c_lflag=0x1000000, ...}) = 0`},
		{name: "ioctl", args: [6]uintptr{7, unix.TCGETS, a1}, errno: unix.ENOTTY,
			want: `ioctl(7, TCGETS, 0x7ffd1000) = -1 ENOTTY (Inappropriate ioctl for device)`},
		{name: "ioctl", args: [6]uintptr{14, unix.TIOCGWINSZ, a1}, mem: newMem().put(a1, []byte{24, 0, 80, 0, 0, 0, 0, 0}),
			want: `ioctl(14, TIOCGWINSZ, {ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}) = 0`},
		{name: "ioctl", args: [6]uintptr{14, unix.TIOCGPTN, a1}, mem: newMem().u32s(a1, 0), want: `ioctl(14, TIOCGPTN, [0]) = 0`},
		{name: "ioctl", args: [6]uintptr{14, 0x5421, a1}, mem: newMem().u32s(a1, 1), want: `ioctl(14, FIONBIO, [1]) = 0`},
		{name: "ioctl", args: [6]uintptr{14, 0x5451}, want: `ioctl(14, FIOCLEX) = 0`},
		{name: "ioctl", args: [6]uintptr{14, unix.TCFLSH, 0}, want: `ioctl(14, TCFLSH, TCIFLUSH) = 0`},
		{name: "ioctl", args: [6]uintptr{14, unix.TIOCSCTTY, 0}, errno: unix.EPERM,
			want: `ioctl(14, TIOCSCTTY, 0) = -1 EPERM (Operation not permitted)`},
		{name: "ioctl", args: [6]uintptr{4, unix.TIOCSTI, a1}, mem: newMem().str(a1, "a"), want: `ioctl(4, TIOCSTI, "a") = 0`},
		{name: "ioctl", args: [6]uintptr{4, 0x2, a1}, want: `ioctl(4, FIGETBSZ, 0x7ffd1000) = 0`},
		{name: "ioctl", args: [6]uintptr{14, 0x12345678, 0x99}, errno: unix.ENOTTY,
			want: `ioctl(14, _IOC(_IOC_NONE, 0x56, 0x78, 0x1234), 0x99) = -1 ENOTTY (Inappropriate ioctl for device)`},
		{name: "ioctl", args: [6]uintptr{14, 0x80047803, a1}, errno: unix.ENOTTY,
			want: `ioctl(14, _IOC(_IOC_READ, 0x78, 0x3, 0x4), 0x7ffd1000) = -1 ENOTTY (Inappropriate ioctl for device)`},
		{name: "ioctl", args: [6]uintptr{14, 0x5499, 0}, errno: unix.ENOTTY,
			want: `ioctl(14, _IOC(_IOC_NONE, 0x54, 0x99, 0), 0) = -1 ENOTTY (Inappropriate ioctl for device)`},
	})
}

func TestFutex(t *testing.T) {
	const u = 0x7ffe28908040
	ts := newMem().u64s(a1, 0, 1000)
	runLines(t, []lineTest{
		{name: "futex", args: [6]uintptr{u, 129, 1}, want: `futex(0x7ffe28908040, FUTEX_WAKE_PRIVATE, 1) = 0`},
		{name: "futex", args: [6]uintptr{u, 1, 2147483647}, want: `futex(0x7ffe28908040, FUTEX_WAKE, 2147483647) = 0`},
		{name: "futex", args: [6]uintptr{u, 128, 1, a1}, errno: unix.EAGAIN, mem: ts,
			want: `futex(0x7ffe28908040, FUTEX_WAIT_PRIVATE, 1, {tv_sec=0, tv_nsec=1000}) = -1 EAGAIN (Resource temporarily unavailable)`},
		{name: "futex", args: [6]uintptr{u, 9 | 128 | 256, 1, 0, 0, 0xffffffff}, errno: unix.EAGAIN,
			want: `futex(0x7ffe28908040, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 1, NULL, FUTEX_BITSET_MATCH_ANY) = -1 EAGAIN (Resource temporarily unavailable)`},
		{name: "futex", args: [6]uintptr{u, 10, 1, 0, 0, 5}, want: `futex(0x7ffe28908040, FUTEX_WAKE_BITSET, 1, 0x5) = 0`},
		{name: "futex", args: [6]uintptr{u, 4 | 128, 1, 2, u, 0}, want: `futex(0x7ffe28908040, FUTEX_CMP_REQUEUE_PRIVATE, 1, 2, 0x7ffe28908040, 0) = 0`},
		{name: "futex", args: [6]uintptr{u, 3, 1, 2, u, 0}, want: `futex(0x7ffe28908040, FUTEX_REQUEUE, 1, 2, 0x7ffe28908040) = 0`},
		{name: "futex", args: [6]uintptr{u, 5 | 128, 1, 1, u, 4<<24 | 1},
			want: `futex(0x7ffe28908040, FUTEX_WAKE_OP_PRIVATE, 1, 1, 0x7ffe28908040, FUTEX_OP_SET<<28|0<<12|FUTEX_OP_CMP_GT<<24|0x1) = 0`},
		{name: "futex", args: [6]uintptr{u, 7, 1}, errno: unix.EPERM, want: `futex(0x7ffe28908040, FUTEX_UNLOCK_PI) = -1 EPERM (Operation not permitted)`},
		{name: "futex", args: [6]uintptr{u, 6 | 128, 0, a1}, mem: ts,
			want: `futex(0x7ffe28908040, FUTEX_LOCK_PI_PRIVATE, {tv_sec=0, tv_nsec=1000}) = 0`},
		{name: "futex", args: [6]uintptr{u, 99, 1, 2, 3, 4}, errno: unix.ENOSYS,
			want: `futex(0x7ffe28908040, 0x63 /* FUTEX_??? */, 1, 0x2, 0x3, 0x4) = -1 ENOSYS (Function not implemented)`},
		{name: "futex", args: [6]uintptr{u, 11, 1, a1, u}, errno: unix.EINVAL, mem: ts,
			want: `futex(0x7ffe28908040, FUTEX_WAIT_REQUEUE_PI, 1, {tv_sec=0, tv_nsec=1000}, 0x7ffe28908040) = -1 EINVAL (Invalid argument)`},
		{name: "futex", args: [6]uintptr{u, 256, 1, a1}, errno: unix.ENOSYS, mem: ts,
			want: `futex(0x7ffe28908040, FUTEX_WAIT|FUTEX_CLOCK_REALTIME, 1, {tv_sec=0, tv_nsec=1000}) = -1 ENOSYS (Function not implemented)`},
	})
}

func TestProcesses(t *testing.T) {
	argv := newMem().u64s(a1, a2, a2+0x100, a2+0x200, a2+0x300, 0).
		str(a2, "/tmp/st/t4").str(a2+0x100, "arg one").str(a2+0x200, `a"b`).
		str(a2+0x300, "0123456789012345678901234567890123456789").
		u64s(a3, a4, a4+8, 0).str(a4, "A=1").str(a4+8, "B=2").str(a1+0x800, "/tmp/st/t4")
	many := newMem().str(a1+0x800, "/nonexistent").u64s(a4, 0).str(a2, "m")
	for i := range 39 {
		many.u64s(a1+uintptr(8*i), a2)
	}
	many.u64s(a1+39*8, 0)
	rusage := newMem().u32s(a1, 7<<8).zero(a2, 144).u64s(a2+8, 141)
	runLines(t, []lineTest{
		{name: "execve", args: [6]uintptr{a1 + 0x800, a1, a3}, mem: argv,
			want: `execve("/tmp/st/t4", ["/tmp/st/t4", "arg one", "a\"b", "01234567890123456789012345678901"...], 0x7ffd3000 /* 2 vars */) = 0`},
		{name: "execve", args: [6]uintptr{a1 + 0x800, a1, a4}, errno: unix.ENOENT, mem: many,
			want: `execve("/nonexistent", [` + strings.Repeat(`"m", `, 32) + `...], 0x7ffd4000 /* 0 vars */) = -1 ENOENT (No such file or directory)`},
		{name: "execve", args: [6]uintptr{a1 + 0x800, 0, 0}, errno: unix.ENOENT, mem: many,
			want: `execve("/nonexistent", NULL, NULL) = -1 ENOENT (No such file or directory)`},
		{name: "execve", args: [6]uintptr{a1 + 0x800, 8, 16}, errno: unix.ENOENT, mem: many,
			want: `execve("/nonexistent", 0x8, 0x10) = -1 ENOENT (No such file or directory)`},
		{name: "execveat", args: [6]uintptr{5, a3 + 0x100, a1, a4, unix.AT_EMPTY_PATH}, errno: unix.EBADF,
			mem:  newMem().str(a3+0x100, "").u64s(a1, a2, 0).str(a2, "x").u64s(a4, a3, 0).str(a3, "A=1"),
			want: `execveat(5, "", ["x"], 0x7ffd4000 /* 1 var */, AT_EMPTY_PATH) = -1 EBADF (Bad file descriptor)`},
		{name: "exit", args: [6]uintptr{9}, want: `exit(9) = ?`},
		{name: "fork", ret: 10122, want: `fork() = 10122`},
		{name: "vfork", ret: 10123, want: `vfork() = 10123`},
		{name: "wait4", args: [6]uintptr{10122, a1, 0, a2}, ret: 10122, mem: rusage,
			want: `wait4(10122, [{WIFEXITED(s) && WEXITSTATUS(s) == 7}], 0, {ru_utime={tv_sec=0, tv_usec=141}, ru_stime={tv_sec=0, tv_usec=0}, ...}) = 10122`},
		{name: "wait4", args: [6]uintptr{neg(-1), a1, unix.WALL, 0}, ret: 10124, mem: newMem().u32s(a1, 9),
			want: `wait4(-1, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], __WALL, NULL) = 10124`},
		{name: "wait4", args: [6]uintptr{10125, a1, unix.WUNTRACED, 0}, ret: 10125, mem: newMem().u32s(a1, 19<<8|0x7f),
			want: `wait4(10125, [{WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP}], WSTOPPED, NULL) = 10125`},
		{name: "wait4", args: [6]uintptr{10125, a1, unix.WCONTINUED, 0}, ret: 10125, mem: newMem().u32s(a1, 0xffff),
			want: `wait4(10125, [{WIFCONTINUED(s)}], WCONTINUED, NULL) = 10125`},
		{name: "wait4", args: [6]uintptr{10125, a1, 0, 0}, ret: 10125, mem: newMem().u32s(a1, 0x80|11),
			want: `wait4(10125, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGSEGV && WCOREDUMP(s)}], 0, NULL) = 10125`},
		{name: "wait4", args: [6]uintptr{neg(-1), a1, unix.WNOHANG | unix.WUNTRACED | unix.WCONTINUED, 0}, errno: unix.ECHILD,
			want: `wait4(-1, 0x7ffd1000, WNOHANG|WSTOPPED|WCONTINUED, NULL) = -1 ECHILD (No child processes)`},
		{name: "wait4", args: [6]uintptr{10126, a1, unix.WNOHANG, a2}, ret: 0,
			want: `wait4(10126, 0x7ffd1000, WNOHANG, 0x7ffd2000) = 0`},
		{name: "wait4", args: [6]uintptr{10126, 0, 0, 0}, ret: 10126, want: `wait4(10126, NULL, 0, NULL) = 10126`},
		{name: "wait4", args: [6]uintptr{10126, a1, 0, 0}, errno: 512,
			want: `wait4(10126, 0x7ffd1000, 0, NULL) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)`},
		{name: "clone", args: [6]uintptr{0x1200011, 0, 0, 0x7f2906adfa10, 0}, ret: 10122,
			want: `clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f2906adfa10) = 10122`},
		{name: "clone", args: [6]uintptr{0x100011, 0, a1, 0, 0}, ret: 10128, mem: newMem().u32s(a1, 10128),
			want: `clone(child_stack=NULL, flags=CLONE_PARENT_SETTID|SIGCHLD, parent_tid=[10128]) = 10128`},
		{name: "clone", args: [6]uintptr{0x600, 0, 0, 0, 0}, ret: 10130,
			want: `clone(child_stack=NULL, flags=CLONE_FS|CLONE_FILES) = 10130`},
		{name: "clone", ret: 10131, want: `clone(child_stack=NULL, flags=0) = 10131`},
		{name: "clone", args: [6]uintptr{0x3d0f00, 0x7f0000001000, a1, a2, 0x7f0000002000}, ret: 10132, mem: newMem().u32s(a1, 10132),
			want: `clone(child_stack=0x7f0000001000, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, parent_tid=[10132], tls=0x7f0000002000, child_tidptr=0x7ffd2000) = 10132`},
		{name: "clone3", args: [6]uintptr{a1, 88}, ret: 10126, mem: newMem().zero(a1, 88).u64s(a1+32, 17),
			want: `clone3({flags=0, exit_signal=SIGCHLD, stack=NULL, stack_size=0}, 88) = 10126`},
		{name: "clone3", args: [6]uintptr{a1, 88}, ret: 10127,
			mem:  newMem().zero(a1, 88).u64s(a1, 0x1100000, 0, a2, a2, 17).u32s(a2, 10127),
			want: `clone3({flags=CLONE_PARENT_SETTID|CLONE_CHILD_SETTID, child_tid=0x7ffd2000, parent_tid=0x7ffd2000, exit_signal=SIGCHLD, stack=NULL, stack_size=0} => {parent_tid=[10127]}, 88) = 10127`},
		{name: "clone3", args: [6]uintptr{a1, 8}, errno: unix.EINVAL, want: `clone3(0x7ffd1000, 8) = -1 EINVAL (Invalid argument)`},
		{name: "clone3", args: [6]uintptr{bad, 88}, errno: unix.EFAULT, want: `clone3(0x8, 88) = -1 EFAULT (Bad address)`},
	})
}

func TestAdmin(t *testing.T) {
	runLines(t, []lineTest{
		{name: "reboot", args: [6]uintptr{0x1234, 0x5678, 0}, errno: unix.EPERM,
			want: `reboot(0x1234 /* LINUX_REBOOT_MAGIC_??? */, 0x5678 /* LINUX_REBOOT_MAGIC_??? */, LINUX_REBOOT_CMD_CAD_OFF) = -1 EPERM (Operation not permitted)`},
		{name: "reboot", args: [6]uintptr{0xfee1dead, 1, 0xa1b2c3d4, a1}, errno: unix.EPERM, mem: newMem().str(a1, "now"),
			want: `reboot(LINUX_REBOOT_MAGIC1, 0x1 /* LINUX_REBOOT_MAGIC_??? */, LINUX_REBOOT_CMD_RESTART2, "now") = -1 EPERM (Operation not permitted)`},
		{name: "reboot", args: [6]uintptr{0xfee1deae, 537993216, 0x77}, errno: unix.EPERM,
			want: `reboot(0xfee1deae /* LINUX_REBOOT_MAGIC_??? */, LINUX_REBOOT_MAGIC2C, 0x77 /* LINUX_REBOOT_CMD_??? */) = -1 EPERM (Operation not permitted)`},
		{name: "mount", args: [6]uintptr{a1, a2, 0x56150a05201e, 1 | 2 | 1<<12 | 1<<14, 0x56150a05200c}, errno: unix.EPERM,
			mem:  newMem().str(a1, "/nonexistent-src").str(a2, "/nonexistent-target"),
			want: `mount("/nonexistent-src", "/nonexistent-target", 0x56150a05201e, MS_RDONLY|MS_NOSUID|MS_BIND|MS_REC, 0x56150a05200c) = -1 EPERM (Operation not permitted)`},
		{name: "mount", args: [6]uintptr{a1, a2, a3, 0, 0}, mem: newMem().str(a1, "none").str(a2, "/mnt").str(a3, "tmpfs"),
			want: `mount("none", "/mnt", "tmpfs", 0, NULL) = 0`},
		{name: "mount", args: [6]uintptr{0, a2, 0, 1<<5 | 1, 0}, errno: unix.EPERM, mem: newMem().str(a2, "/mnt"),
			want: `mount(NULL, "/mnt", NULL, MS_RDONLY|MS_REMOUNT, NULL) = -1 EPERM (Operation not permitted)`},
		{name: "mount", args: [6]uintptr{a1, a2, a3, 2 | 4 | 8, a4}, errno: unix.EPERM,
			mem:  newMem().str(a1, "proc").str(a2, "/proc").str(a3, "proc").str(a4, "hidepid=2"),
			want: `mount("proc", "/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC, "hidepid=2") = -1 EPERM (Operation not permitted)`},
		{name: "mount", args: [6]uintptr{a1, a2, 0, 0xc0ed0000 | 1<<12, 0}, errno: unix.EPERM,
			mem:  newMem().str(a1, "/src").str(a2, "/dst"),
			want: `mount("/src", "/dst", NULL, MS_MGC_VAL|MS_BIND, NULL) = -1 EPERM (Operation not permitted)`},
		{name: "mount", args: [6]uintptr{a1, a2, a3, 0, a4}, errno: unix.EPERM,
			mem:  newMem().str(a1, "x").str(a2, "/dst").str(a3, "9p").str(a4, "0123456789012345678901234567890123456789"),
			want: `mount("x", "/dst", "9p", 0, "01234567890123456789012345678901"...) = -1 EPERM (Operation not permitted)`},
		{name: "umount2", args: [6]uintptr{a1, 2 | 8}, mem: newMem().str(a1, "/mnt"),
			want: `umount2("/mnt", MNT_DETACH|UMOUNT_NOFOLLOW) = 0`},
		{name: "umount2", args: [6]uintptr{a1, 0}, mem: newMem().str(a1, "/mnt"), want: `umount2("/mnt", 0) = 0`},
		{name: "init_module", args: [6]uintptr{0x1000, 100, a1}, errno: unix.EPERM, mem: newMem().str(a1, "param=1 other=2"),
			want: `init_module(0x1000, 100, "param=1 other=2") = -1 EPERM (Operation not permitted)`},
		{name: "finit_module", args: [6]uintptr{neg(-1), a1, 3}, errno: unix.EPERM, mem: newMem().str(a1, "x=1"),
			want: `finit_module(-1, "x=1", MODULE_INIT_IGNORE_MODVERSIONS|MODULE_INIT_IGNORE_VERMAGIC) = -1 EPERM (Operation not permitted)`},
	})
}

func TestUnknownAndErrors(t *testing.T) {
	runLines(t, []lineTest{
		{name: "syscall_0x1f4", args: [6]uintptr{1, 2, 3, 4, 5, 6}, errno: unix.ENOSYS,
			want: `syscall_0x1f4(0x1, 0x2, 0x3, 0x4, 0x5, 0x6) = -1 ENOSYS (Function not implemented)`},
		{name: "socket", args: [6]uintptr{1, 0x80801}, ret: 3, want: `socket(0x1, 0x80801, 0, 0, 0, 0) = 3`},
		{name: "getpid", errno: 1234, want: `getpid() = -1 1234 (Unknown error 1234)`},
		{name: "close", args: [6]uintptr{3}, errno: 513, want: `close(3) = ? ERESTARTNOINTR (To be restarted)`},
		{name: "close", args: [6]uintptr{3}, errno: 514, want: `close(3) = ? ERESTARTNOHAND (To be restarted if no handler)`},
		{name: "close", args: [6]uintptr{3}, errno: unix.EAGAIN, want: `close(3) = -1 EAGAIN (Resource temporarily unavailable)`},
		{name: "close", args: [6]uintptr{3}, errno: unix.EOPNOTSUPP, want: `close(3) = -1 EOPNOTSUPP (Operation not supported)`},
		{name: "close", args: [6]uintptr{3}, errno: unix.EDEADLK, want: `close(3) = -1 EDEADLK (Resource deadlock avoided)`},
		{name: "close", args: [6]uintptr{3}, errno: 41, want: `close(3) = -1 41 (Unknown error 41)`},
		{name: "close", args: [6]uintptr{3}, errno: 117, want: `close(3) = -1 EUCLEAN (Structure needs cleaning)`},
		{name: "close", args: [6]uintptr{3}, errno: 133, want: `close(3) = -1 EHWPOISON (Memory page has hardware error)`},
		{name: "close", args: [6]uintptr{3}, errno: 134, want: `close(3) = -1 134 (Unknown error 134)`},
		{name: "ioctl", args: [6]uintptr{3, 0x5401, a1}, errno: 515,
			want: `ioctl(3, TCGETS, 0x7ffd1000) = -1 ENOIOCTLCMD (Unknown error 515)`},
		// A nil Memory behaves as memory that cannot be read.
		{name: "chdir", args: [6]uintptr{a1}, want: `chdir(0x7ffd1000) = 0`},
	})
	if got := Line(nil, "chdir", [6]uintptr{a1}, 0, 0); got != `chdir(0x7ffd1000) = 0` {
		t.Errorf("nil memory: got %s", got)
	}
}

// TestRequiredCalls checks that every call the kernel's first table
// needs has a format of its own rather than the hex fallback.
func TestRequiredCalls(t *testing.T) {
	required := strings.Fields(`read write open close stat fstat lstat poll lseek mmap mprotect
		munmap brk rt_sigaction rt_sigprocmask rt_sigreturn ioctl pread64 pwrite64 readv writev
		access pipe select sched_yield mremap msync mincore madvise dup dup2 nanosleep getpid
		clone fork vfork execve exit wait4 kill uname fcntl getdents64 getcwd chdir rename mkdir
		rmdir unlink readlink chmod umask gettimeofday getrlimit getrusage sysinfo times getuid
		getgid setuid setgid geteuid getegid getppid getpgrp setsid arch_prctl gettid time futex
		set_tid_address clock_gettime clock_getres clock_nanosleep exit_group tgkill openat
		mkdirat newfstatat unlinkat readlinkat faccessat pselect6 ppoll set_robust_list
		get_robust_list pipe2 dup3 prlimit64 getrandom statx rseq execveat clone3 close_range
		faccessat2 reboot mount umount2 init_module finit_module sigaltstack`)
	for _, name := range required {
		if _, ok := calls[name]; !ok {
			t.Errorf("no format for %s", name)
		}
	}
}

// hostileMem answers every read with bytes derived from the address, so
// that every pointer "points" somewhere, with nonsense in it.
type hostileMem struct{ seed uint64 }

func (h hostileMem) CopyIn(addr uintptr, dst []byte) (int, error) {
	for i := range dst {
		x := uint64(addr+uintptr(i)) ^ h.seed
		x *= 0x9e3779b97f4a7c15
		dst[i] = byte(bits.RotateLeft64(x, 17))
	}
	return len(dst), nil
}

// TestNoPanic runs every format with hostile registers and memory: the
// program controls both, and must not be able to crash the kernel.
func TestNoPanic(t *testing.T) {
	regs := []uintptr{0, 1, 8, 0x7f, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
		1 << 32, 1 << 40, ^uintptr(0), ^uintptr(0) - 7, 1 << 63, neg(-100), a1}
	mems := []Memory{nil, newMem(), hostileMem{1}, hostileMem{0xdeadbeef}}
	errnos := []unix.Errno{0, unix.EINTR, unix.EFAULT, 516}
	for name := range calls {
		for i, r := range regs {
			for _, m := range mems {
				for _, e := range errnos {
					var args [6]uintptr
					for j := range args {
						args[j] = regs[(i+3*j)%len(regs)]
					}
					args[0] = r
					Line(m, name, args, regs[(i+5)%len(regs)], e)
				}
			}
		}
	}
}

// TestHugeCountsStayBounded checks that lengths taken from the program do
// not make the formatter allocate or read in proportion to them.
func TestHugeCountsStayBounded(t *testing.T) {
	m := newMem()
	for _, tt := range []struct {
		name string
		args [6]uintptr
		ret  uintptr
	}{
		{"write", [6]uintptr{1, a1, ^uintptr(0)}, 0},
		{"read", [6]uintptr{1, a1, ^uintptr(0)}, ^uintptr(0) >> 1},
		{"readv", [6]uintptr{1, a1, ^uintptr(0)}, 1},
		{"poll", [6]uintptr{a1, 0xffffffff, 0}, 5},
		{"mincore", [6]uintptr{a1, ^uintptr(0), a2}, 0},
		{"getdents64", [6]uintptr{1, a1, 1 << 40}, 1 << 40},
		{"select", [6]uintptr{0x7fffffff, a1, a1, a1, 0}, 3},
		{"clone3", [6]uintptr{a1, ^uintptr(0)}, 1},
	} {
		m.reads = 0
		Line(m, tt.name, tt.args, tt.ret, 0)
		if m.reads > 100 {
			t.Errorf("%s: %d reads", tt.name, m.reads)
		}
	}
}

func FuzzLine(f *testing.F) {
	names := make([]string, 0, len(calls))
	for name := range calls {
		names = append(names, name)
	}
	f.Add(uint16(0), uint64(a1), uint64(100), uint64(3), uint64(0), []byte("hello\x00"), uint16(0))
	f.Fuzz(func(t *testing.T, which uint16, a0, a1v, a2v, ret uint64, data []byte, errno uint16) {
		m := newMem().put(a1, data)
		name := names[int(which)%len(names)]
		args := [6]uintptr{uintptr(a0), uintptr(a1v), uintptr(a2v), a1, uintptr(a0 ^ a2v), a1 + 8}
		Line(m, name, args, uintptr(ret), unix.Errno(errno%600))
	})
}
