package mm

import (
	"bytes"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/memfile"
)

// fakeAS is a platform address space that keeps what it was asked to
// map, page by page, like a stub would, and counts the operations.
type fakeAS struct {
	mu                     sync.Mutex
	pages                  map[uintptr]pte
	maps, unmaps, protects int
	released               bool
}

// pte is one page of a fakeAS: the memory-file page it maps and how.
type pte struct {
	off  uint64
	prot int
}

func newFakeAS() *fakeAS { return &fakeAS{pages: map[uintptr]pte{}} }

func (f *fakeAS) MapFile(addr, length uintptr, offset uint64, prot int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.maps++
	for a := addr; a < addr+length; a += PageSize {
		f.pages[a] = pte{offset + uint64(a-addr), prot}
	}
	return nil
}

func (f *fakeAS) Unmap(addr, length uintptr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unmaps++
	for a := addr; a < addr+length; a += PageSize {
		delete(f.pages, a)
	}
	return nil
}

// Protect changes the pages that are mapped and skips the others, as the
// ptrace platform does.
func (f *fakeAS) Protect(addr, length uintptr, prot int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.protects++
	for a := addr; a < addr+length; a += PageSize {
		if p, ok := f.pages[a]; ok {
			p.prot = prot
			f.pages[a] = p
		}
	}
	return nil
}

func (f *fakeAS) Release() { f.released = true }

// ops counts the platform operations so far.
func (f *fakeAS) ops() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maps + f.unmaps + f.protects
}

func (f *fakeAS) page(addr uintptr) (pte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pages[pageDown(addr)]
	return p, ok
}

func newMM(t *testing.T) (*MM, *fakeAS) {
	t.Helper()
	mf, err := memfile.New(1 << 30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mf.Close() })
	as := newFakeAS()
	return New(mf, as, 0x7f00_0000_0000), as
}

const rw = unix.PROT_READ | unix.PROT_WRITE

func TestMmapCopyRoundTrip(t *testing.T) {
	m, _ := newMM(t)
	addr, err := m.Mmap(MmapOpts{Length: 3 * PageSize, Prot: rw})
	if err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte("magawa"), 1500) // spans pages
	if n, err := m.CopyOut(addr+100, msg); err != nil || n != len(msg) {
		t.Fatalf("CopyOut = %d, %v", n, err)
	}
	got := make([]byte, len(msg))
	if n, err := m.CopyIn(addr+100, got); err != nil || n != len(msg) || !bytes.Equal(got, msg) {
		t.Fatalf("CopyIn = %d, %v, equal %v", n, err, bytes.Equal(got, msg))
	}
}

func TestCopyFaultsAreEFAULT(t *testing.T) {
	m, _ := newMM(t)
	addr, err := m.Mmap(MmapOpts{Length: PageSize, Prot: rw})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2*PageSize)
	n, err := m.CopyIn(addr, buf)
	if err != unix.EFAULT || n != PageSize {
		t.Errorf("copy across the end of a mapping = %d, %v; want %d, EFAULT", n, err, PageSize)
	}
	for _, bad := range []uintptr{0, 0x1000, 1 << 62, ^uintptr(0) - 4} {
		if _, err := m.CopyIn(bad, buf[:8]); err != unix.EFAULT {
			t.Errorf("CopyIn(%#x) = %v, want EFAULT", bad, err)
		}
	}
	ro, _ := m.Mmap(MmapOpts{Length: PageSize, Prot: unix.PROT_READ})
	if _, err := m.CopyOut(ro, []byte("x")); err != unix.EFAULT {
		t.Errorf("CopyOut to read-only memory = %v, want EFAULT", err)
	}
	none, _ := m.Mmap(MmapOpts{Length: PageSize, Prot: unix.PROT_NONE})
	if _, err := m.CopyIn(none, buf[:1]); err != unix.EFAULT {
		t.Errorf("CopyIn from PROT_NONE = %v, want EFAULT", err)
	}
}

func TestCopyInString(t *testing.T) {
	m, _ := newMM(t)
	addr, _ := m.Mmap(MmapOpts{Length: 2 * PageSize, Prot: rw})
	// A string that ends exactly at the end of the mapping, without NUL.
	end := addr + 2*PageSize
	m.CopyOut(end-5, []byte("hello"))
	if _, err := m.CopyInString(end-5, 100); err != unix.EFAULT {
		t.Errorf("unterminated string at the end of memory: %v, want EFAULT", err)
	}
	m.CopyOut(end-6, []byte("hello\x00"))
	if s, err := m.CopyInString(end-6, 100); err != nil || s != "hello" {
		t.Errorf("CopyInString = %q, %v", s, err)
	}
	if _, err := m.CopyInString(end-6, 3); err != unix.ENAMETOOLONG {
		t.Errorf("over-long string: %v, want ENAMETOOLONG", err)
	}
}

func TestMunmapSplitsAndFrees(t *testing.T) {
	m, _ := newMM(t)
	addr, _ := m.Mmap(MmapOpts{Length: 4 * PageSize, Prot: rw})
	m.CopyOut(addr+3*PageSize, []byte("tail"))
	if err := m.Munmap(addr+PageSize, PageSize); err != nil {
		t.Fatal(err)
	}
	if got := len(m.Maps()); got != 2 {
		t.Fatalf("%d vmas after punching a hole, want 2: %v", got, m.Maps())
	}
	b := make([]byte, 4)
	m.CopyIn(addr+3*PageSize, b)
	if string(b) != "tail" {
		t.Errorf("data beyond the hole lost: %q", b)
	}
	if _, err := m.CopyIn(addr+PageSize, b); err != unix.EFAULT {
		t.Errorf("read of the hole: %v", err)
	}
	if used := m.mf.Used(); used != 3*PageSize {
		t.Errorf("memory file holds %d bytes, want %d", used, 3*PageSize)
	}
}

func TestMmapFixedNoReplace(t *testing.T) {
	m, _ := newMM(t)
	addr, _ := m.Mmap(MmapOpts{Length: PageSize, Prot: rw})
	if _, err := m.Mmap(MmapOpts{Addr: addr, Length: PageSize, Prot: rw, NoReplace: true}); err != unix.EEXIST {
		t.Errorf("MAP_FIXED_NOREPLACE over a mapping: %v, want EEXIST", err)
	}
	m.CopyOut(addr, []byte("old"))
	got, err := m.Mmap(MmapOpts{Addr: addr, Length: PageSize, Prot: rw, Fixed: true})
	if err != nil || got != addr {
		t.Fatalf("MAP_FIXED = %#x, %v", got, err)
	}
	b := make([]byte, 3)
	m.CopyIn(addr, b)
	if string(b) != "\x00\x00\x00" {
		t.Errorf("MAP_FIXED did not replace the old contents: %q", b)
	}
	if _, err := m.Mmap(MmapOpts{Addr: 0x7ff0_0000_0000, Length: PageSize, Prot: rw, Fixed: true}); err == nil {
		t.Error("MAP_FIXED over the platform's reserved range was allowed")
	}
}

func TestMprotect(t *testing.T) {
	m, as := newMM(t)
	addr, _ := m.Mmap(MmapOpts{Length: 2 * PageSize, Prot: rw})
	if ok, _ := m.HandleFault(addr, SEGV_MAPERR); !ok {
		t.Fatal("first fault in a fresh mapping not handled")
	}
	if err := m.Mprotect(addr, PageSize, unix.PROT_READ); err != nil {
		t.Fatal(err)
	}
	if as.protects != 1 {
		t.Errorf("platform saw %d protects, want 1", as.protects)
	}
	if _, err := m.CopyOut(addr, []byte("x")); err != unix.EFAULT {
		t.Errorf("write to a page made read-only: %v", err)
	}
	if _, err := m.CopyOut(addr+PageSize, []byte("x")); err != nil {
		t.Errorf("write to the page left writable: %v", err)
	}
	if err := m.Mprotect(addr, 3*PageSize, unix.PROT_READ); err != unix.ENOMEM {
		t.Errorf("mprotect over unmapped memory: %v, want ENOMEM", err)
	}
	if ok, code := m.HandleFault(addr, SEGV_ACCERR); ok || code != SEGV_ACCERR {
		t.Errorf("fault in a mapped page = %v, %d; want SEGV_ACCERR", ok, code)
	}
	if ok, code := m.HandleFault(0x20000, SEGV_MAPERR); ok || code != SEGV_MAPERR {
		t.Errorf("fault at an unmapped address = %v, %d; want SEGV_MAPERR", ok, code)
	}
}

func TestBrk(t *testing.T) {
	m, _ := newMM(t)
	m.SetBrkStart(0x500123)
	start := m.Brk(0)
	if start != 0x501000 {
		t.Fatalf("initial break %#x", start)
	}
	if got := m.Brk(start + 10000); got != start+10000 {
		t.Fatalf("grow: %#x", got)
	}
	if _, err := m.CopyOut(start+9999, []byte("x")); err != nil {
		t.Errorf("heap not writable: %v", err)
	}
	if got := m.Brk(start + 10); got != start+10 {
		t.Fatalf("shrink: %#x", got)
	}
	if _, err := m.CopyOut(start+PageSize+1, []byte("x")); err != unix.EFAULT {
		t.Errorf("heap beyond the shrunk break still mapped: %v", err)
	}
	if got := m.Brk(start - PageSize); got != start+10 {
		t.Errorf("brk below its start moved the break to %#x", got)
	}
}

func TestMremap(t *testing.T) {
	m, _ := newMM(t)
	addr, _ := m.Mmap(MmapOpts{Length: PageSize, Prot: rw})
	m.CopyOut(addr, []byte("keep me"))
	// Block growth in place.
	if _, err := m.Mmap(MmapOpts{Addr: addr + PageSize, Length: PageSize, Prot: rw, Fixed: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Mremap(addr, PageSize, 4*PageSize, 0, 0); err != unix.ENOMEM {
		t.Errorf("growing without MREMAP_MAYMOVE: %v, want ENOMEM", err)
	}
	moved, err := m.Mremap(addr, PageSize, 4*PageSize, unix.MREMAP_MAYMOVE, 0)
	if err != nil {
		t.Fatal(err)
	}
	if moved == addr {
		t.Fatal("mapping did not move")
	}
	b := make([]byte, 7)
	m.CopyIn(moved, b)
	if string(b) != "keep me" {
		t.Errorf("contents after the move: %q", b)
	}
	if _, err := m.CopyOut(moved+3*PageSize, []byte("x")); err != nil {
		t.Errorf("grown part not usable: %v", err)
	}
	if _, err := m.CopyIn(addr, b); err != unix.EFAULT {
		t.Errorf("old address still mapped: %v", err)
	}
	if _, err := m.Mremap(moved, 4*PageSize, PageSize, 0, 0); err != nil {
		t.Errorf("shrink: %v", err)
	}
}

func TestMadviseDontNeedZeroes(t *testing.T) {
	m, _ := newMM(t)
	addr, _ := m.Mmap(MmapOpts{Length: 2 * PageSize, Prot: rw})
	m.CopyOut(addr, []byte("data"))
	if err := m.MadviseDontNeed(addr, PageSize); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	m.CopyIn(addr, b)
	if string(b) != "\x00\x00\x00\x00" {
		t.Errorf("after MADV_DONTNEED: %q", b)
	}
}

func TestReleaseFreesEverything(t *testing.T) {
	m, as := newMM(t)
	for i := 0; i < 10; i++ {
		m.Mmap(MmapOpts{Length: 5 * PageSize, Prot: rw})
	}
	m.Release()
	if m.mf.Used() != 0 || !as.released {
		t.Errorf("after Release: %d bytes used, platform released %v", m.mf.Used(), as.released)
	}
}

func TestGapSearchIsTopDown(t *testing.T) {
	m, _ := newMM(t)
	a, _ := m.Mmap(MmapOpts{Length: PageSize, Prot: rw})
	b, _ := m.Mmap(MmapOpts{Length: PageSize, Prot: rw})
	if !(b < a && a+PageSize <= 0x7f00_0000_0000) {
		t.Errorf("second mapping %#x not below first %#x", b, a)
	}
	// Absurd sizes fail cleanly.
	if _, err := m.Mmap(MmapOpts{Length: 1 << 50, Prot: rw}); err != unix.ENOMEM {
		t.Errorf("absurd mmap: %v, want ENOMEM", err)
	}
}
