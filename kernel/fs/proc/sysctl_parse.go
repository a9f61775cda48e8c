package proc

import (
	"math"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
)

// This file parses and formats the values of /proc/sys files as Linux's
// handlers do (kernel/sysctl.c): whitespace-separated integers, each
// decimal, octal after a 0 or hexadecimal after 0x, checked against the
// file's bounds; anything else is EINVAL.

// sysctlInput is what is left to parse of one write. Linux parses at
// most a page less one byte of a write.
type sysctlInput struct {
	b    []byte
	size int // the length of the write
}

func newSysctlInput(data []byte) *sysctlInput {
	b := data
	if len(b) > pageSize-1 {
		b = b[:pageSize-1]
	}
	return &sysctlInput{b: b, size: len(data)}
}

// taken is how many bytes of the write the value took: write(2) returns
// it, and a writer loops to write the rest at the next offset, which
// the file ignores. Linux counts what lies beyond the page as taken.
func (in *sysctlInput) taken() int { return in.size - len(in.b) }

// isSpace is the kernel's isspace(), which takes the Latin-1 no-break
// space as a space too. Linux: lib/ctype.c.
func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0xa0:
		return true
	}
	return false
}

// skipSpaces drops leading spaces. Linux: proc_skip_spaces().
func (in *sysctlInput) skipSpaces() {
	for len(in.b) > 0 && isSpace(in.b[0]) {
		in.b = in.b[1:]
	}
}

// Separators allowed after a number: whitespace (proc_wspace_sep), and
// those of a bitmap's ranges.
const (
	wspaceSeps   = " \t\n"
	rangeSeps    = "-,\n"
	rangeEndSeps = ",\n\x00"
)

// maxNumberLen is the longest text a number may have (TMPBUFLEN - 1
// characters, and one fewer is the longest accepted).
const maxNumberLen = 21

// number reads a number with an optional minus sign, followed by the end
// of the input or a byte of seps (which it leaves, and returns as next;
// 0 at the end). Linux: proc_get_long() and strtoul_lenient().
func (in *sysctlInput) number(seps string) (v uint64, neg bool, next byte, err error) {
	if len(in.b) == 0 {
		return 0, false, 0, unix.EINVAL
	}
	tmp := in.b[:min(len(in.b), maxNumberLen)]
	p := 0
	if tmp[0] == '-' && len(in.b) > 1 {
		neg, p = true, 1
	}
	if p >= len(tmp) || !isDigit(tmp[p]) {
		return 0, false, 0, unix.EINVAL
	}
	// The base, as _parse_integer_fixup_radix() picks it.
	base := uint64(10)
	if tmp[p] == '0' {
		base = 8
		if p+2 < len(tmp) && tmp[p+1]|0x20 == 'x' && digitValue(tmp[p+2]) < 16 {
			base, p = 16, p+2
		}
	}
	overflow := false
	for ; p < len(tmp); p++ {
		d := digitValue(tmp[p])
		if d >= base {
			break
		}
		if v > (math.MaxUint64-d)/base {
			overflow = true
		}
		v = v*base + d
	}
	if overflow || p == maxNumberLen {
		return 0, false, 0, unix.EINVAL
	}
	if p < len(in.b) {
		next = in.b[p]
		if !strings.ContainsRune(seps, rune(next)) {
			return 0, false, 0, unix.EINVAL
		}
	}
	in.b = in.b[p:]
	return v, neg, next, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digitValue is c's value as a digit of any base up to 16, or 16.
func digitValue(c byte) uint64 {
	switch {
	case isDigit(c):
		return uint64(c - '0')
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return uint64(c|0x20-'a') + 10
	}
	return 16
}

// vector parses up to n whitespace-separated numbers, handing each to
// store, which checks and keeps it. The first failure ends the write
// with EINVAL, leaving the numbers before it stored; a write without a
// number is EINVAL. Linux: __do_proc_dointvec() and
// __do_proc_doulongvec_minmax().
func (in *sysctlInput) vector(n int, store func(i int, v uint64, neg bool) error) error {
	i := 0
	for ; len(in.b) > 0 && i < n; i++ {
		in.skipSpaces()
		if len(in.b) == 0 {
			break
		}
		v, neg, _, err := in.number(wspaceSeps)
		if err != nil {
			return err
		}
		if err := store(i, v, neg); err != nil {
			return unix.EINVAL
		}
	}
	if i == 0 {
		return unix.EINVAL
	}
	in.skipSpaces()
	return nil
}

// single parses one unsigned number, handing it to store; the whole
// write is taken. Linux: __do_proc_douintvec_w().
func (in *sysctlInput) single(store func(v uint64) error) error {
	in.skipSpaces()
	v, neg, _, err := in.number(wspaceSeps)
	if err != nil || neg || store(v) != nil {
		return unix.EINVAL
	}
	in.b = nil
	return nil
}

// toInt converts a parsed number to an int within [lo, hi]. Linux:
// do_proc_dointvec_conv() and do_proc_dointvec_minmax_conv().
func toInt(v uint64, neg bool, lo, hi int64) (int32, error) {
	var x int64
	switch {
	case neg && v <= 1<<31:
		x = -int64(v)
	case !neg && v <= math.MaxInt32:
		x = int64(v)
	default:
		return 0, unix.EINVAL
	}
	if x < lo || x > hi {
		return 0, unix.EINVAL
	}
	return int32(x), nil
}

// toUlong checks an unsigned long against [lo, hi]: negative numbers
// are refused. Linux: __do_proc_doulongvec_minmax().
func toUlong(v uint64, neg bool, lo, hi uint64) (uint64, error) {
	if neg || v < lo || v > hi {
		return 0, unix.EINVAL
	}
	return v, nil
}

// jiffiesHZ is the tick rate the sandbox's time sysctls are checked
// with: the seconds they take must fit an int once multiplied by it.
// Linux's CONFIG_HZ of Debian's and Ubuntu's kernels.
const jiffiesHZ = 250

// formatInts formats values as Linux's proc_dointvec reads them: tab
// separated, then a newline (added by the file's reader).
func formatInts[T int32 | uint32 | uint8](vals ...T) string {
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteByte('\t')
		}
		b.WriteString(strconv.FormatInt(int64(v), 10))
	}
	return b.String()
}

// formatUlongs is formatInts for values past int64's range.
func formatUlongs(vals ...uint64) string {
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteByte('\t')
		}
		b.WriteString(strconv.FormatUint(v, 10))
	}
	return b.String()
}

// portCount is the size of the port bitmap.
const portCount = 1 << 16

// parsePortRanges parses a write to a port bitmap: ports and ranges
// ("8080", "9000-9100") separated by commas, optionally ending in a
// newline; empty is no port. Linux: proc_do_large_bitmap().
func parsePortRanges(in *sysctlInput) ([]kernel.PortRange, error) {
	var out []kernel.PortRange
	skipNewline := func() { // proc_skip_char()
		for len(in.b) > 0 && in.b[0] == '\n' {
			in.b = in.b[1:]
		}
	}
	skipNewline()
	for len(in.b) > 0 {
		a, neg, c, err := in.number(rangeSeps)
		if err != nil {
			return nil, err
		}
		if a >= portCount || neg {
			return nil, unix.EINVAL
		}
		b := a
		if len(in.b) > 0 {
			in.b = in.b[1:] // the separator
		}
		if c == '-' {
			if b, neg, _, err = in.number(rangeEndSeps); err != nil {
				return nil, err
			}
			if b >= portCount || neg || a > b {
				return nil, unix.EINVAL
			}
			if len(in.b) > 0 {
				in.b = in.b[1:]
			}
		}
		out = append(out, kernel.PortRange{First: uint16(a), Last: uint16(b)})
		skipNewline()
	}
	return out, nil
}

// mergePortRanges returns the ports of both lists as sorted ranges that
// neither overlap nor touch.
func mergePortRanges(a, b []kernel.PortRange) []kernel.PortRange {
	var bits [portCount / 64]uint64
	for _, r := range append(append([]kernel.PortRange(nil), a...), b...) {
		for p := int(r.First); p <= int(r.Last); p++ {
			bits[p/64] |= 1 << (p % 64)
		}
	}
	var out []kernel.PortRange
	for p := 0; p < portCount; p++ {
		if bits[p/64]&(1<<(p%64)) == 0 {
			continue
		}
		first := p
		for p+1 < portCount && bits[(p+1)/64]&(1<<((p+1)%64)) != 0 {
			p++
		}
		out = append(out, kernel.PortRange{First: uint16(first), Last: uint16(p)})
	}
	return out
}

// formatPortRanges formats ranges as Linux reads a bitmap: "a-b,c".
func formatPortRanges(rs []kernel.PortRange) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(r.First)))
		if r.Last != r.First {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(int(r.Last)))
		}
	}
	return b.String()
}
