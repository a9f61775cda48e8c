package tmpfs

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Options are a tmpfs instance's mount options.
type Options struct {
	// Size bounds the bytes of file data, counted in allocated pages
	// (rounded up to a page); 0 means no limit, as Linux's size=0.
	Size uint64
	// NrInodes bounds the number of inodes, the root included; 0 means
	// no limit.
	NrInodes uint64
	// Mode is the root directory's permission bits (S_ISVTX included).
	Mode uint32
	// UID and GID own the root directory.
	UID, GID uint32
}

// DefaultOptions are the options of a tmpfs mounted without any: Linux's
// defaults of half the host's memory for data and one inode per two
// pages of it, root mode 1777, owned by root.
// Linux: mm/shmem.c, shmem_default_max_blocks() and shmem_default_max_inodes().
func DefaultOptions() Options {
	half := totalMemory() / 2
	return Options{Size: half, NrInodes: half / pageSize, Mode: 0o1777}
}

// totalMemory returns the host's memory in bytes (1 GiB if unknown),
// asked once.
var totalMemory = sync.OnceValue(func() uint64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil || si.Totalram == 0 {
		return 1 << 30
	}
	return uint64(si.Totalram) * uint64(si.Unit)
})

// ParseOptions parses the data string of mount(2) for tmpfs:
// comma-separated size=, nr_inodes=, mode=, uid= and gid=, over the
// defaults. Linux's options that change nothing here (huge=, mpol=,
// inode32, inode64, noswap, nr_blocks= is folded into size) are accepted;
// anything else is EINVAL.
// Linux: mm/shmem.c, shmem_parse_one().
func ParseOptions(data string) (Options, error) {
	o := DefaultOptions()
	for _, opt := range strings.Split(data, ",") {
		if opt == "" {
			continue
		}
		key, val, hasVal := strings.Cut(opt, "=")
		var err error
		switch key {
		case "size":
			o.Size, err = parseSize(val, true)
			o.Size = (o.Size + pageSize - 1) &^ (pageSize - 1)
		case "nr_blocks":
			var n uint64
			n, err = parseSize(val, false)
			if err == nil && n > ^uint64(0)/pageSize {
				err = unix.EINVAL
			}
			o.Size = n * pageSize
		case "nr_inodes":
			o.NrInodes, err = parseSize(val, false)
		case "mode":
			var m uint64
			m, err = strconv.ParseUint(val, 8, 32)
			if err == nil && m > 0o7777 {
				err = unix.EINVAL
			}
			o.Mode = uint32(m)
		case "uid", "gid":
			var id uint64
			id, err = strconv.ParseUint(val, 10, 32)
			if err == nil && id == 1<<32-1 {
				err = unix.EINVAL // (uid_t)-1 is no ID
			}
			if key == "uid" {
				o.UID = uint32(id)
			} else {
				o.GID = uint32(id)
			}
		case "huge":
			switch val {
			case "never", "always", "within_size", "advise", "deny", "force":
			default:
				err = unix.EINVAL
			}
		case "mpol":
			if val == "" {
				err = unix.EINVAL
			}
		case "inode32", "inode64", "noswap":
			if hasVal {
				err = unix.EINVAL
			}
		default:
			err = unix.EINVAL
		}
		if err != nil || (!hasVal && key != "inode32" && key != "inode64" && key != "noswap") {
			return Options{}, unix.EINVAL
		}
	}
	return o, nil
}

// parseSize parses a number with an optional binary suffix (k, m, g, t,
// p, e), or, if percent, a percentage of the host's memory ("50%").
// Linux: lib/cmdline.c, memparse().
func parseSize(s string, percent bool) (uint64, error) {
	if s == "" {
		return 0, unix.EINVAL
	}
	if percent && strings.HasSuffix(s, "%") {
		p, err := strconv.ParseUint(s[:len(s)-1], 10, 64)
		if err != nil || p > 1<<20 {
			return 0, unix.EINVAL
		}
		return totalMemory() / 100 * p, nil
	}
	shift := 0
	switch s[len(s)-1] {
	case 'k', 'K':
		shift = 10
	case 'm', 'M':
		shift = 20
	case 'g', 'G':
		shift = 30
	case 't', 'T':
		shift = 40
	case 'p', 'P':
		shift = 50
	case 'e', 'E':
		shift = 60
	}
	if shift != 0 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil || n > ^uint64(0)>>shift {
		return 0, unix.EINVAL
	}
	return n << shift, nil
}

// String is the option string /proc/mounts shows, in Linux's form: size
// (in KiB) and nr_inodes when they are not the defaults, mode, uid and
// gid when they are not 1777 and root, and inode64 (inode numbers here
// are 64-bit). Linux: mm/shmem.c, shmem_show_options().
func (o Options) String() string {
	def := DefaultOptions()
	var parts []string
	if o.Size != def.Size {
		parts = append(parts, fmt.Sprintf("size=%dk", o.Size>>10))
	}
	if o.NrInodes != def.NrInodes {
		parts = append(parts, fmt.Sprintf("nr_inodes=%d", o.NrInodes))
	}
	if o.Mode != 0o1777 {
		parts = append(parts, fmt.Sprintf("mode=%03o", o.Mode))
	}
	if o.UID != 0 {
		parts = append(parts, fmt.Sprintf("uid=%d", o.UID))
	}
	if o.GID != 0 {
		parts = append(parts, fmt.Sprintf("gid=%d", o.GID))
	}
	parts = append(parts, "inode64")
	return strings.Join(parts, ",")
}
