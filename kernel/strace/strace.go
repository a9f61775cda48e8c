package strace

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Memory reads the traced program's memory. Reads may fail (bad pointers);
// print the pointer in hex then, as strace does.
type Memory interface {
	CopyIn(addr uintptr, dst []byte) (int, error)
}

// call is one completed system call being formatted.
type call struct {
	mem   Memory
	args  [6]uintptr
	ret   uintptr
	errno unix.Errno
}

// failed reports whether the call returned an error; output arguments are
// then printed as pointers, since the kernel did not fill them.
func (c *call) failed() bool { return c.errno != 0 }

// argFn formats argument i of c. It returns "" when the argument is not
// shown at all (strace omits, for example, open's mode without O_CREAT).
type argFn func(c *call, i int) string

// retFn formats the result of a successful call, with any annotation
// strace adds after it (" (flags FD_CLOEXEC)", " (Timeout)").
type retFn func(c *call) string

// spec says how one system call is printed.
type spec struct {
	// args has one formatter per argument; its length is the arity.
	args []argFn
	// custom, when set, replaces args for calls whose shape depends on
	// their arguments (futex, clone, fcntl).
	custom func(c *call) []string
	// ret formats the result; nil means signed decimal.
	ret retFn
	// noResult prints the result as "?": the call does not return to the
	// program (exit) or its rax is the restored context (rt_sigreturn).
	noResult bool
}

// Line formats one completed system call. name is the table name
// ("openat"); args are the six argument registers; ret is the raw return
// value; errno is non-zero when the call failed (ret is then meaningless).
//
// Line only reads mem, is safe for concurrent use, and whatever the
// registers and memory hold, returns a line rather than panicking.
func Line(mem Memory, name string, args [6]uintptr, ret uintptr, errno unix.Errno) string {
	c := &call{mem: mem, args: args, ret: ret, errno: errno}
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('(')
	s, known := calls[name]
	var parts []string
	switch {
	case !known:
		// strace prints calls it cannot decode with all six registers.
		for i := range args {
			parts = append(parts, hex(uint64(args[i])))
		}
	case s.custom != nil:
		parts = s.custom(c)
	default:
		for i, f := range s.args {
			if p := f(c, i); p != "" {
				parts = append(parts, p)
			}
		}
	}
	b.WriteString(strings.Join(parts, ", "))
	b.WriteString(") = ")
	switch {
	case known && s.noResult:
		b.WriteString("?")
	case errno != 0:
		b.WriteString(errnoString(errno))
	case known && s.ret != nil:
		b.WriteString(s.ret(c))
	default:
		b.WriteString(strconv.FormatInt(int64(ret), 10))
	}
	return b.String()
}

// errnoString formats a failure as strace does: "-1 ENOENT (No such file
// or directory)". The kernel-internal restart codes never reach the
// program; strace shows them with "?" since the call will be restarted.
func errnoString(e unix.Errno) string {
	switch e {
	case 512:
		return "? ERESTARTSYS (To be restarted if SA_RESTART is set)"
	case 513:
		return "? ERESTARTNOINTR (To be restarted)"
	case 514:
		return "? ERESTARTNOHAND (To be restarted if no handler)"
	case 516:
		return "? ERESTART_RESTARTBLOCK (Interrupted by signal)"
	}
	n := strconv.FormatUint(uint64(e), 10)
	name, text := errnoNames[e], ""
	switch {
	case name != "":
		// Kernel-internal codes: strace names them, glibc does not.
		text = "Unknown error " + n
	case e == unix.EOPNOTSUPP:
		// x/sys/unix calls 95 ENOTSUP; strace uses the socket name.
		name, text = "EOPNOTSUPP", "Operation not supported"
	case e == unix.EUCLEAN:
		name, text = "EUCLEAN", "Structure needs cleaning"
	case e == unix.EHWPOISON:
		name, text = "EHWPOISON", "Memory page has hardware error"
	case e < unix.EHWPOISON:
		name, text = unix.ErrnoName(e), capitalize(e.Error())
	}
	if name == "" {
		// glibc's strerror text for numbers it does not know.
		return "-1 " + n + " (Unknown error " + n + ")"
	}
	return "-1 " + name + " (" + text + ")"
}

// errnoNames are the kernel's internal error codes past the ones glibc
// knows. Linux: include/linux/errno.h.
var errnoNames = map[unix.Errno]string{
	515: "ENOIOCTLCMD", 517: "EPROBE_DEFER", 518: "EOPENSTALE", 519: "ENOPARAM",
	521: "EBADHANDLE", 522: "ENOTSYNC", 523: "EBADCOOKIE", 524: "ENOTSUPP",
	525: "ETOOSMALL", 526: "ESERVERFAULT", 527: "EBADTYPE", 528: "EJUKEBOX",
	529: "EIOCBQUEUED", 530: "ERECALLCONFLICT",
}

// capitalize undoes x/sys/unix's lower-casing of glibc's strerror texts,
// which start with a capital letter.
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// Result formatters.

func retHex(c *call) string { return hex(uint64(c.ret)) }

// retOctal is umask's result, printed like its argument: 022, 000.
func retOctal(c *call) string { return octal(uint64(c.ret)) }
