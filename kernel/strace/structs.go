package strace

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Struct printers. Each takes a pointer into the program's memory and
// prints NULL for zero and the pointer in hex when the struct cannot be
// read. Layouts are x86-64's. Like strace without -v, large structs are
// abbreviated to their telling fields followed by "...".

// readStruct reads n bytes at addr, or returns the string to print
// instead (NULL or the pointer).
func (c *call) readStruct(addr uintptr, n int) ([]byte, string) {
	if addr == 0 {
		return nil, "NULL"
	}
	b := make([]byte, n)
	if !c.read(addr, b) {
		return nil, ptr(addr)
	}
	return b, ""
}

func timespecString(sec, nsec uint64) string {
	return "{tv_sec=" + dec(int64(sec)) + ", tv_nsec=" + dec(int64(nsec)) + "}"
}

func timevalString(sec, usec uint64) string {
	return "{tv_sec=" + dec(int64(sec)) + ", tv_usec=" + dec(int64(usec)) + "}"
}

func (c *call) timespec(addr uintptr) string {
	b, alt := c.readStruct(addr, 16)
	if b == nil {
		return alt
	}
	return timespecString(le64(b, 0), le64(b, 8))
}

func (c *call) timeval(addr uintptr) string {
	b, alt := c.readStruct(addr, 16)
	if b == nil {
		return alt
	}
	return timevalString(le64(b, 0), le64(b, 8))
}

func (c *call) timezone(addr uintptr) string {
	b, alt := c.readStruct(addr, 8)
	if b == nil {
		return alt
	}
	return "{tz_minuteswest=" + dec(int64(int32(le32(b, 0)))) +
		", tz_dsttime=" + dec(int64(int32(le32(b, 4)))) + "}"
}

// modeString prints a file mode with its type: "S_IFREG|0644",
// "S_IFDIR|S_ISVTX|0777". Linux: strace's print_symbolic_mode_t().
func modeString(m uint64) string {
	var s string
	if t := fileTypes.lookup(m & 0o170000); t != "" {
		s = t + "|"
	} else if m&0o170000 != 0 {
		// An unknown type keeps its bits in the number.
		return octal(m)
	}
	if m&0o4000 != 0 {
		s += "S_ISUID|"
	}
	if m&0o2000 != 0 {
		s += "S_ISGID|"
	}
	if m&0o1000 != 0 {
		s += "S_ISVTX|"
	}
	return s + octal(m&0o777)
}

// devString prints a device number as strace does: makedev(0x1, 0x3).
func devString(major, minor uint64) string {
	return "makedev(" + hex(major) + ", " + hex(minor) + ")"
}

// stat prints a struct stat (x86-64: 144 bytes).
func (c *call) stat(addr uintptr) string {
	b, alt := c.readStruct(addr, 144)
	if b == nil {
		return alt
	}
	mode := uint64(le32(b, 24))
	s := "{st_mode=" + modeString(mode) + ", "
	switch mode & 0o170000 {
	case 0o20000, 0o60000:
		dev := le64(b, 40)
		s += "st_rdev=" + devString(uint64(unix.Major(dev)), uint64(unix.Minor(dev)))
	default:
		s += "st_size=" + dec(int64(le64(b, 48)))
	}
	return s + ", ...}"
}

// statx prints a struct statx (256 bytes; the fields shown are in the
// first 144).
func (c *call) statx(addr uintptr) string {
	b, alt := c.readStruct(addr, 144)
	if b == nil {
		return alt
	}
	mode := uint64(le16(b, 28))
	s := "{stx_mask=" + statxMasks.flags(uint64(le32(b, 0)), "STATX_???") +
		", stx_attributes=" + statxAttrs.flags(le64(b, 8), "STATX_ATTR_???") +
		", stx_mode=" + modeString(mode) +
		", stx_size=" + udec(le64(b, 40))
	return s + ", ...}"
}

// rlimString prints one limit: RLIM64_INFINITY, "8192*1024" for
// multiples of 1024, or the number. Linux: strace's sprint_rlim64().
func rlimString(v uint64) string {
	switch {
	case v == ^uint64(0):
		return "RLIM64_INFINITY"
	case v > 1024 && v%1024 == 0:
		return udec(v/1024) + "*1024"
	}
	return udec(v)
}

func (c *call) rlimit(addr uintptr) string {
	b, alt := c.readStruct(addr, 16)
	if b == nil {
		return alt
	}
	return "{rlim_cur=" + rlimString(le64(b, 0)) + ", rlim_max=" + rlimString(le64(b, 8)) + "}"
}

func (c *call) rusage(addr uintptr) string {
	b, alt := c.readStruct(addr, 144)
	if b == nil {
		return alt
	}
	return "{ru_utime=" + timevalString(le64(b, 0), le64(b, 8)) +
		", ru_stime=" + timevalString(le64(b, 16), le64(b, 24)) + ", ...}"
}

// sysinfo prints struct sysinfo, which strace shows in full.
func (c *call) sysinfo(addr uintptr) string {
	b, alt := c.readStruct(addr, 112)
	if b == nil {
		return alt
	}
	u := func(off int) string { return udec(le64(b, off)) }
	return "{uptime=" + dec(int64(le64(b, 0))) +
		", loads=[" + u(8) + ", " + u(16) + ", " + u(24) + "]" +
		", totalram=" + u(32) + ", freeram=" + u(40) +
		", sharedram=" + u(48) + ", bufferram=" + u(56) +
		", totalswap=" + u(64) + ", freeswap=" + u(72) +
		", procs=" + udec(uint64(le16(b, 80))) +
		", totalhigh=" + u(88) + ", freehigh=" + u(96) +
		", mem_unit=" + udec(uint64(le32(b, 104))) + "}"
}

func (c *call) tms(addr uintptr) string {
	b, alt := c.readStruct(addr, 32)
	if b == nil {
		return alt
	}
	return "{tms_utime=" + udec(le64(b, 0)) + ", tms_stime=" + udec(le64(b, 8)) +
		", tms_cutime=" + udec(le64(b, 16)) + ", tms_cstime=" + udec(le64(b, 24)) + "}"
}

// utsname prints the first two fields of struct utsname (six 65-byte
// strings).
func (c *call) utsname(addr uintptr) string {
	b, alt := c.readStruct(addr, 2*65)
	if b == nil {
		return alt
	}
	field := func(f []byte) string {
		if i := strings.IndexByte(string(f), 0); i >= 0 {
			f = f[:i]
		}
		return quote(f)
	}
	return "{sysname=" + field(b[:65]) + ", nodename=" + field(b[65:130]) + ", ...}"
}

// iovec prints an array of n struct iovec. data bounds how many bytes of
// the buffers are shown in all (readv: the bytes read); -1 means each
// buffer's own length (writev), -2 that no buffer is read at all (a
// failed readv), only its address shown.
func (c *call) iovec(addr uintptr, n uint64, data int64) string {
	if addr == 0 {
		return "NULL"
	}
	if n > 1024 { // IOV_MAX: the kernel refuses more, strace shows the pointer.
		return ptr(addr)
	}
	var parts []string
	for i := uint64(0); i < n; i++ {
		if i == maxStrLen {
			parts = append(parts, "...")
			break
		}
		var b [16]byte
		if !c.read(addr+uintptr(i*16), b[:]) {
			if i == 0 {
				return ptr(addr)
			}
			parts = append(parts, "... /* "+ptr(addr+uintptr(i*16))+" */")
			break
		}
		base, length := uintptr(le64(b[:], 0)), le64(b[:], 8)
		if data == -2 {
			parts = append(parts, "{iov_base="+ptr(base)+", iov_len="+udec(length)+"}")
			continue
		}
		show := length
		if data >= 0 && uint64(data) < show {
			show = uint64(data)
		}
		parts = append(parts, "{iov_base="+c.buffer(base, show, false)+", iov_len="+udec(length)+"}")
		if data >= 0 {
			data -= int64(show)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pollfds prints an array of n struct pollfd with their requested events.
func (c *call) pollfds(addr uintptr, n uint64) string {
	if addr == 0 {
		return "NULL"
	}
	var parts []string
	for i := uint64(0); i < n; i++ {
		if i == maxStrLen {
			parts = append(parts, "...")
			break
		}
		var b [8]byte
		if !c.read(addr+uintptr(i*8), b[:]) {
			if i == 0 {
				return ptr(addr)
			}
			parts = append(parts, "... /* "+ptr(addr+uintptr(i*8))+" */")
			break
		}
		fd := int32(le32(b[:], 0))
		if fd < 0 {
			// The kernel ignores the events of a negative descriptor.
			parts = append(parts, "{fd="+dec(int64(fd))+"}")
			continue
		}
		parts = append(parts, "{fd="+dec(int64(fd))+
			", events="+pollEvents.flags(uint64(le16(b[:], 4)), "POLL???")+"}")
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pollResult annotates poll's result with the descriptors that have
// events and, for ppoll, the time left: "1 ([{fd=3, revents=POLLIN}])".
// Like strace, it lists at most 32 descriptors.
func (c *call) pollResult(addr uintptr, n uint64, timeout uintptr) string {
	r := dec(int64(c.ret))
	if c.ret == 0 {
		return r + " (Timeout)"
	}
	var parts []string
	// The kernel accepted n entries, so they are readable; still, read
	// them a page at a time and stop once every ready one was found.
	ready := uint64(c.ret)
	buf := make([]byte, pageSize)
scan:
	for i := uint64(0); i < n && ready > 0; {
		chunk := min(n-i, pageSize/8)
		b := buf[:chunk*8]
		if !c.read(addr+uintptr(i*8), b) {
			break
		}
		for j := 0; j < len(b); j += 8 {
			rev := uint64(le16(b, j+6))
			if rev == 0 {
				continue
			}
			if len(parts) == maxStrLen {
				parts = append(parts, "...")
				break scan
			}
			parts = append(parts, "{fd="+dec(int64(int32(le32(b, j))))+
				", revents="+pollEvents.flags(rev, "POLL???")+"}")
			if ready--; ready == 0 {
				break
			}
		}
		i += chunk
	}
	var notes []string
	if len(parts) > 0 {
		notes = append(notes, "["+strings.Join(parts, ", ")+"]")
	}
	if timeout != 0 {
		if t := c.timespec(timeout); t[0] == '{' {
			notes = append(notes, "left "+t)
		}
	}
	if len(notes) == 0 {
		return r
	}
	return r + " (" + strings.Join(notes, ", ") + ")"
}

// maxSelectFds bounds how much of an fd_set is read for select, as
// strace does.
const maxSelectFds = 1 << 20

// maxFdsetMembers bounds how many descriptors of one set are printed.
const maxFdsetMembers = 1024

// fdsetBytes returns the size strace reads for nfds descriptors.
func fdsetBytes(nfds int64) int {
	if nfds <= 0 {
		return 0
	}
	if nfds > maxSelectFds {
		nfds = maxSelectFds
	}
	return int((nfds + 63) / 64 * 8)
}

// fdset prints an fd_set of nfds descriptors: "[3 4]".
func (c *call) fdset(addr uintptr, nfds int64) string {
	if addr == 0 {
		return "NULL"
	}
	n := fdsetBytes(nfds)
	if n == 0 {
		return ptr(addr)
	}
	fds, ok := c.fdsetMembers(addr, n, nfds)
	if !ok {
		return ptr(addr)
	}
	return "[" + strings.Join(fds, " ") + "]"
}

func (c *call) fdsetMembers(addr uintptr, n int, nfds int64) ([]string, bool) {
	b := make([]byte, n)
	if !c.read(addr, b) {
		return nil, false
	}
	var fds []string
	for fd := int64(0); fd < nfds && fd < int64(n)*8; fd++ {
		if b[fd/8]&(1<<(fd%8)) == 0 {
			continue
		}
		if len(fds) == maxFdsetMembers {
			// strace has no limit; a program filling a million-bit
			// set should not make a megabyte line.
			fds = append(fds, "...")
			break
		}
		fds = append(fds, strconv.FormatInt(fd, 10))
	}
	return fds, true
}

// selectResult annotates select's result with the ready descriptors and
// the time left: "1 (in [3], left {tv_sec=0, tv_usec=999998})".
// timespec tells pselect6's timeout apart from select's timeval.
func (c *call) selectResult(timespec bool) string {
	r := dec(int64(c.ret))
	if c.ret == 0 {
		return r + " (Timeout)"
	}
	nfds := int64(int32(c.args[0]))
	n := fdsetBytes(nfds)
	var notes []string
	for i, name := range []string{"in", "out", "except"} {
		addr := c.args[1+i]
		if addr == 0 || n == 0 {
			continue
		}
		if fds, ok := c.fdsetMembers(addr, n, nfds); ok && len(fds) > 0 {
			notes = append(notes, name+" ["+strings.Join(fds, " ")+"]")
		}
	}
	if t := c.args[4]; t != 0 {
		var s string
		if timespec {
			s = c.timespec(t)
		} else {
			s = c.timeval(t)
		}
		if s[0] == '{' {
			notes = append(notes, "left "+s)
		}
	}
	if len(notes) == 0 {
		return r
	}
	return r + " (" + strings.Join(notes, ", ") + ")"
}

// maxDirents bounds the getdents64 results that are decoded; past it
// only the pointer is shown.
const maxDirents = 1 << 24

// direntCount counts the entries of a getdents64 buffer of n bytes,
// reading it a page at a time.
func (c *call) direntCount(addr uintptr, n uint64) (int, bool) {
	const hdr = 19 // d_ino, d_off, d_reclen, d_type
	if n > maxDirents {
		return 0, false
	}
	buf := make([]byte, pageSize)
	var start, end uint64 // the part of the buffer in buf
	count := 0
	for off := uint64(0); off+hdr <= n; count++ {
		if off < start || off+hdr > end {
			start, end = off, min(off+pageSize, n)
			if !c.read(addr+uintptr(start), buf[:end-start]) {
				return 0, false
			}
		}
		reclen := uint64(le16(buf, int(off-start)+16))
		if reclen < hdr {
			break // not a record the kernel wrote
		}
		off += reclen
	}
	return count, true
}

// winsize prints struct winsize (TIOCGWINSZ).
func (c *call) winsize(addr uintptr) string {
	b, alt := c.readStruct(addr, 8)
	if b == nil {
		return alt
	}
	return "{ws_row=" + udec(uint64(le16(b, 0))) + ", ws_col=" + udec(uint64(le16(b, 2))) +
		", ws_xpixel=" + udec(uint64(le16(b, 4))) + ", ws_ypixel=" + udec(uint64(le16(b, 6))) + "}"
}

// itimerval prints struct itimerval (getitimer, setitimer).
func (c *call) itimerval(addr uintptr) string {
	b, alt := c.readStruct(addr, 32)
	if b == nil {
		return alt
	}
	return "{it_interval=" + timevalString(le64(b, 0), le64(b, 8)) +
		", it_value=" + timevalString(le64(b, 16), le64(b, 24)) + "}"
}

// cpuSet prints a CPU mask of n bytes as the list of its CPUs: [0 1].
func (c *call) cpuSet(addr uintptr, n uint64) string {
	if addr == 0 {
		return "NULL"
	}
	if n > 1<<16 { // far more CPUs than Linux supports
		return ptr(addr)
	}
	b := make([]byte, n)
	if !c.read(addr, b) {
		return ptr(addr)
	}
	var cpus []string
	for i := range len(b) * 8 {
		if b[i/8]&(1<<(i%8)) != 0 {
			cpus = append(cpus, strconv.Itoa(i))
		}
	}
	return "[" + strings.Join(cpus, " ") + "]"
}
