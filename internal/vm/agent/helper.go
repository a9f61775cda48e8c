package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// The helpers' descriptors, after stdin, stdout and stderr.
const (
	helperConfigFD = 3 // the helperConfig, JSON
	helperStatusFD = 4 // helperStatus messages out; close-on-exec
	helperStartFD  = 5 // container-init: a byte here starts the program
	helperMntNSFD  = 5 // container-exec: the container's mount namespace
	// helperConsoleFD is, for a process with a terminal, a socket on
	// which the helper sends the terminal's master to the agent.
	helperConsoleFD = 6
)

// helperConfig is what a helper is told.
type helperConfig struct {
	// Rootfs is the container's root in the agent's mount namespace
	// (container-init).
	Rootfs        string
	RootReadonly  bool
	Mounts        []helperMount
	Hostname      string
	Domainname    string
	MaskedPaths   []string
	ReadonlyPaths []string
	Sysctl        map[string]string
	// Devices are the bundle's device nodes (linux.devices).
	Devices []deviceSpec
	// StagedDevices are, in a user namespace (where mknod of a device
	// is refused), nodes the agent made for the container's device
	// paths ("/dev/null"): the helper binds them there instead.
	StagedDevices map[string]string
	Process       processSpec
}

// helperMount is an OCI mount whose bind source is a path in the
// guest (a share's directory).
type helperMount struct {
	Destination string
	Type        string
	Source      string
	Options     []string
}

// processSpec is the OCI process, as plain data (agentapi.Process's
// fields).
type processSpec struct {
	Args            []string
	Env             []string
	Cwd             string
	UID, GID        uint32
	AdditionalGids  []uint32
	Umask           *uint32
	Rlimits         []rlimitSpec
	Caps            *capSpec
	NoNewPrivileges bool
	Terminal        bool
	// ConsoleRows and ConsoleColumns are the terminal's window size
	// (zero: unset).
	ConsoleRows, ConsoleColumns uint16
}

type rlimitSpec struct {
	Resource   int
	Soft, Hard uint64
}

type capSpec struct {
	Bounding, Effective, Inheritable, Permitted, Ambient uint64
}

// helperStatus is a message on the status pipe.
type helperStatus struct {
	// Created: container-init has made the container and waits.
	Created bool   `json:",omitempty"`
	Error   string `json:",omitempty"`
	// Code is the exit status the helper ends with after Error.
	Code int `json:",omitempty"`
}

func readHelperConfig() (*helperConfig, *os.File, error) {
	status := os.NewFile(helperStatusFD, "status")
	unix.CloseOnExec(helperStatusFD)
	unix.CloseOnExec(helperConfigFD)
	var cfg helperConfig
	f := os.NewFile(helperConfigFD, "config")
	err := json.NewDecoder(io.LimitReader(f, 16<<20)).Decode(&cfg)
	f.Close()
	if err != nil {
		return nil, status, fmt.Errorf("the helper's configuration: %w", err)
	}
	return &cfg, status, nil
}

// report writes one status message.
func report(status *os.File, s helperStatus) {
	json.NewEncoder(status).Encode(s)
}

// helperFail reports err and returns the exit status to end with.
func helperFail(status *os.File, err error) int {
	code := 125
	var errno unix.Errno
	if errors.As(err, &errno) {
		switch errno {
		case unix.ENOENT:
			code = 127
		case unix.EACCES, unix.ENOEXEC, unix.EISDIR:
			code = 126
		}
	}
	if status != nil {
		report(status, helperStatus{Error: err.Error(), Code: code})
	}
	return code
}

// containerInit is the container's init before it executes the
// program: in the container's new namespaces, it builds its mounts,
// pivots into its root, says it is created, and waits for start.
func containerInit() int {
	cfg, status, err := readHelperConfig()
	if err != nil {
		return helperFail(status, err)
	}
	// Born in the container's cgroup (CLONE_INTO_CGROUP), it makes its
	// cgroup namespace now, so that the namespace's root is that cgroup
	// (one made by clone would be rooted at the agent's). Namespaces
	// are per thread: this one (main, locked) mounts and executes.
	if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
		return helperFail(status, fmt.Errorf("unshare(CLONE_NEWCGROUP): %w", err))
	}
	if err := buildContainer(cfg); err != nil {
		return helperFail(status, err)
	}
	report(status, helperStatus{Created: true})
	unix.CloseOnExec(helperStartFD)
	start := os.NewFile(helperStartFD, "start")
	var b [1]byte
	if n, _ := start.Read(b[:]); n != 1 {
		// The container was deleted before it started.
		return 137
	}
	start.Close()
	return helperFail(status, execProcess(cfg.Process))
}

// containerExec is an exec'd process before it executes the program:
// started in the container's other namespaces, it enters the mount
// namespace itself. setns(CLONE_NEWNS) refuses a thread that shares its
// root and working directory with others (Linux: fs/namespace.c,
// mntns_install()), as every thread of a Go process does: this thread
// (main, locked) stops sharing them first. execve keeps this thread's.
func containerExec() int {
	cfg, status, err := readHelperConfig()
	if err != nil {
		return helperFail(status, err)
	}
	unix.CloseOnExec(helperMntNSFD)
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return helperFail(status, fmt.Errorf("unshare(CLONE_FS): %w", err))
	}
	if err := unix.Setns(helperMntNSFD, unix.CLONE_NEWNS); err != nil {
		return helperFail(status, fmt.Errorf("entering the container's mount namespace: %w", err))
	}
	if cfg.Process.Terminal {
		if err := setupTerminal(cfg.Process, false); err != nil {
			return helperFail(status, err)
		}
	}
	return helperFail(status, execProcess(cfg.Process))
}

// buildContainer makes the container's mounts and pivots into its root.
// Linux mirrors: runc's libcontainer/rootfs_linux.go.
func buildContainer(cfg *helperConfig) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making the mounts private: %w", err)
	}
	root := cfg.Rootfs
	devMounted := false
	for _, m := range cfg.Mounts {
		if err := mountInRoot(root, m); err != nil {
			return err
		}
		if filepath.Clean(m.Destination) == "/dev" {
			devMounted = true
		}
	}
	if devMounted {
		if err := populateDev(root, cfg.StagedDevices); err != nil {
			return err
		}
	}
	for _, d := range cfg.Devices {
		if err := makeDevice(root, d, cfg.StagedDevices[d.Path]); err != nil {
			return err
		}
	}
	if cfg.Hostname != "" {
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			return fmt.Errorf("sethostname: %w", err)
		}
	}
	if cfg.Domainname != "" {
		if err := unix.Setdomainname([]byte(cfg.Domainname)); err != nil {
			return fmt.Errorf("setdomainname: %w", err)
		}
	}
	if err := pivotInto(root); err != nil {
		return err
	}
	// Before the root may become read-only: /dev/console may have to
	// be made.
	if cfg.Process.Terminal {
		if err := setupTerminal(cfg.Process, true); err != nil {
			return err
		}
	}
	for k, v := range cfg.Sysctl {
		p := filepath.Join("/proc/sys", strings.ReplaceAll(k, ".", "/"))
		if err := os.WriteFile(p, []byte(v), 0); err != nil {
			return fmt.Errorf("sysctl %s: %w", k, err)
		}
	}
	for _, p := range cfg.MaskedPaths {
		if err := maskPath(p); err != nil {
			return err
		}
	}
	for _, p := range cfg.ReadonlyPaths {
		if err := readonlyPath(p); err != nil {
			return err
		}
	}
	if cfg.RootReadonly {
		if err := unix.Mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("remounting the root read-only: %w", err)
		}
	}
	return nil
}

// mountInRoot makes one OCI mount beneath root, its destination
// resolved inside root (symbolic links included).
func mountInRoot(root string, m helperMount) error {
	dest, err := securejoin.SecureJoin(root, m.Destination)
	if err != nil {
		return fmt.Errorf("mount %s: %w", m.Destination, err)
	}
	flags, propagation, data := parseMountOptions(m.Options)
	typ := m.Type
	if typ == "bind" {
		flags |= unix.MS_BIND
	}
	if flags&unix.MS_BIND != 0 {
		typ = ""
		st, err := os.Stat(m.Source)
		if err != nil {
			return fmt.Errorf("mount %s: its source: %w", m.Destination, err)
		}
		if err := makeMountPoint(dest, st.IsDir()); err != nil {
			return fmt.Errorf("mount %s: %w", m.Destination, err)
		}
		if err := unix.Mount(m.Source, dest, "", flags&(unix.MS_BIND|unix.MS_REC), ""); err != nil {
			return fmt.Errorf("mount %s: binding %s: %w", m.Destination, m.Source, err)
		}
		// A bind mount takes its other flags from a remount.
		if rest := flags &^ (unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT); rest != 0 {
			if err := remountBind(dest, rest); err != nil {
				return fmt.Errorf("mount %s: remounting: %w", m.Destination, err)
			}
		}
	} else {
		switch typ {
		case "cgroup":
			// The guest has the unified hierarchy only.
			typ = "cgroup2"
			data = ""
		}
		if err := makeMountPoint(dest, true); err != nil {
			return fmt.Errorf("mount %s: %w", m.Destination, err)
		}
		source := m.Source
		if source == "" {
			source = typ
		}
		err := unix.Mount(source, dest, typ, flags, data)
		if guest, ok := bindInstead[typ]; ok && (err == unix.EPERM || err == unix.EBUSY) {
			// In a user namespace that does not own the guest's network
			// (or cgroup) namespace, which the container shares, Linux
			// refuses a new sysfs (cgroup2; EBUSY once the bound sysfs
			// brought the guest's along): the guest's is bound instead,
			// as runc binds the host's.
			err = unix.Mount(guest, dest, "", unix.MS_BIND|unix.MS_REC, "")
			if err == nil {
				err = remountBind(dest, flags&^unix.MS_REMOUNT)
			}
		}
		if err != nil {
			return fmt.Errorf("mount %s (%s): %w", m.Destination, typ, err)
		}
	}
	for _, p := range propagation {
		if err := unix.Mount("", dest, "", p, ""); err != nil {
			return fmt.Errorf("mount %s: propagation: %w", m.Destination, err)
		}
	}
	return nil
}

// bindInstead are the file systems a container in a user namespace may
// be refused, and the guest's mount bound in their place.
var bindInstead = map[string]string{"sysfs": "/sys", "cgroup2": "/sys/fs/cgroup"}

// makeMountPoint makes the directory, or the file, to mount on.
func makeMountPoint(path string, dir bool) error {
	if dir {
		return os.MkdirAll(path, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY|unix.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// defaultDevices are the device nodes of a container's /dev, as runc
// makes them (its default devices).
var defaultDevices = []deviceSpec{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
}

// populateDev makes the devices and links a container's /dev has, as
// runc makes them: null, zero, full, random, urandom, tty, and the
// links to /proc and pts. staged are the agent's nodes to bind in a
// user namespace.
func populateDev(root string, staged map[string]string) error {
	dev := filepath.Join(root, "dev")
	for _, d := range defaultDevices {
		p := filepath.Join(root, d.Path)
		os.Remove(p)
		if err := makeDevice(root, d, staged[d.Path]); err != nil {
			return err
		}
	}
	for name, target := range map[string]string{
		"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
		"stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx", "core": "/proc/kcore",
	} {
		p := filepath.Join(dev, name)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if err := os.Symlink(target, p); err != nil {
			return fmt.Errorf("making /dev/%s: %w", name, err)
		}
	}
	return nil
}

// pivotInto makes root the root of this mount namespace and detaches
// the old one, with runc's pivot_root(".", ".").
func pivotInto(root string) error {
	// pivot_root needs a mount point: the overlay is one, but bind it
	// onto itself in case it is not.
	if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("binding the root: %w", err)
	}
	if err := unix.Chdir(root); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("the old root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the old root: %w", err)
	}
	return unix.Chdir("/")
}

// setupTerminal gives the process its terminal as runc does: a pair of
// the container's own devpts (its /dev/ptmx, once this helper is in the
// container's mount namespace), so that what the program's tty(1) names
// is its /dev/pts/N. The slave, of the process's console size and the
// process's user's, becomes descriptors 0-2 and the controlling
// terminal of this helper (a session leader: the agent starts it with
// setsid) and, for a container's init (console), /dev/console; the
// master goes to the agent on helperConsoleFD, to be relayed to the
// host.
func setupTerminal(p processSpec, console bool) error {
	unix.CloseOnExec(helperConsoleFD)
	defer unix.Close(helperConsoleFD)
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("process.terminal: opening the container's /dev/ptmx (a devpts at /dev/pts): %w", err)
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("process.terminal: unlocking the terminal: %w", err)
	}
	n, err := unix.IoctlGetUint32(master, unix.TIOCGPTN)
	if err != nil {
		return fmt.Errorf("process.terminal: TIOCGPTN: %w", err)
	}
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		return fmt.Errorf("process.terminal: opening the slave: %w", errno)
	}
	slave := int(r)
	defer unix.Close(slave)
	if p.ConsoleRows != 0 || p.ConsoleColumns != 0 {
		if err := unix.IoctlSetWinsize(slave, unix.TIOCSWINSZ, &unix.Winsize{Row: p.ConsoleRows, Col: p.ConsoleColumns}); err != nil {
			return fmt.Errorf("process.consoleSize: %w", err)
		}
	}
	// The program's own, as runc gives it its stdio.
	if err := unix.Fchown(slave, int(p.UID), -1); err != nil {
		return fmt.Errorf("process.terminal: chown of the terminal: %w", err)
	}
	if console {
		// A file to mount on; one that is there (the image's device
		// node) is not opened: it would be the guest's console, and
		// this helper's controlling terminal.
		if _, err := os.Lstat("/dev/console"); errors.Is(err, os.ErrNotExist) {
			fd, err := unix.Open("/dev/console", unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
			if err != nil {
				return fmt.Errorf("process.terminal: making /dev/console: %w", err)
			}
			unix.Close(fd)
		}
		if err := unix.Mount(fmt.Sprintf("/dev/pts/%d", n), "/dev/console", "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("process.terminal: binding the terminal to /dev/console: %w", err)
		}
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return fmt.Errorf("process.terminal: %w", err)
		}
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("process.terminal: making it the controlling terminal: %w", err)
	}
	if err := unix.Sendmsg(helperConsoleFD, []byte("pty"), unix.UnixRights(master), nil, 0); err != nil {
		return fmt.Errorf("process.terminal: sending the master to the agent: %w", err)
	}
	return nil
}

// maskPath hides a path: /dev/null over a file, an empty read-only
// tmpfs over a directory; a path that does not exist is fine.
func maskPath(p string) error {
	st, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.IsDir() {
		err = unix.Mount("tmpfs", p, "tmpfs", unix.MS_RDONLY, "size=0")
	} else {
		err = unix.Mount("/dev/null", p, "", unix.MS_BIND, "")
	}
	if err != nil {
		return fmt.Errorf("masking %s: %w", p, err)
	}
	return nil
}

// readonlyPath remounts a path read-only; one that does not exist is
// fine.
func readonlyPath(p string) error {
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("read-only %s: %w", p, err)
	}
	if err := remountBind(p, unix.MS_RDONLY|unix.MS_REC); err != nil {
		return fmt.Errorf("read-only %s: %w", p, err)
	}
	return nil
}

// remountBind remounts a bind mount with flags. In a user namespace a
// mount that came from a more privileged one keeps its nosuid, nodev,
// noexec and atime flags locked (Linux: fs/namespace.c,
// can_change_locked_flags()), and a remount that would clear them is
// refused with EPERM: it is tried again with the mount's own flags
// kept, as runc always keeps them.
func remountBind(path string, flags uintptr) error {
	err := unix.Mount("", path, "", unix.MS_BIND|unix.MS_REMOUNT|flags, "")
	if err != unix.EPERM {
		return err
	}
	var st unix.Statfs_t
	if serr := unix.Statfs(path, &st); serr != nil {
		return err
	}
	var keep uintptr
	for _, f := range []struct{ st, ms uintptr }{
		{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if uintptr(st.Flags)&f.st != 0 {
			keep |= f.ms
		}
	}
	return unix.Mount("", path, "", unix.MS_BIND|unix.MS_REMOUNT|flags|keep, "")
}

// defaultPath is the PATH a program is looked up in when its
// environment has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// execProcess applies the OCI process settings to this process and
// executes its program; it returns only on error. Credentials are per
// thread: the ones that count are this thread's (main, locked), which
// execve keeps. Linux mirrors: runc's libcontainer/init_linux.go,
// finalizeNamespace().
func execProcess(p processSpec) error {
	if len(p.Args) == 0 {
		return errors.New("the process has no args")
	}
	for _, r := range p.Rlimits {
		// syscall's, which Go's restoring of RLIMIT_NOFILE at exec
		// respects.
		if err := syscall.Setrlimit(r.Resource, &syscall.Rlimit{Cur: r.Soft, Max: r.Hard}); err != nil {
			return fmt.Errorf("setrlimit %d: %w", r.Resource, err)
		}
	}
	if p.Umask != nil {
		unix.Umask(int(*p.Umask))
	} else {
		unix.Umask(0o022)
	}
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	// Before the IDs change, and again after (a directory only the
	// user may enter).
	cwdErr := unix.Chdir(cwd)
	path, err := lookPath(p.Args[0], p.Env)
	if err != nil {
		return err
	}
	if p.Caps != nil {
		for c := 0; c < 64; c++ {
			if p.Caps.Bounding&(1<<uint(c)) != 0 {
				continue
			}
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
				if err == unix.EINVAL {
					break // past the kernel's last capability
				}
				return fmt.Errorf("dropping capability %d: %w", c, err)
			}
		}
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("keepcaps: %w", err)
		}
	}
	groups := make([]int, len(p.AdditionalGids))
	for i, g := range p.AdditionalGids {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setresgid(int(p.GID), int(p.GID), int(p.GID)); err != nil {
		return fmt.Errorf("setresgid %d: %w", p.GID, err)
	}
	if err := syscall.Setresuid(int(p.UID), int(p.UID), int(p.UID)); err != nil {
		return fmt.Errorf("setresuid %d: %w", p.UID, err)
	}
	if p.Caps != nil {
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		data := [2]unix.CapUserData{
			{Effective: uint32(p.Caps.Effective), Permitted: uint32(p.Caps.Permitted), Inheritable: uint32(p.Caps.Inheritable)},
			{Effective: uint32(p.Caps.Effective >> 32), Permitted: uint32(p.Caps.Permitted >> 32), Inheritable: uint32(p.Caps.Inheritable >> 32)},
		}
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			return fmt.Errorf("capset: %w", err)
		}
		// Linux raises an ambient capability only if it is permitted
		// and inheritable; runc's default configuration (and magawa
		// spec's) lists ambient capabilities without inheritable ones,
		// and runc then warns and goes on. The others are left out, as
		// the application kernel leaves them out (kernel/kernel,
		// capset's rule).
		ambient := p.Caps.Ambient & p.Caps.Permitted & p.Caps.Inheritable
		for c := 0; c < 64; c++ {
			if ambient&(1<<uint(c)) != 0 {
				if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
					return fmt.Errorf("raising ambient capability %d: %w", c, err)
				}
			}
		}
		unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0)
	}
	if err := unix.Chdir(cwd); err != nil {
		if cwdErr != nil {
			return fmt.Errorf("chdir %s: %w", cwd, cwdErr)
		}
		return fmt.Errorf("chdir %s: %w", cwd, err)
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("no_new_privs: %w", err)
		}
	}
	if err := syscall.Exec(path, p.Args, p.Env); err != nil {
		return fmt.Errorf("exec %s: %w", p.Args[0], err)
	}
	return nil
}

// lookPath finds a program as execvp(3) does, in the PATH of the
// process's environment.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := defaultPath
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	var firstErr error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		if st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("exec %s: %w", p, unix.EACCES)
		}
	}
	if firstErr != nil {
		return "", firstErr
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH: %w", name, unix.ENOENT)
}
