package arch

import (
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeMemory is an address space of a few mapped ranges. Copies stop at
// the first byte outside them (or, for CopyOut, outside a writable one)
// and return EFAULT with the count done, as mm does.
type fakeMemory struct {
	ranges []*fakeRange
}

type fakeRange struct {
	start    uint64
	data     []byte
	readOnly bool
}

func (f *fakeMemory) mapRange(start uint64, size int) *fakeRange {
	r := &fakeRange{start: start, data: make([]byte, size)}
	f.ranges = append(f.ranges, r)
	return r
}

func (f *fakeMemory) find(addr uint64) (*fakeRange, int) {
	for _, r := range f.ranges {
		if addr >= r.start && addr-r.start < uint64(len(r.data)) {
			return r, int(addr - r.start)
		}
	}
	return nil, 0
}

func (f *fakeMemory) CopyIn(addr uintptr, b []byte) (int, error) {
	for i := range b {
		r, off := f.find(uint64(addr) + uint64(i))
		if r == nil || uint64(addr)+uint64(i) < uint64(addr) {
			return i, unix.EFAULT
		}
		b[i] = r.data[off]
	}
	return len(b), nil
}

func (f *fakeMemory) CopyOut(addr uintptr, b []byte) (int, error) {
	for i := range b {
		r, off := f.find(uint64(addr) + uint64(i))
		if r == nil || r.readOnly || uint64(addr)+uint64(i) < uint64(addr) {
			return i, unix.EFAULT
		}
		r.data[off] = b[i]
	}
	return len(b), nil
}

// bytes returns n bytes at addr, failing the test if unmapped.
func (f *fakeMemory) bytes(t *testing.T, addr uint64, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := f.CopyIn(uintptr(addr), b); err != nil {
		t.Fatalf("reading %d bytes at %#x: %v", n, addr, err)
	}
	return b
}

func (f *fakeMemory) u64(t *testing.T, addr uint64) uint64 { return le.Uint64(f.bytes(t, addr, 8)) }
func (f *fakeMemory) u32(t *testing.T, addr uint64) uint32 { return le.Uint32(f.bytes(t, addr, 4)) }
func (f *fakeMemory) u16(t *testing.T, addr uint64) uint16 { return le.Uint16(f.bytes(t, addr, 2)) }

func (f *fakeMemory) put64(t *testing.T, addr, v uint64) {
	t.Helper()
	var b [8]byte
	le.PutUint64(b[:], v)
	if _, err := f.CopyOut(uintptr(addr), b[:]); err != nil {
		t.Fatalf("writing at %#x: %v", addr, err)
	}
}

func (f *fakeMemory) put32(t *testing.T, addr uint64, v uint32) {
	t.Helper()
	var b [4]byte
	le.PutUint32(b[:], v)
	if _, err := f.CopyOut(uintptr(addr), b[:]); err != nil {
		t.Fatalf("writing at %#x: %v", addr, err)
	}
}

// Host layouts the tests use: the XSAVE area length and XCR0.
var (
	// AVX-512, PKRU and AMX, like the machine this was written on.
	layoutAMX = struct {
		size int
		xcr0 uint64
	}{11008, 0x602e7}
	// AVX only.
	layoutAVX = struct {
		size int
		xcr0 uint64
	}{832, 0x7}
)

// testFP returns an XSAVE area as PTRACE_GETREGSET would: XCR0 in the
// software-reserved bytes, MXCSR_MASK 0xffff, a standard-form header with
// XSTATE_BV bv, and registers filled from seed.
func testFP(size int, xcr0, bv uint64, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	fp := make([]byte, size)
	for i := range fp {
		fp[i] = byte(r.Uint32())
	}
	le.PutUint16(fp[fxOffFCW:], 0x027f)
	le.PutUint32(fp[fxOffMXCSR:], 0x1f80|uint32(r.IntN(64))) // exception flags
	le.PutUint32(fp[fxOffMXCSRMask:], 0xffff)
	clear(fp[fxOffSW:fxSize])
	le.PutUint64(fp[fxOffSW:], xcr0)
	clear(fp[xhOffXstateBV:xhEnd])
	le.PutUint64(fp[xhOffXstateBV:], bv)
	return fp
}

// testRegs returns distinct values in every register a frame saves.
func testRegs() unix.PtraceRegs {
	return unix.PtraceRegs{
		R15: 0x1515, R14: 0x1414, R13: 0x1313, R12: 0x1212, Rbp: 0xbbbb, Rbx: 0xb0b0,
		R11: 0x1111, R10: 0x1010, R9: 0x0909, R8: 0x0808, Rax: 0xaaaa, Rcx: 0xcccc,
		Rdx: 0xdddd, Rsi: 0x5151, Rdi: 0xd1d1, Orig_rax: 39, Rip: 0x401234,
		Cs: UserCS, Eflags: 0x202 | eflagsCF | eflagsZF | eflagsDF | eflagsTF | eflagsRF,
		Rsp: 0x7fff_0000_1000, Ss: UserSS, Fs_base: 0x7f00_0000_0040, Gs_base: 0x77,
	}
}
