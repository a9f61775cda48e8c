package strace

import (
	"strings"

	"golang.org/x/sys/unix"
)

// Argument kinds. Each is an argFn: it formats argument i of a call and
// may look at the other arguments, the result and the program's memory.

// atFdcwd is AT_FDCWD as the 32-bit int the *at calls take.
const atFdcwd = -100

func argInt(c *call, i int) string   { return dec(int64(int32(c.args[i]))) }
func argLong(c *call, i int) string  { return dec(int64(c.args[i])) }
func argUint(c *call, i int) string  { return udec(uint64(uint32(c.args[i]))) }
func argUlong(c *call, i int) string { return udec(uint64(c.args[i])) }
func argHex(c *call, i int) string   { return hex(uint64(c.args[i])) }
func argPtr(c *call, i int) string   { return ptr(c.args[i]) }

// argFd prints a file descriptor. strace prints plain numbers unless
// asked (-y) to show paths, which the kernel does not know here.
var argFd = argInt

// argDirfd prints the directory descriptor of an *at call.
func argDirfd(c *call, i int) string {
	if int32(c.args[i]) == atFdcwd {
		return "AT_FDCWD"
	}
	return argInt(c, i)
}

// argPath prints a NUL-terminated path in full.
func argPath(c *call, i int) string { return c.path(c.args[i]) }

// argStr prints a NUL-terminated string that is not a path: like strace,
// only its first 32 bytes.
func argStr(c *call, i int) string { return c.cstring(c.args[i]) }

// argWriteBuf prints a buffer the program hands to the kernel; its length
// is argument count.
func argWriteBuf(count int) argFn {
	return func(c *call, i int) string { return c.buffer(c.args[i], uint64(c.args[count]), false) }
}

// argReadBuf prints a buffer the kernel filled; the result is its length.
func argReadBuf(c *call, i int) string {
	if c.failed() {
		return ptr(c.args[i])
	}
	return c.buffer(c.args[i], uint64(c.ret), false)
}

// argReadPath prints a path the kernel wrote (getcwd), whose length with
// its NUL is the result.
func argReadPath(c *call, i int) string {
	if c.failed() {
		return ptr(c.args[i])
	}
	n := uint64(c.ret)
	if n > maxPath {
		n = maxPath
	}
	s, _, ok := c.readCString(c.args[i], int(n))
	if !ok {
		return ptr(c.args[i])
	}
	return quote(s)
}

// argValue prints a 32-bit constant by name from x.
func argValue(x xlat, dflt string) argFn {
	return func(c *call, i int) string { return x.value(uint64(uint32(c.args[i])), dflt) }
}

// argFlags prints a 32-bit flag set from x.
func argFlags(x xlat, dflt string) argFn {
	return func(c *call, i int) string { return x.flags(uint64(uint32(c.args[i])), dflt) }
}

// argFlags64 prints a 64-bit flag set from x.
func argFlags64(x xlat, dflt string) argFn {
	return func(c *call, i int) string { return x.flags(uint64(c.args[i]), dflt) }
}

func argOpenFlags(c *call, i int) string { return openFlagsString(uint64(uint32(c.args[i]))) }

// openFlagsString prints open flags as strace does: the access mode, then
// the other flags. Linux: strace's sprint_open_modes64().
func openFlagsString(v uint64) string {
	s := openAccessModes.value(v&3, "")
	v &^= 3
	if v == 0 {
		return s
	}
	return s + "|" + openModeFlags.flags(v, "")
}

// argOpenMode prints the mode of open-like calls, which only matters
// (and strace only shows) when the flags in argument flags create a file.
func argOpenMode(flags int) argFn {
	return func(c *call, i int) string {
		if c.args[flags]&(oCreat|oTmpfileB) == 0 {
			return ""
		}
		return argMode(c, i)
	}
}

// argMode prints a numeric file mode: 0644.
func argMode(c *call, i int) string { return octal(uint64(uint32(c.args[i]))) }

func argSignal(c *call, i int) string { return signalString(uint64(uint32(c.args[i]))) }

// argSigset prints a sigset_t pointer whose size is argument size.
func argSigset(size int) argFn {
	return func(c *call, i int) string { return c.sigset(c.args[i], uint64(c.args[size])) }
}

// out wraps the printer of a struct the kernel fills: when the call
// failed it was not filled, and strace prints the pointer.
func out(f func(c *call, addr uintptr) string) argFn {
	return func(c *call, i int) string {
		if c.failed() {
			return ptr(c.args[i])
		}
		return f(c, c.args[i])
	}
}

// in wraps the printer of a struct the program passes.
func in(f func(c *call, addr uintptr) string) argFn {
	return func(c *call, i int) string { return f(c, c.args[i]) }
}

// path prints a NUL-terminated path, up to PATH_MAX bytes.
func (c *call) path(addr uintptr) string {
	if addr == 0 {
		return "NULL"
	}
	s, terminated, ok := c.readCString(addr, maxPath)
	if !ok {
		return ptr(addr)
	}
	if !terminated {
		return quote(s) + "..."
	}
	return quote(s)
}

// cstring prints a NUL-terminated string, truncated after 32 bytes.
func (c *call) cstring(addr uintptr) string {
	if addr == 0 {
		return "NULL"
	}
	// One byte more than shown tells a 32-byte string from a longer one.
	s, terminated, ok := c.readCString(addr, maxStrLen+1)
	if !ok {
		return ptr(addr)
	}
	if !terminated && len(s) > maxStrLen {
		return quote(s[:maxStrLen]) + "..."
	}
	if !terminated {
		// Ends at the top of the address space.
		return quote(s) + "..."
	}
	return quote(s)
}

// buffer prints the first 32 bytes of an n-byte buffer, with "..." when
// there is more; hexq escapes every byte (random data).
func (c *call) buffer(addr uintptr, n uint64, hexq bool) string {
	if addr == 0 {
		return "NULL"
	}
	show := n
	if show > maxStrLen {
		show = maxStrLen
	}
	b := make([]byte, show)
	if !c.read(addr, b) {
		return ptr(addr)
	}
	var s string
	if hexq {
		s = quoteHex(b)
	} else {
		s = quote(b)
	}
	if n > maxStrLen {
		s += "..."
	}
	return s
}

// intPtr prints a pointer to an int the kernel wrote: [3].
func (c *call) intPtr(addr uintptr) string {
	if addr == 0 {
		return "NULL"
	}
	v, ok := c.readU32(addr)
	if !ok {
		return ptr(addr)
	}
	return "[" + dec(int64(int32(v))) + "]"
}

// ulongPtr prints a pointer to an unsigned long: [24].
func (c *call) ulongPtr(addr uintptr) string {
	if addr == 0 {
		return "NULL"
	}
	v, ok := c.readU64(addr)
	if !ok {
		return ptr(addr)
	}
	return "[" + udec(v) + "]"
}

// ptrPtr prints a pointer to a pointer: [0x7f...].
func (c *call) ptrPtr(addr uintptr) string {
	if addr == 0 {
		return "NULL"
	}
	v, ok := c.readU64(addr)
	if !ok {
		return ptr(addr)
	}
	return "[" + hex(v) + "]"
}

// fdPair prints the two descriptors pipe and pipe2 return: [3, 4].
func (c *call) fdPair(addr uintptr) string {
	var b [8]byte
	if addr == 0 {
		return "NULL"
	}
	if !c.read(addr, b[:]) {
		return ptr(addr)
	}
	return "[" + dec(int64(int32(le32(b[:], 0)))) + ", " + dec(int64(int32(le32(b[:], 4)))) + "]"
}

// argv prints execve's argument vector: ["ls", "-l"], at most 32 strings.
func (c *call) argv(addr uintptr) string {
	if addr == 0 {
		return "NULL"
	}
	var parts []string
	for n := 0; ; n++ {
		at := addr + uintptr(n*8)
		p, ok := c.readU64(at)
		if !ok {
			if n == 0 {
				return ptr(addr)
			}
			parts = append(parts, "... /* "+ptr(at)+" */")
			break
		}
		if p == 0 {
			break
		}
		if n >= maxStrLen {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, c.cstring(uintptr(p)))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// maxEnv bounds how far an environment vector is counted.
const maxEnv = 1 << 16

// envp prints execve's environment as strace does without -v: the
// pointer and how many variables it holds.
func (c *call) envp(addr uintptr) string {
	if addr == 0 {
		return "NULL"
	}
	n, terminated, ok := c.countPointers(addr, maxEnv)
	if !ok {
		return ptr(addr)
	}
	s := ptr(addr) + " /* " + udec(uint64(n)) + " var"
	if n != 1 {
		s += "s"
	}
	if !terminated {
		s += ", unterminated"
	}
	return s + " */"
}

// countPointers counts the non-NULL words of a NULL-terminated array,
// up to limit, reading a page at a time. ok is false when not even the
// first word can be read.
func (c *call) countPointers(addr uintptr, limit int) (n int, terminated, ok bool) {
	buf := make([]byte, pageSize)
	for n < limit {
		chunk := pageSize - int(addr%pageSize)
		chunk -= chunk % 8
		if chunk == 0 {
			chunk = 8 // a misaligned array straddling pages
		}
		b := buf[:chunk]
		got := c.copyIn(addr, b) / 8 * 8
		for i := 0; i < got; i += 8 {
			if le64(b, i) == 0 {
				return n, true, true
			}
			if n++; n == limit {
				return n, false, true
			}
		}
		if got < len(b) {
			return n, false, n > 0
		}
		next := addr + uintptr(chunk)
		if next < addr {
			return n, false, true
		}
		addr = next
	}
	return n, false, true
}

// interrupted reports whether a sleep was cut short, when its remaining
// time is worth showing.
func (c *call) interrupted() bool {
	switch c.errno {
	case unix.EINTR, 512, 513, 514, 516:
		return true
	}
	return false
}
