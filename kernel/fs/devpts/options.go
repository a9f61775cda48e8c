package devpts

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// MaxPTYs is the most pairs an instance holds (Linux's NR_UNIX98_PTY_MAX
// is 1<<20; the kernel.pty.max sysctl's default is 4096, which binds
// first on Linux).
const MaxPTYs = 4096

// Options are the mount options. Linux: fs/devpts/inode.c, parse_mount_options().
type Options struct {
	// UID and GID own new slave nodes when SetUID and SetGID are set;
	// otherwise the opener of ptmx does.
	UID, GID       uint32
	SetUID, SetGID bool
	// Mode is the permission of new slave nodes (mode=, default 0600).
	Mode uint32
	// PTMXMode is the permission of the ptmx node (ptmxmode=, default 0).
	PTMXMode uint32
	// Max bounds the pairs (max=, at most MaxPTYs; 0 means MaxPTYs).
	Max int
}

// DefaultOptions are Linux's defaults.
func DefaultOptions() Options {
	return Options{Mode: 0o600, PTMXMode: 0, Max: MaxPTYs}
}

// ContainerOptions are the options runc and Docker mount /dev/pts with:
// "newinstance,ptmxmode=0666,mode=0620,gid=5" (5 is the tty group).
func ContainerOptions() Options {
	o := DefaultOptions()
	o.Mode, o.PTMXMode = 0o620, 0o666
	o.GID, o.SetGID = 5, true
	return o
}

// ParseOptions parses mount(2)'s data for devpts, from the defaults:
// uid=, gid=, mode=, ptmxmode=, max= and newinstance (always the case
// here). Unknown options fail with EINVAL, as on Linux.
func ParseOptions(data string) (Options, error) {
	o := DefaultOptions()
	for _, opt := range strings.Split(data, ",") {
		if opt == "" {
			continue
		}
		key, val, hasVal := strings.Cut(opt, "=")
		var n uint64
		var err error
		switch key {
		case "uid", "gid", "max":
			n, err = strconv.ParseUint(val, 10, 32)
		case "mode", "ptmxmode":
			n, err = strconv.ParseUint(val, 8, 32)
		case "newinstance":
			if hasVal {
				return o, unix.EINVAL
			}
			continue
		default:
			return o, unix.EINVAL
		}
		if !hasVal || err != nil {
			return o, unix.EINVAL
		}
		switch key {
		case "uid":
			o.UID, o.SetUID = uint32(n), true
		case "gid":
			o.GID, o.SetGID = uint32(n), true
		case "mode":
			o.Mode = uint32(n) & 0o777
		case "ptmxmode":
			o.PTMXMode = uint32(n) & 0o777
		case "max":
			o.Max = int(min(n, MaxPTYs))
		}
	}
	return o, nil
}

// String renders the options as /proc/mounts shows them. Linux:
// fs/devpts/inode.c, devpts_show_options().
func (o Options) String() string {
	var b strings.Builder
	if o.SetUID {
		fmt.Fprintf(&b, "uid=%d,", o.UID)
	}
	if o.SetGID {
		fmt.Fprintf(&b, "gid=%d,", o.GID)
	}
	fmt.Fprintf(&b, "mode=%03o,ptmxmode=%03o", o.Mode, o.PTMXMode)
	if o.Max < MaxPTYs {
		fmt.Fprintf(&b, ",max=%d", o.Max)
	}
	return b.String()
}
