package vdso

import "math/bits"

// The vvar page is the data the vDSO's clock functions read: one page
// of the memory file that the kernel writes (Page.Store) and every
// address space maps read-only right below the image (VVarSize bytes
// below AT_SYSINFO_EHDR, where the code finds it RIP-relative), as
// Linux's [vvar] sits below its [vdso]. Its layout, little-endian:
//
//	offset  size  field
//	0       4     seq: odd while the kernel writes (a seqlock)
//	8       8     tsc: the TSC value the clocks' bases are at
//	16      4     shift: of every clock's mult
//	64      32*16 one entry per clock ID (0..15):
//	        +0  8   mult: nanoseconds per TSC cycle << shift; 0: the
//	                clock is not served from the page (system call)
//	        +8  8   base: the clock's whole nanoseconds at tsc
//	        +16 8   frac: its fraction of a nanosecond at tsc, in units
//	                of 2^-shift ns
//
// A clock reads base + (frac + (TSC - tsc) * mult) >> shift
// nanoseconds, the product taken in 128 bits, a TSC before tsc counting
// as tsc (Data.Read). A page of zeros serves nothing: the vDSO then
// makes every system call, which is what it does until the kernel has
// calibrated the TSC, forever on a host without an invariant TSC, and
// in an address space whose page was replaced by zeros.
const (
	// VVarSize is the size of the vvar mapping, right below the image.
	VVarSize = 4096
	// NumClocks bounds the clock IDs the page has entries for.
	NumClocks = 16

	vvarSeq    = 0
	vvarTSC    = 8
	vvarShift  = 16
	vvarClocks = 64
	clockSize  = 32
	clockMult  = 0
	clockBase  = 8
	clockFrac  = 16
)

// Clock is one clock's entry: its value at the page's TSC and its rate.
type Clock struct {
	// Mult is the clock's nanoseconds per TSC cycle, << Data.Shift; 0
	// says the vDSO makes the system call for this clock.
	Mult uint64
	// Base and Frac are the clock's value at Data.TSC: whole
	// nanoseconds, and a fraction in units of 2^-Shift ns.
	Base, Frac uint64
}

// Data is the content of the vvar page.
type Data struct {
	TSC    uint64
	Shift  uint32
	Clocks [NumClocks]Clock
}

// Read returns clock id's time at tsc in nanoseconds, as the vDSO's
// machine code computes it, or false if the page does not serve the
// clock (the vDSO makes the system call).
func (d *Data) Read(id int32, tsc uint64) (uint64, bool) {
	if uint32(id) >= NumClocks {
		return 0, false
	}
	c := &d.Clocks[id]
	if c.Mult == 0 {
		return 0, false
	}
	return lineAt(d.TSC, c.Mult, c.Base, c.Frac, d.Shift, tsc), true
}

// lineAt is base + (frac + (tsc - ref) * mult) >> shift, with a tsc
// before ref counting as ref, the sum kept in 128 bits and the shift
// count taken modulo 64, as x86's shrd does.
func lineAt(ref, mult, base, frac uint64, shift uint32, tsc uint64) uint64 {
	ns, _ := lineAtFrac(ref, mult, base, frac, shift, tsc)
	return ns
}

// lineAtFrac is lineAt with the fraction left over, for the kernel that
// continues a line from a new reference.
func lineAtFrac(ref, mult, base, frac uint64, shift uint32, tsc uint64) (uint64, uint64) {
	var delta uint64
	if tsc > ref {
		delta = tsc - ref
	}
	hi, lo := bits.Mul64(delta, mult)
	lo, carry := bits.Add64(lo, frac, 0)
	hi += carry
	s := shift & 63
	q := lo >> s
	if s != 0 {
		q |= hi << (64 - s)
	}
	return base + q, lo & (1<<s - 1)
}

// SplitNs splits nanoseconds into seconds and nanoseconds, as a
// timespec holds them.
func SplitNs(ns uint64) (sec, nsec uint64) { return ns / 1e9, ns % 1e9 }
