package test

import (
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// runGuarded runs a sandbox-only program that refuses to run unless it
// gets the same random token in MAGAWA_HOSTILE_TOKEN and as its first
// argument (besides being PID 1 of a sandbox named "magawa"), the way
// TestHostile runs hostile.c: magawa itself in fresh PID, UTS, IPC and
// (private) mount namespaces, so that even a sandbox that let a mount or
// pivot_root through could not change the host's mount table.
func runGuarded(t *testing.T, platform, prog string, args ...string) result {
	t.Helper()
	var tok [16]byte
	if _, err := rand.Read(tok[:]); err != nil {
		t.Fatal(err)
	}
	token := hex.EncodeToString(tok[:])
	return run(t, runSpec{
		Argv: sandboxArgv(t, platform, nil, prog, append([]string{token}, args...)...),
		Env:  append(append([]string(nil), testEnv...), "MAGAWA_HOSTILE_TOKEN="+token),
		Attr: &syscall.SysProcAttr{
			Cloneflags:   syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
			Unshareflags: syscall.CLONE_NEWNS,
		},
	})
}

// checkLines checks that out holds the lines of want in their order
// (other lines may come between). For each one missing it reports the
// next line of out with the same label (the text before the first ": "),
// that is, what the sandbox answered instead.
func checkLines(t *testing.T, out []byte, want []string) {
	t.Helper()
	lines := splitLines(string(out))
	label := func(l string) string { s, _, _ := strings.Cut(l, ": "); return s }
	pos := 0
	for _, w := range want {
		if i := slices.Index(lines[pos:], w); i >= 0 {
			pos += i + 1
			continue
		}
		got := -1
		for i := pos; i < len(lines); i++ {
			if label(lines[i]) == label(w) {
				got = i
				break
			}
		}
		if got < 0 {
			t.Errorf("want %q, got no such line (after line %d)", w, pos)
			continue
		}
		t.Errorf("want %q, got %q", w, lines[got])
		pos = got + 1
	}
}

// hostileFSWant are the lines programs/sandbox_only/hostile_fs.c must
// print: Linux's answers (checked natively, on Linux 6.18, for every part
// that does not mount).
var hostileFSWant = []string{
	"inside the sandbox: yes",
	// Paths longer than PATH_MAX (4096 with the NUL) and names longer
	// than NAME_MAX (255).
	"100KiB path open: errno ENAMETOOLONG",
	"100KiB path open O_CREAT: errno ENAMETOOLONG",
	"100KiB path stat: errno ENAMETOOLONG",
	"100KiB path lstat: errno ENAMETOOLONG",
	"100KiB path mkdir: errno ENAMETOOLONG",
	"100KiB path chdir: errno ENAMETOOLONG",
	"100KiB path access: errno ENAMETOOLONG",
	"100KiB path unlink: errno ENAMETOOLONG",
	"100KiB path rename: errno ENAMETOOLONG",
	"100KiB path symlink target: errno ENAMETOOLONG",
	"100KiB path readlink: errno ENAMETOOLONG",
	"100KiB path truncate: errno ENAMETOOLONG",
	"100KiB path mount target: errno ENAMETOOLONG",
	"100KiB path execve: errno ENAMETOOLONG",
	"4095-byte path length: 4095",
	"4095-byte path stat: ok",
	"4095-byte path open O_DIRECTORY: ok",
	"4096-byte path length: 4096",
	"4096-byte path stat: errno ENAMETOOLONG",
	"4096-byte path open: errno ENAMETOOLONG",
	"4096-byte path mkdir: errno ENAMETOOLONG",
	"4096-byte path chdir: errno ENAMETOOLONG",
	"4095-byte path of long names stat: errno ENOENT",
	"255-byte name create: ok",
	"255-byte name stat: ok",
	"255-byte name unlink: ok",
	"256-byte name length: 256",
	"256-byte name create: errno ENAMETOOLONG",
	"256-byte name stat: errno ENAMETOOLONG",
	"256-byte name mkdir: errno ENAMETOOLONG",
	"256-byte name symlink: errno ENAMETOOLONG",
	"256-byte name mknod: errno ENAMETOOLONG",
	"256-byte name rename to: errno ENAMETOOLONG",
	"256-byte name inside a path stat: errno ENAMETOOLONG",
	"256-byte name on tmpfs create: errno ENAMETOOLONG",
	"256-byte name on tmpfs stat: errno ENAMETOOLONG",
	// Symbolic links: at most 40 followed in one lookup (MAXSYMLINKS).
	"symlink loop open: errno ELOOP",
	"symlink loop stat: errno ELOOP",
	"symlink loop lstat: ok",
	"symlink loop chdir: errno ELOOP",
	"symlink loop create: errno ELOOP",
	"symlink loop as directory: errno ELOOP",
	"symlink to itself open: errno ELOOP",
	"symlink O_NOFOLLOW open: errno ELOOP",
	"symlink loop truncate: errno ELOOP",
	"chain of 40 links open: ok",
	"chain of 40 links content: end",
	"chain of 41 links open: errno ELOOP",
	"chain of 41 links stat: errno ELOOP",
	"chain of 41 links lstat: ok",
	"chain of 41 links absolute open: errno ELOOP",
	"40 links in one path open: ok",
	"41 links in one path open: errno ELOOP",
	"39 links then a chain of 2 open: errno ELOOP",
	"links cleanup rmdir: ok",
	// 1,000 directories deep.
	"deep mkdir and chdir 1000 levels: ok",
	"deep getcwd big buffer: ok",
	"deep getcwd length 2020: matches",
	"deep getcwd small buffer: errno ERANGE",
	"deep getcwd syscall one byte short: ERANGE",
	"deep getcwd syscall exact: ok",
	"deep stat absolute: ok",
	"deep create at bottom: ok",
	"deep rmdir back up: ok",
	"deep cleanup rmdir: ok",
	// A tmpfs of size=1m,nr_inodes=100, filled (mm/shmem.c: the root
	// takes one inode; fallocate beyond the size is ENOSPC at once).
	"small tmpfs mount: ok",
	"small tmpfs statfs size: 1048576",
	"small tmpfs statfs files: 100",
	"small tmpfs fill: errno ENOSPC",
	"small tmpfs fill within size: yes",
	"small tmpfs write when full: errno ENOSPC",
	"small tmpfs fallocate past size: errno ENOSPC",
	"small tmpfs statfs free blocks when full: 0",
	"small tmpfs unlink fill: ok",
	"small tmpfs write after delete: ok",
	"small tmpfs ftruncate past size: ok",
	"small tmpfs create past nr_inodes: errno ENOSPC",
	"small tmpfs files created: 99",
	"small tmpfs files within nr_inodes: yes",
	"small tmpfs mkdir past nr_inodes: errno ENOSPC",
	"small tmpfs symlink past nr_inodes: errno ENOSPC",
	"small tmpfs mknod past nr_inodes: errno ENOSPC",
	"small tmpfs unlink one: ok",
	"small tmpfs create after delete: ok",
	"small tmpfs mkdir after cleanup: ok",
	"small tmpfs umount: ok",
	"small tmpfs rmdir mount point: ok",
	// 1 TiB sparse on the overlay's /tmp: sizes, not memory.
	"sparse ftruncate 1TiB: ok",
	"sparse size: 1099511627776",
	"sparse blocks small: yes",
	"sparse read at end: 4096 zeros",
	"sparse read in the middle: 4096 zeros",
	"sparse read at EOF: 0",
	"sparse read across EOF: 10",
	"sparse write last byte: ok",
	"sparse read last byte: Z",
	"sparse size after write: 1099511627776",
	"sparse mmap 1TiB: ok",
	"sparse mmap reads: zeros Z",
	"sparse ftruncate negative: errno EINVAL",
	"sparse memory not consumed: yes",
	"sparse ftruncate back to 0: ok",
	"sparse unlink: ok",
	// Modes are masked to 07777 (open, chmod), 01777 (mkdir), then by
	// the umask (022); mknod checks the type; openat2 refuses unknown
	// bits; open(2) with every flag is an O_PATH open (flags reduced to
	// O_PATH's), so O_CREAT is dropped.
	"create with mode 0xffffffff: ok",
	"mode 0xffffffff gives: regular 7755",
	"create with mode S_IFDIR|0644: ok",
	"mode S_IFDIR|0644 gives: regular 644",
	"create with mode 0 for writing: ok",
	"write to the mode 0 file: ok",
	"mode 0 gives: regular 0",
	"chmod 0xffffffff: ok",
	"chmod 0xffffffff gives: regular 7777",
	"mkdir with mode 0xffffffff: ok",
	"mkdir mode 0xffffffff gives: directory 1755",
	"mknod with mode 0xffffffff: errno EINVAL",
	"mknod with mode S_IFREG|07777: ok",
	"mknod S_IFREG|07777 gives: regular 7755",
	"openat2 with mode 0xffffffff: errno EINVAL",
	"openat2 with a mode but no O_CREAT: errno EINVAL",
	"openat2 with every flag: errno EINVAL",
	"open with every flag: errno ENOENT",
	// 10,000 files in one directory.
	"create 10000 files: ok",
	"readdir entries: 10000, duplicates: 0, dots: 2, bad: 0",
	"readdir missing: 0",
	"readdir after rewind: 10000, duplicates: 0, dots: 2, bad: 0",
	"readdir resumed: 10000, duplicates: 0, dots: 2, bad: 0",
	"unlink all while reading: 10000 removed, duplicates: 0, bad: 0",
	"readdir emptied: 0, dots: 2",
	"many cleanup rmdir: ok",
	// XATTR_SIZE_MAX (65536) and XATTR_NAME_MAX (255) on tmpfs.
	"xattr 64KiB set: ok",
	"xattr 64KiB size: 65536",
	"xattr 64KiB get: 65536 same",
	"xattr get with a small buffer: errno ERANGE",
	"xattr 64KiB+1 set: errno E2BIG",
	"xattr 64KiB+1 get after: errno ENODATA",
	"xattr 1GiB size set: errno E2BIG",
	"xattr name of 256 bytes set: errno ERANGE",
	"xattr name of 255 bytes set: ok",
	"xattr list with a small buffer: errno ERANGE",
	"xattr replace 64KiB: ok",
	"xattr replaced: same",
	"xattr remove: ok",
	"xattr cleanup unlink: ok",
	// Descriptors: RLIMIT_NOFILE 256, then fs.nr_open (1 << 20).
	"setrlimit NOFILE 256: ok",
	"open until the limit: errno EMFILE",
	"highest descriptor: 255",
	"pipe at the limit: errno EMFILE",
	"dup at the limit: errno EMFILE",
	"epoll_create1 at the limit: errno EMFILE",
	"timerfd_create at the limit: errno EMFILE",
	"eventfd at the limit: errno EMFILE",
	"dup2 to the limit: errno EBADF",
	"fcntl F_DUPFD from the limit: errno EINVAL",
	"open after closing all: 3",
	"setrlimit NOFILE above nr_open: errno EPERM",
	"setrlimit NOFILE to nr_open: ok",
	"dup2 to the last descriptor: ok",
	"close the last descriptor: ok",
	"fcntl F_DUPFD past nr_open: errno EINVAL",
	"setrlimit NOFILE back: ok",
	"open after all that: 3",
	"magawa-hfs- names left in /tmp: 0",
	"survived: yes",
}

// TestHostileFileSystemInput runs programs/sandbox_only/hostile_fs.c:
// hostile file-system input (huge paths and names, symbolic link loops,
// a deep tree, a tmpfs filled to its limits, a 1 TiB sparse file, absurd
// modes, 10,000 files in a directory, maximal xattrs, descriptor
// exhaustion) must get Linux's errors, and the sandbox must survive it
// all. The host's mount table and /tmp must be unchanged.
func TestHostileFileSystemInput(t *testing.T) {
	magawaBin(t)
	progs := programs(t)
	forEachPlatform(t, func(t *testing.T, platform string) {
		before := snapshotHost(t)
		r := runGuarded(t, platform, progs["sandbox_only/hostile_fs"].Path)
		after := snapshotHost(t)
		t.Logf("hostile_fs: %v\nstdout:\n%s\nstderr:\n%s", r.Status, r.Stdout, r.Stderr)

		// The host.
		if after.mountinfo != before.mountinfo {
			t.Errorf("the host's mount table changed (- before, + after):\n%s", lineDiff(before.mountinfo, after.mountinfo))
		}
		for _, pattern := range []string{"/tmp/magawa-hfs-*", "/dev/shm/magawa-hfs-*"} {
			if m, _ := filepath.Glob(pattern); len(m) > 0 {
				t.Errorf("the sandbox's files reached the host: %v", m)
			}
		}

		// The program.
		if r.Status == (exitStatus{Code: 99}) {
			t.Fatalf("hostile_fs refused to run: it does not believe it is inside the sandbox\nstderr:\n%s", r.Stderr)
		}
		if r.Status != (exitStatus{}) {
			t.Errorf("hostile_fs: %v, want exit status 0 (stderr: %s)", r.Status, r.Stderr)
		}
		checkLines(t, r.Stdout, hostileFSWant)
	})
}
