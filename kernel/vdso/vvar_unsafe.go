package vdso

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Page is the kernel's view of a vvar page, through its own mapping of
// the memory file. One goroutine stores (the kernel's updater); any
// number of readers, the vDSO in every address space among them, read
// at any time.
type Page struct {
	b *[VVarSize]byte
}

// NewPage returns the page whose bytes are b, which must be a
// page-aligned slice of at least VVarSize bytes that stays mapped as
// long as the Page is used.
func NewPage(b []byte) *Page {
	if len(b) < VVarSize || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%8 != 0 {
		panic(fmt.Sprintf("vdso: vvar page of %d bytes at %p", len(b), unsafe.SliceData(b)))
	}
	return &Page{b: (*[VVarSize]byte)(b)}
}

func (p *Page) u32(off int) *uint32 { return (*uint32)(unsafe.Pointer(&p.b[off])) }
func (p *Page) u64(off int) *uint64 { return (*uint64)(unsafe.Pointer(&p.b[off])) }

// Store publishes d: the sequence count goes odd, the fields are
// written, and it goes even again, so that a reader that saw the same
// even count before and after its reads read one whole Data. x86
// keeps stores in order and loads in order (TSO): the atomic stores
// here, and plain loads in the vDSO, are all the seqlock needs.
// Linux: include/vdso/helpers.h, vdso_write_begin() and
// vdso_write_end().
func (p *Page) Store(d *Data) {
	seq := p.u32(vvarSeq)
	s := atomic.LoadUint32(seq) &^ 1
	atomic.StoreUint32(seq, s+1)
	atomic.StoreUint64(p.u64(vvarTSC), d.TSC)
	atomic.StoreUint32(p.u32(vvarShift), d.Shift)
	for i := range d.Clocks {
		c, off := &d.Clocks[i], vvarClocks+i*clockSize
		atomic.StoreUint64(p.u64(off+clockMult), c.Mult)
		atomic.StoreUint64(p.u64(off+clockBase), c.Base)
		atomic.StoreUint64(p.u64(off+clockFrac), c.Frac)
	}
	atomic.StoreUint32(seq, s+2)
}

// Load reads the page: retrying while the kernel writes (where the vDSO
// makes the system call instead).
func (p *Page) Load() Data {
	seq := p.u32(vvarSeq)
	for {
		s := atomic.LoadUint32(seq)
		if s&1 != 0 {
			runtime.Gosched()
			continue
		}
		var d Data
		d.TSC = atomic.LoadUint64(p.u64(vvarTSC))
		d.Shift = atomic.LoadUint32(p.u32(vvarShift))
		for i := range d.Clocks {
			c, off := &d.Clocks[i], vvarClocks+i*clockSize
			c.Mult = atomic.LoadUint64(p.u64(off + clockMult))
			c.Base = atomic.LoadUint64(p.u64(off + clockBase))
			c.Frac = atomic.LoadUint64(p.u64(off + clockFrac))
		}
		if atomic.LoadUint32(seq) == s {
			return d
		}
	}
}
