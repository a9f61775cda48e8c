package test

import (
	"strings"
	"testing"
)

// mountsWant are the lines programs/sandbox_only/mounts.c must print:
// Linux's answers (fs/namespace.c), for a sandbox whose root is an
// overlay and whose mounts are all private, as in a container.
var mountsWant = []string{
	"inside the sandbox: yes",
	// A tmpfs, and one stacked on it.
	"mount tmpfs: ok",
	"mountinfo /tmp/magawa-mnt/tmpfs: tmpfs rw",
	"tmpfs root mode: 700",
	"tmpfs statfs: type tmpfs, size 65536",
	"tmpfs file: on the tmpfs",
	"mount tmpfs over tmpfs: ok",
	"mountinfo /tmp/magawa-mnt/tmpfs: tmpfs rw, 2 stacked",
	"tmpfs file under the second tmpfs: errno ENOENT",
	"umount the second tmpfs: ok",
	"mountinfo /tmp/magawa-mnt/tmpfs: tmpfs rw",
	"tmpfs file uncovered: on the tmpfs",
	"mount on a missing directory: errno ENOENT",
	"mount tmpfs on a file: errno ENOTDIR",
	"mount an unknown type: errno ENODEV",
	"mount tmpfs with bad options: errno EINVAL",
	"mountinfo /tmp/magawa-mnt/plain: none",
	// Bind mounts; the read-only remount of a bind (MS_REMOUNT|MS_BIND|
	// MS_RDONLY) makes every change through it EROFS, the source stays
	// writable.
	"bind a directory: ok",
	"mountinfo /tmp/magawa-mnt/bind: overlay rw",
	"bind mountinfo root: /tmp/magawa-mnt/src",
	"bind file system same as /: yes",
	"bind file: source file",
	"bind same inode: yes",
	"bind write seen at the source: made through the bind",
	"remount the bind read-only: ok",
	"mountinfo /tmp/magawa-mnt/bind: overlay ro",
	"read-only bind statvfs ST_RDONLY: yes",
	"read-only bind create: errno EROFS",
	"read-only bind open for writing: errno EROFS",
	"read-only bind mkdir: errno EROFS",
	"read-only bind unlink: errno EROFS",
	"read-only bind rename: errno EROFS",
	"read-only bind chmod: errno EROFS",
	"read-only bind truncate: errno EROFS",
	"read-only bind symlink: errno EROFS",
	"read-only bind utimes: errno EROFS",
	"read-only bind access W_OK: errno EROFS",
	"read-only bind read: source file",
	"source still writable: ok",
	"remount the bind read-write: ok",
	"mountinfo /tmp/magawa-mnt/bind: overlay rw",
	"read-write bind create: ok",
	"remount a directory that is no mount point: errno EINVAL",
	"bind a missing source: errno ENOENT",
	// graft_tree(): a directory and a non-directory never mount on each
	// other, either way round.
	"bind a file on a directory: errno ENOTDIR",
	"bind a directory on a file: errno ENOTDIR",
	"bind a file on a file: ok",
	"mountinfo /tmp/magawa-mnt/filetarget: overlay rw",
	"file bind reads the source: source file",
	"umount the file bind: ok",
	"file bind target after umount: the target",
	// MS_BIND|MS_REC carries the submounts, MS_BIND alone does not.
	"mount tmpfs on src/sub: ok",
	"recursive bind: ok",
	"non-recursive bind: ok",
	"mountinfo /tmp/magawa-mnt/rbind: overlay rw",
	"mountinfo /tmp/magawa-mnt/rbind/sub: tmpfs rw",
	"mountinfo /tmp/magawa-mnt/bind2: overlay rw",
	"mountinfo /tmp/magawa-mnt/bind2/sub: none",
	"recursive bind carries the submount: inner",
	"non-recursive bind does not: errno ENOENT",
	"earlier bind does not: errno ENOENT",
	"submount copy shares the file system: through the copy",
	// proc and sysfs mounted a second time.
	"mount proc: ok",
	"mountinfo /tmp/magawa-mnt/p2: proc rw",
	"second proc status: name mounts, pid 1",
	"second proc mountinfo lists itself: yes",
	"mount sysfs: ok",
	"mountinfo /tmp/magawa-mnt/s2: sysfs rw",
	"second sysfs cpu online starts with 0: yes",
	"mount sysfs read-only: ok",
	"mountinfo /tmp/magawa-mnt/s3: sysfs ro",
	// MS_MOVE; propagation changes (everything is private).
	"mount tmpfs to move: ok",
	"move the mount: ok",
	"mountinfo /tmp/magawa-mnt/movefrom: none",
	"mountinfo /tmp/magawa-mnt/moveto: tmpfs rw",
	"moved mount's file: moved",
	"make / private recursively: ok",
	"make a bind a slave: ok",
	"propagation of a directory that is no mount point: errno EINVAL",
	// umount2.
	"umount a directory that is no mount point: errno EINVAL",
	"umount a file that is no mount point: errno EINVAL",
	"umount a missing path: errno ENOENT",
	"umount with unknown flags: errno EINVAL",
	"umount with MNT_EXPIRE|MNT_DETACH: errno EINVAL",
	"umount MNT_EXPIRE first time: errno EAGAIN",
	"umount sysfs: ok",
	"mountinfo /tmp/magawa-mnt/s2: none",
	"after umount sysfs: (empty)",
	"umount sysfs again: errno EINVAL",
	"umount read-only sysfs: ok",
	"mountinfo /tmp/magawa-mnt/s3: none",
	"umount proc: ok",
	"mountinfo /tmp/magawa-mnt/p2: none",
	"after umount proc: (empty)",
	// Busy mounts: see mountsBusy.
	"mountinfo /tmp/magawa-mnt/tmpfs: none",
	"read through the descriptor after umount: on the tmpfs",
	"tmpfs file after umount: errno ENOENT",
	"mounts at or below rbind: 0",
	"rbind after umount: errno ENOENT",
	"mountinfo /tmp/magawa-mnt/src/sub: tmpfs rw",
	"umount non-recursive bind with MNT_DETACH: ok",
	"mountinfo /tmp/magawa-mnt/bind2: none",
	"umount the bind: ok",
	"mountinfo /tmp/magawa-mnt/bind: none",
	"bind directory after umount: (empty)",
	"source after umount: source file",
	"umount src/sub: ok",
	"umount a symlink to a mount with UMOUNT_NOFOLLOW: errno EINVAL",
	"umount the moved mount through a symlink: ok",
	"moved mount after umount: gone",
	"mounts left below /tmp/magawa-mnt: 0",
	// The set-user-ID bit counts on a tmpfs, and not on one mounted
	// nosuid.
	"set-user-ID root program run by user 1000: effective user 0",
	"set-user-ID root program run by user 1000: effective user 1000",
	"mounts in all as at the start: yes",
	// pivot_root(2) in a child: EINVAL for a new root that is no mount
	// point or a put_old not below it; EBUSY when either is on the
	// current root's mount; then the child's root is the tmpfs.
	"pivot: mount tmpfs for the new root: ok",
	"pivot_root to a directory that is no mount point: errno EINVAL",
	"pivot: mount tmpfs elsewhere: ok",
	"pivot_root with put_old outside the new root: errno EINVAL",
	"pivot_root with put_old on the root's mount: errno EBUSY",
	"pivot_root to a directory on the root's mount: errno EBUSY",
	"pivot_root to a missing directory: errno ENOENT",
	"pivot_root to a file: errno ENOTDIR",
	"pivot_root: ok",
	"pivot: chdir /: ok",
	"pivot: getcwd: /",
	"pivot: / holds: old",
	"pivot: /old/etc/os-release readable: yes",
	"pivot: mountinfo /: tmpfs",
	"pivot: mountinfo /old: yes",
	"pivot: mountinfo /old/proc: proc",
	"pivot: mountinfo still lists /tmp/magawa-mnt/newroot: no",
	"pivot: umount2 /old MNT_DETACH: ok",
	"pivot: /old after detach: (empty)",
	"pivot: /proc gone with it: errno ENOENT",
	"pivot: chroot .. stays in the new root: ok",
	"pivot: / after chroot ..: old",
	"pivot child: exit 0",
	// chroot_fs_refs(): every process whose root was the old root now
	// has the new one.
	"parent after the child's pivot_root: / holds only old",
	"survived: yes",
}

// mountsBusy are the unmounts of busy mounts (a file open on it, a mount
// below it). Linux refuses them with EBUSY unless MNT_DETACH is given;
// every unmount of the sandbox is lazy, so it may succeed. Either way
// the mount must be gone afterwards (the program then detaches it).
var mountsBusy = map[string][]string{
	"umount tmpfs with a file open":         {"EBUSY", "ok"},
	"umount recursive bind with a submount": {"EBUSY", "ok"},
}

// TestMountsInSandbox runs programs/sandbox_only/mounts.c: mount,
// umount2 and pivot_root inside the sandbox change the sandbox's own
// mount tree, as /proc/self/mountinfo inside shows after each step, and
// never the host's.
func TestMountsInSandbox(t *testing.T) {
	magawaBin(t)
	progs := programs(t)
	forEachPlatform(t, func(t *testing.T, platform string) {
		before := snapshotHost(t)
		r := runGuarded(t, platform, progs["sandbox_only/mounts"].Path)
		after := snapshotHost(t)
		t.Logf("mounts: %v\nstdout:\n%s\nstderr:\n%s", r.Status, r.Stdout, r.Stderr)

		if after.mountinfo != before.mountinfo {
			t.Errorf("the host's mount table changed (- before, + after):\n%s", lineDiff(before.mountinfo, after.mountinfo))
		}
		if r.Status == (exitStatus{Code: 99}) {
			t.Fatalf("mounts refused to run: it does not believe it is inside the sandbox\nstderr:\n%s", r.Stderr)
		}
		if r.Status != (exitStatus{}) {
			t.Errorf("mounts: %v, want exit status 0 (stderr: %s)", r.Status, r.Stderr)
		}
		checkLines(t, r.Stdout, mountsWant)
		seen := map[string]bool{}
		for _, l := range strings.Split(string(r.Stdout), "\n") {
			label, got, ok := strings.Cut(l, ": ")
			if want, busy := mountsBusy[label]; ok && busy {
				if got != want[0] {
					t.Logf("%s: %s (Linux: %s)", label, got, want[0])
				}
				accepted := false
				for _, w := range want {
					accepted = accepted || got == w
				}
				if !accepted {
					t.Errorf("%s: %s, want one of %v", label, got, want)
				}
				seen[label] = true
			}
		}
		for label := range mountsBusy {
			if seen[label] {
				continue
			}
			t.Errorf("no line %q: the program stopped before it", label)
		}
	})
}
