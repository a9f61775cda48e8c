package vm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"magawa/internal/vm/qemu"
)

// jailDirName is QEMU's jail in the state directory: an empty directory
// on the host, a tmpfs in the supervisor's own mount namespace.
const jailDirName = "vm-jail"

// qemuCaps are the capabilities QEMU keeps (as root): reading and
// writing the shares' files whoever owns them, and giving created files
// their owner. None lets it mount, trace, load modules, use raw
// sockets or change its root.
var qemuCaps = []uintptr{
	unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_DAC_READ_SEARCH, unix.CAP_FOWNER, unix.CAP_FSETID,
}

// makeJail builds QEMU's root, as Firecracker's jailer builds
// Firecracker's: a read-only tmpfs holding only QEMU's binary and
// libraries (the host's /usr and library directories, read-only), the
// few devices it opens, /proc (for the 9p server), the guest's kernel
// and initramfs and the shares, and rewrites qc's paths to be inside
// it. Everything is mounted in the supervisor's private mount
// namespace, which the host never sees and which ends with the
// supervisor.
func makeJail(dir string, qc *qemu.Config) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID, "mode=0755,size=1m,nr_inodes=4096"); err != nil {
		return "", fmt.Errorf("mounting its tmpfs: %w", err)
	}
	in := func(p string) string { return filepath.Join(dir, p) }
	// The binary's and the libraries' directories, as the host has
	// them (merged /usr: /lib is a link to usr/lib).
	for _, d := range []string{"/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin"} {
		st, err := os.Lstat(d)
		if err != nil {
			continue
		}
		if st.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(d)
			if err != nil {
				return "", err
			}
			if err := os.Symlink(target, in(d)); err != nil {
				return "", err
			}
			continue
		}
		if err := bindReadOnly(d, in(d), true); err != nil {
			return "", err
		}
	}
	if !strings.HasPrefix(qc.Binary, "/usr/") {
		if err := bindReadOnly(qc.Binary, in("/qemu"), false); err != nil {
			return "", err
		}
		qc.Binary = "/qemu"
	}
	if _, err := os.Stat("/etc/ld.so.cache"); err == nil {
		if err := bindReadOnly("/etc/ld.so.cache", in("/etc/ld.so.cache"), false); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(in("/dev"), 0o755); err != nil {
		return "", err
	}
	for _, d := range []struct {
		name         string
		major, minor uint32
	}{{"null", 1, 3}, {"zero", 1, 5}, {"random", 1, 8}, {"urandom", 1, 9}} {
		if err := unix.Mknod(in("/dev/"+d.name), unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil {
			return "", fmt.Errorf("/dev/%s: %w", d.name, err)
		}
	}
	// QEMU's 9p server reads and writes the shares' extended attributes
	// through /proc/self/fd/N/NAME paths: without /proc every xattr call
	// fails with ENOENT, and the guest's overlay cannot copy a directory
	// of the image up (no file can be made in an image's /etc, say).
	// subset=pid leaves out all but the process directories; the PID
	// namespace is the supervisor's, which holds only it and QEMU.
	if err := mountPoint(in("/proc"), true); err != nil {
		return "", err
	}
	procFlags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := unix.Mount("proc", in("/proc"), "proc", procFlags, "subset=pid"); err != nil {
		// Linux before 5.8 has no subset=.
		if err := unix.Mount("proc", in("/proc"), "proc", procFlags, ""); err != nil {
			return "", fmt.Errorf("mounting /proc: %w", err)
		}
	}
	if qc.Accel == qemu.AccelKVM {
		if err := bindFile("/dev/kvm", in("/dev/kvm")); err != nil {
			return "", err
		}
	}
	if err := bindReadOnly(qc.Kernel, in("/vm/kernel"), false); err != nil {
		return "", err
	}
	if err := bindReadOnly(qc.Initrd, in("/vm/initrd"), false); err != nil {
		return "", err
	}
	qc.Kernel, qc.Initrd = "/vm/kernel", "/vm/initrd"
	for i := range qc.Shares {
		sh := &qc.Shares[i]
		target := "/share/" + sh.Tag
		var err error
		if sh.ReadOnly {
			err = bindReadOnly(sh.Path, in(target), true)
		} else {
			err = bind(sh.Path, in(target), true)
		}
		if err != nil {
			return "", err
		}
		sh.Path = target
	}
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID, ""); err != nil {
		return "", fmt.Errorf("making it read-only: %w", err)
	}
	return dir, nil
}

// bind bind-mounts source (a directory) onto target, made first.
func bind(source, target string, dir bool) error {
	if err := mountPoint(target, dir); err != nil {
		return err
	}
	if err := unix.Mount(source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("binding %s: %w", source, err)
	}
	return nil
}

func bindFile(source, target string) error { return bind(source, target, false) }

// bindReadOnly bind-mounts source read-only (nosuid, nodev) onto
// target.
func bindReadOnly(source, target string, dir bool) error {
	if err := bind(source, target, dir); err != nil {
		return err
	}
	if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("making %s read-only: %w", source, err)
	}
	return nil
}

// mountPoint makes an empty directory or file to mount on.
func mountPoint(path string, dir bool) error {
	if dir {
		return os.MkdirAll(path, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}
