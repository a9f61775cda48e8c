package mm

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/memfile"
)

// access simulates the application touching addr through the platform,
// as its stub would: it faults until the page is mapped with need, and
// returns the memory-file offset the platform maps there.
//
// Like the kernel's task loop, it retries an unresolved SEGV_ACCERR once:
// another goroutine may have changed the mapping (broken copy-on-write)
// between the fault and HandleFault.
func (f *fakeAS) access(m *MM, addr uintptr, need int) (uint64, error) {
	retried := false
	for try := 0; try < 4; try++ {
		p, ok := f.page(addr)
		code := int32(SEGV_MAPERR)
		if ok {
			if p.prot&need == need {
				return p.off + uint64(addr%PageSize), nil
			}
			code = SEGV_ACCERR
		}
		if ok, sig := m.HandleFault(addr, code); !ok {
			if sig == SEGV_ACCERR && !retried {
				retried = true
				continue
			}
			return 0, fmt.Errorf("SIGSEGV (code %d) at %#x", sig, addr)
		}
	}
	return 0, fmt.Errorf("faults at %#x are not resolved", addr)
}

// appWrite writes s at addr (within one page) as the application would.
func appWrite(t *testing.T, m *MM, as *fakeAS, addr uintptr, s string) {
	t.Helper()
	off, err := as.access(m, addr, unix.PROT_WRITE)
	if err != nil {
		t.Fatalf("application write: %v", err)
	}
	copy(m.mf.Slice(off, uint64(len(s))), s)
}

// appRead reads n bytes at addr (within one page) as the application
// would.
func appRead(t *testing.T, m *MM, as *fakeAS, addr uintptr, n int) string {
	t.Helper()
	off, err := as.access(m, addr, unix.PROT_READ)
	if err != nil {
		t.Fatalf("application read: %v", err)
	}
	return string(m.mf.Slice(off, uint64(n)))
}

// kernelRead reads n bytes at addr with CopyIn.
func kernelRead(t *testing.T, m *MM, addr uintptr, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := m.CopyIn(addr, b); err != nil {
		t.Fatalf("CopyIn(%#x): %v", addr, err)
	}
	return string(b)
}

func fork(t *testing.T, m *MM) (*MM, *fakeAS) {
	t.Helper()
	as := newFakeAS()
	c, err := m.Fork(as)
	if err != nil {
		t.Fatal(err)
	}
	return c, as
}

func TestForkIsolatesWrites(t *testing.T) {
	m, as := newMM(t)
	m.SetBrkStart(0x600000)
	m.Brk(0x600000 + 3*PageSize)
	addr, _ := m.Mmap(MmapOpts{Length: 4 * PageSize, Prot: rw})
	appWrite(t, m, as, addr, "parent0")
	m.CopyOut(addr+PageSize, []byte("kernel1"))
	used, ops := m.mf.Used(), as.ops()

	c, cas := fork(t, m)
	if got := m.mf.Used(); got != used {
		t.Errorf("fork grew the memory file from %d to %d bytes", used, got)
	}
	if as.ops() != ops+1 || as.protects != 1 {
		t.Errorf("fork made %d platform operations in the parent (%d protects), want one Protect", as.ops()-ops, as.protects)
	}
	if p, _ := as.page(addr); p.prot != unix.PROT_READ {
		t.Errorf("parent's page still mapped %#x after fork", p.prot)
	}
	if cas.ops() != 0 {
		t.Errorf("fork made %d operations in the child's empty address space", cas.ops())
	}
	if got := c.Brk(0); got != 0x600000+3*PageSize {
		t.Errorf("child's break %#x", got)
	}
	if got := appRead(t, c, cas, addr, 7); got != "parent0" {
		t.Errorf("child reads %q", got)
	}
	if p, _ := cas.page(addr); p.prot != unix.PROT_READ {
		t.Errorf("child maps copy-on-write memory with %#x", p.prot)
	}
	if got := kernelRead(t, c, addr+PageSize, 7); got != "kernel1" {
		t.Errorf("child's CopyIn %q", got)
	}

	appWrite(t, c, cas, addr, "child!!")
	if got := appRead(t, m, as, addr, 7); got != "parent0" {
		t.Errorf("the child's write reached the parent: %q", got)
	}
	if got := m.mf.Used(); got != used+4*PageSize {
		t.Errorf("memory file grew by %d bytes for one copied 4-page vma", got-used)
	}
	// The child's copy left the parent the only holder: its write makes
	// the vma writable again without copying.
	appWrite(t, m, as, addr+PageSize, "PARENT1")
	if got := m.mf.Used(); got != used+4*PageSize {
		t.Errorf("the parent's write copied memory it no longer shares (%d bytes)", got-used-4*PageSize)
	}
	if got := kernelRead(t, c, addr+PageSize, 7); got != "kernel1" {
		t.Errorf("the parent's write reached the child: %q", got)
	}
	if got := kernelRead(t, m, addr, 7); got != "parent0" {
		t.Errorf("parent reads %q", got)
	}
	if got := kernelRead(t, c, addr, 7); got != "child!!" {
		t.Errorf("child reads %q", got)
	}
	c.Release()
	m.Release()
	if got := m.mf.Used(); got != 0 {
		t.Errorf("%d bytes used after both released", got)
	}
}

const chunkBase = 0x4000_0000 // 2 MiB aligned

func TestCOWCopiesOneChunk(t *testing.T) {
	m, as := newMM(t)
	addr, err := m.Mmap(MmapOpts{Addr: chunkBase, Length: 4 * cowChunk, Prot: rw, Fixed: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := uintptr(0); i < 4; i++ {
		m.CopyOut(addr+i*cowChunk+100, []byte(fmt.Sprintf("chunk%d", i)))
	}
	appRead(t, m, as, addr, 1)
	c, cas := fork(t, m)
	used := m.mf.Used()

	appWrite(t, m, as, addr+2*cowChunk+100, "CHUNK2")
	if got := m.mf.Used() - used; got != cowChunk {
		t.Errorf("a write in one chunk allocated %d bytes, want %d", got, cowChunk)
	}
	for i := uintptr(0); i < 4; i++ {
		p, _ := as.page(addr + i*cowChunk)
		if wantW := i == 2; (p.prot&unix.PROT_WRITE != 0) != wantW {
			t.Errorf("chunk %d mapped %#x in the parent", i, p.prot)
		}
	}
	if got := kernelRead(t, c, addr+2*cowChunk+100, 6); got != "chunk2" {
		t.Errorf("child reads %q", got)
	}
	if got := appRead(t, c, cas, addr+2*cowChunk+100, 6); got != "chunk2" {
		t.Errorf("child's application reads %q", got)
	}
	if got := kernelRead(t, m, addr+3*cowChunk+100, 6); got != "chunk3" {
		t.Errorf("parent's next chunk reads %q", got)
	}

	// Chunks written one after the other get contiguous copies, which
	// merge: 2 then 3, and 0 then 1, make two vmas.
	for _, i := range []uintptr{3, 0, 1} {
		appWrite(t, m, as, addr+i*cowChunk, "x")
	}
	if n := len(m.vmas); n != 2 {
		t.Errorf("%d vmas after breaking every chunk, want 2", n)
	}
	if got := len(m.Maps()); got != 1 {
		t.Errorf("Maps lists %d entries", got)
	}
	if got := kernelRead(t, m, addr+3*cowChunk+100, 6); got != "chunk3" {
		t.Errorf("parent's chunk 3 after its copy: %q", got)
	}
	c.Release()
	m.Release()
	if got := m.mf.Used(); got != 0 {
		t.Errorf("%d bytes used after both released", got)
	}
}

func TestCOWChunkClippedToVMA(t *testing.T) {
	m, as := newMM(t)
	start := uintptr(chunkBase + cowChunk/2)
	addr, _ := m.Mmap(MmapOpts{Addr: start, Length: 2 * cowChunk, Prot: rw, Fixed: true})
	c, _ := fork(t, m)
	used := m.mf.Used()
	appWrite(t, m, as, addr, "x")
	if got := m.mf.Used() - used; got != cowChunk/2 {
		t.Errorf("a write at the start of an unaligned vma copied %d bytes, want %d", got, cowChunk/2)
	}
	appWrite(t, m, as, addr+2*cowChunk-1, "y")
	if got := m.mf.Used() - used; got != cowChunk {
		t.Errorf("two writes at the ends copied %d bytes, want %d", got, cowChunk)
	}
	if got := kernelRead(t, c, addr, 1); got != "\x00" {
		t.Errorf("child sees %q", got)
	}
}

func TestCOWLastHolderDoesNotCopy(t *testing.T) {
	m, as := newMM(t)
	addr, _ := m.Mmap(MmapOpts{Addr: chunkBase, Length: 4 * cowChunk, Prot: rw, Fixed: true})
	appWrite(t, m, as, addr, "before")
	used := m.mf.Used()
	c, _ := fork(t, m)
	c.Release() // the child exec'd
	ops := as.ops()
	appWrite(t, m, as, addr+3*cowChunk, "after")
	if got := m.mf.Used(); got != used {
		t.Errorf("memory file %d bytes, want %d", got, used)
	}
	if got := as.ops() - ops; got != 1 {
		t.Errorf("%d platform operations to make the vma writable again, want 1", got)
	}
	if m.vmas[0].cow || len(m.vmas) != 1 {
		t.Errorf("vmas after the last holder wrote: %+v", m.vmas)
	}
	// A vma not yet mapped when the other side went is mapped writable at
	// once.
	other, _ := m.Mmap(MmapOpts{Length: PageSize, Prot: rw})
	c, _ = fork(t, m)
	c.Release()
	ops = as.ops()
	appWrite(t, m, as, other, "x")
	if got := as.ops() - ops; got != 1 {
		t.Errorf("%d platform operations for the first write to an unshared vma, want 1", got)
	}
}

func TestForkSharedAnonymousStaysShared(t *testing.T) {
	m, as := newMM(t)
	addr, _ := m.Mmap(MmapOpts{Length: 2 * PageSize, Prot: rw, Shared: true})
	appWrite(t, m, as, addr, "one")
	used := m.mf.Used()
	c, cas := fork(t, m)
	if as.protects != 0 {
		t.Errorf("fork write-protected shared memory")
	}
	appWrite(t, c, cas, addr, "two")
	if p, _ := cas.page(addr); p.prot != rw {
		t.Errorf("child maps shared memory %#x", p.prot)
	}
	if got := appRead(t, m, as, addr, 3); got != "two" {
		t.Errorf("parent reads %q after the child's write", got)
	}
	m.CopyOut(addr+PageSize, []byte("three"))
	if got := kernelRead(t, c, addr+PageSize, 5); got != "three" {
		t.Errorf("child reads %q after the parent's CopyOut", got)
	}
	if m.mf.Used() != used {
		t.Errorf("shared memory was copied")
	}
	// MADV_DONTNEED keeps the contents of shared memory.
	if err := c.MadviseDontNeed(addr, PageSize); err != nil {
		t.Fatal(err)
	}
	if got := kernelRead(t, m, addr, 3); got != "two" {
		t.Errorf("MADV_DONTNEED in the child cleared shared memory: %q", got)
	}
	c.Munmap(addr, 2*PageSize)
	if got := kernelRead(t, m, addr, 3); got != "two" || m.mf.Used() != used {
		t.Errorf("munmap in the child: parent reads %q, %d bytes used", got, m.mf.Used())
	}
}

func TestKernelWritesBreakCOW(t *testing.T) {
	m, _ := newMM(t)
	addr, _ := m.Mmap(MmapOpts{Length: 2 * PageSize, Prot: rw})
	ro, _ := m.Mmap(MmapOpts{Length: PageSize, Prot: unix.PROT_READ})
	m.CopyOut(addr, []byte("orig"))
	m.WriteForce(ro, []byte("text"))
	c, _ := fork(t, m)

	if _, err := m.CopyOut(addr, []byte("PAR")); err != nil {
		t.Fatal(err)
	}
	if got := kernelRead(t, c, addr, 4); got != "orig" {
		t.Errorf("parent's CopyOut reached the child: %q", got)
	}
	n, err := c.WithBytes(addr+1, 2, true, func(b []byte) (int, error) { return copy(b, "HI"), nil })
	if n != 2 || err != nil {
		t.Fatalf("WithBytes = %d, %v", n, err)
	}
	if got := kernelRead(t, m, addr, 4); got != "PARg" {
		t.Errorf("child's WithBytes reached the parent: %q", got)
	}
	if got := kernelRead(t, c, addr, 4); got != "oHIg" {
		t.Errorf("child reads %q", got)
	}
	if _, err := c.CopyOut(ro, []byte("x")); err != unix.EFAULT {
		t.Errorf("CopyOut to read-only copy-on-write memory: %v", err)
	}
	if err := c.WriteForce(ro, []byte("TEXT")); err != nil {
		t.Fatal(err)
	}
	if got := kernelRead(t, m, ro, 4); got != "text" {
		t.Errorf("child's WriteForce reached the parent: %q", got)
	}
	// A write that runs off the end stops there, having written what
	// it could.
	if n, err := c.CopyOut(addr+2*PageSize-2, []byte("abcd")); n != 2 || err != unix.EFAULT {
		t.Errorf("CopyOut across the end = %d, %v", n, err)
	}
}

func TestWithBytesBreaksOnlyWhatItWrites(t *testing.T) {
	m, _ := newMM(t)
	addr, _ := m.Mmap(MmapOpts{Addr: chunkBase, Length: 8 * cowChunk, Prot: rw, Fixed: true})
	c, _ := fork(t, m)
	defer c.Release()
	used := m.mf.Used()
	// A short read into a large buffer.
	n, err := m.WithBytes(addr, 8*cowChunk, true, func(b []byte) (int, error) { return copy(b, "short"), nil })
	if n != 5 || err != nil {
		t.Fatalf("WithBytes = %d, %v", n, err)
	}
	if got := m.mf.Used() - used; got != cowChunk {
		t.Errorf("a 5-byte write into a copy-on-write buffer copied %d bytes", got)
	}
	n, err = m.WithBytes(addr, 8*cowChunk, true, func(b []byte) (int, error) { return len(b), nil })
	if n != 8*cowChunk || err != nil {
		t.Errorf("WithBytes over the whole buffer = %d, %v", n, err)
	}
}

func TestForkMunmapMremap(t *testing.T) {
	m, as := newMM(t)
	addr, _ := m.Mmap(MmapOpts{Length: 4 * PageSize, Prot: rw})
	for i := uintptr(0); i < 4; i++ {
		m.CopyOut(addr+i*PageSize, []byte{'A' + byte(i)})
	}
	appRead(t, m, as, addr, 1)
	used := m.mf.Used()
	c, cas := fork(t, m)

	// The child unmaps half: the parent's memory stays.
	if err := c.Munmap(addr, 2*PageSize); err != nil {
		t.Fatal(err)
	}
	if got := kernelRead(t, m, addr, 1); got != "A" || m.mf.Used() != used {
		t.Errorf("after the child's munmap: parent reads %q, %d bytes used", got, m.mf.Used())
	}
	// The parent moves its mapping: it stays copy-on-write.
	moved, err := m.Mremap(addr, 4*PageSize, 64*PageSize, unix.MREMAP_MAYMOVE, 0)
	if err != nil {
		t.Fatal(err)
	}
	if moved == addr {
		// Grown in place; force a move.
		if moved, err = m.Mremap(addr, 64*PageSize, 64*PageSize, unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED, 0x5000_0000); err != nil {
			t.Fatal(err)
		}
	}
	if got := appRead(t, m, as, moved+2*PageSize, 1); got != "C" {
		t.Errorf("moved mapping reads %q", got)
	}
	if p, _ := as.page(moved + 2*PageSize); p.prot != unix.PROT_READ {
		t.Errorf("moved copy-on-write memory mapped %#x", p.prot)
	}
	appWrite(t, m, as, moved+2*PageSize, "c")
	if got := appRead(t, c, cas, addr+2*PageSize, 1); got != "C" {
		t.Errorf("the parent's write after mremap reached the child: %q", got)
	}
	appWrite(t, m, as, moved+40*PageSize, "grown")
	// Shrinking drops references, and the rest is released with the
	// address spaces.
	if _, err := m.Mremap(moved, 64*PageSize, PageSize, 0, 0); err != nil {
		t.Fatal(err)
	}
	if got := kernelRead(t, c, addr+3*PageSize, 1); got != "D" {
		t.Errorf("child reads %q after the parent shrank", got)
	}
	m.Release()
	if got := kernelRead(t, c, addr+3*PageSize, 1); got != "D" {
		t.Errorf("child reads %q after the parent released", got)
	}
	c.Release()
	if got := m.mf.Used(); got != 0 {
		t.Errorf("%d bytes used after both released", got)
	}
}

func TestForkMadviseDontNeed(t *testing.T) {
	m, as := newMM(t)
	addr, _ := m.Mmap(MmapOpts{Length: 4 * PageSize, Prot: rw})
	for i := uintptr(0); i < 4; i++ {
		m.CopyOut(addr+i*PageSize, []byte{'A' + byte(i)})
	}
	appRead(t, m, as, addr, 1)
	c, cas := fork(t, m)
	appRead(t, c, cas, addr, 1)
	used := m.mf.Used()
	if err := c.MadviseDontNeed(addr+PageSize, 2*PageSize); err != nil {
		t.Fatal(err)
	}
	if got := kernelRead(t, c, addr, 4*PageSize); got[0] != 'A' || got[PageSize] != 0 || got[2*PageSize] != 0 || got[3*PageSize] != 'D' {
		t.Errorf("child after MADV_DONTNEED: %q %q %q %q", got[0], got[PageSize], got[2*PageSize], got[3*PageSize])
	}
	if got := appRead(t, c, cas, addr+PageSize, 1); got != "\x00" {
		t.Errorf("child's application reads %q", got)
	}
	if got := appRead(t, m, as, addr+PageSize, 1); got != "B" {
		t.Errorf("MADV_DONTNEED in the child cleared the parent's memory: %q", got)
	}
	if got := m.mf.Used() - used; got != 2*PageSize {
		t.Errorf("MADV_DONTNEED of two shared pages allocated %d bytes", got)
	}
	// The fresh pages are the child's own: writable without a copy.
	appWrite(t, c, cas, addr+PageSize, "b")
	if got := m.mf.Used() - used; got != 2*PageSize {
		t.Errorf("a write to pages MADV_DONTNEED gave the child copied %d bytes", got-2*PageSize)
	}
	// In the parent those pages are no longer shared: dropped in place.
	if err := m.MadviseDontNeed(addr+PageSize, PageSize); err != nil {
		t.Fatal(err)
	}
	if got := kernelRead(t, m, addr+PageSize, 1); got != "\x00" || m.mf.Used()-used != 2*PageSize {
		t.Errorf("parent after MADV_DONTNEED: %q, %d bytes more", got, m.mf.Used()-used)
	}
	if got := kernelRead(t, c, addr+PageSize, 1); got != "b" {
		t.Errorf("child reads %q", got)
	}
	c.Release()
	m.Release()
	if got := m.mf.Used(); got != 0 {
		t.Errorf("%d bytes used after both released", got)
	}
}

func TestMprotectKeepsCOWReadOnly(t *testing.T) {
	m, as := newMM(t)
	addr, _ := m.Mmap(MmapOpts{Length: 2 * PageSize, Prot: rw})
	appWrite(t, m, as, addr, "x")
	c, _ := fork(t, m)
	defer c.Release()
	protects := as.protects
	if err := m.Mprotect(addr, 2*PageSize, unix.PROT_READ); err != nil {
		t.Fatal(err)
	}
	if err := m.Mprotect(addr, PageSize, rw|unix.PROT_EXEC); err != nil {
		t.Fatal(err)
	}
	if p, _ := as.page(addr); p.prot != unix.PROT_READ|unix.PROT_EXEC {
		t.Errorf("copy-on-write page mapped %#x after mprotect", p.prot)
	}
	if got := as.protects - protects; got != 1 {
		t.Errorf("%d Protects, want 1 (PROT_READ changes nothing in the platform)", got)
	}
	appWrite(t, m, as, addr, "y")
	if p, _ := as.page(addr); p.prot != rw|unix.PROT_EXEC {
		t.Errorf("page mapped %#x after the write", p.prot)
	}
	if _, err := as.access(m, addr+PageSize, unix.PROT_WRITE); err == nil {
		t.Errorf("write to the read-only page allowed")
	}
}

func TestForkProtectsRunsOnce(t *testing.T) {
	m, as := newMM(t)
	// Three adjacent writable vmas and one apart.
	for i := uintptr(0); i < 3; i++ {
		a, _ := m.Mmap(MmapOpts{Addr: 0x5000_0000 + i*PageSize, Length: PageSize, Prot: rw, Fixed: true, Name: fmt.Sprint(i)})
		appWrite(t, m, as, a, "x")
	}
	a, _ := m.Mmap(MmapOpts{Addr: 0x6000_0000, Length: PageSize, Prot: rw, Fixed: true})
	appWrite(t, m, as, a, "x")
	c, _ := fork(t, m)
	defer c.Release()
	if as.protects != 2 {
		t.Errorf("%d Protects for two runs of vmas", as.protects)
	}
	for _, a := range []uintptr{0x5000_0000, 0x5000_2000, 0x6000_0000} {
		if p, _ := as.page(a); p.prot != unix.PROT_READ {
			t.Errorf("%#x mapped %#x", a, p.prot)
		}
	}
}

func TestAtomics(t *testing.T) {
	m, _ := newMM(t)
	addr, _ := m.Mmap(MmapOpts{Length: PageSize, Prot: rw})
	ro, _ := m.Mmap(MmapOpts{Length: PageSize, Prot: unix.PROT_READ})
	none, _ := m.Mmap(MmapOpts{Length: PageSize, Prot: unix.PROT_NONE})
	m.CopyOut(addr+8, []byte{1, 0, 0, 0})

	if v, err := m.LoadUint32(addr + 8); v != 1 || err != nil {
		t.Errorf("LoadUint32 = %d, %v", v, err)
	}
	if prev, err := m.CompareAndSwapUint32(addr+8, 2, 3); prev != 1 || err != nil {
		t.Errorf("failing CAS = %d, %v", prev, err)
	}
	if prev, err := m.CompareAndSwapUint32(addr+8, 1, 3); prev != 1 || err != nil {
		t.Errorf("CAS = %d, %v", prev, err)
	}
	if old, err := m.AtomicOp(addr+8, func(v uint32) uint32 { return v<<4 | 1 }); old != 3 || err != nil {
		t.Errorf("AtomicOp = %d, %v", old, err)
	}
	if got := kernelRead(t, m, addr+8, 4); got != "\x31\x00\x00\x00" {
		t.Errorf("word %q", got)
	}
	for _, c := range []struct {
		name string
		err  error
		f    func() error
	}{
		{"Load unaligned", unix.EINVAL, func() error { _, err := m.LoadUint32(addr + 2); return err }},
		{"CAS unaligned", unix.EINVAL, func() error { _, err := m.CompareAndSwapUint32(addr+1, 0, 0); return err }},
		{"AtomicOp unaligned", unix.EINVAL, func() error { _, err := m.AtomicOp(addr+3, nil); return err }},
		{"Load unmapped", unix.EFAULT, func() error { _, err := m.LoadUint32(0x20000); return err }},
		{"Load PROT_NONE", unix.EFAULT, func() error { _, err := m.LoadUint32(none); return err }},
		{"Load read-only", nil, func() error { _, err := m.LoadUint32(ro); return err }},
		{"CAS read-only", unix.EFAULT, func() error { _, err := m.CompareAndSwapUint32(ro, 0, 1); return err }},
		{"AtomicOp read-only", unix.EFAULT, func() error { _, err := m.AtomicOp(ro, func(v uint32) uint32 { return v }); return err }},
		{"CAS unmapped", unix.EFAULT, func() error { _, err := m.CompareAndSwapUint32(0x20000, 0, 1); return err }},
	} {
		if err := c.f(); err != c.err {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}

	// Compare-and-swap on copy-on-write memory breaks it first.
	c, _ := fork(t, m)
	if prev, err := c.CompareAndSwapUint32(addr+8, 0x31, 7); prev != 0x31 || err != nil {
		t.Errorf("CAS in the child = %#x, %v", prev, err)
	}
	if v, _ := m.LoadUint32(addr + 8); v != 0x31 {
		t.Errorf("the child's CAS reached the parent: %#x", v)
	}
	if _, err := m.AtomicOp(addr+8, func(v uint32) uint32 { return v + 1 }); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.LoadUint32(addr + 8); v != 7 {
		t.Errorf("the parent's AtomicOp reached the child: %#x", v)
	}
}

func TestFutexKeys(t *testing.T) {
	m, _ := newMM(t)
	priv, _ := m.Mmap(MmapOpts{Length: PageSize, Prot: rw})
	shared, _ := m.Mmap(MmapOpts{Length: 2 * PageSize, Prot: rw, Shared: true})
	c, _ := fork(t, m)
	defer c.Release()
	key := func(m *MM, addr uintptr, private bool) Key {
		t.Helper()
		k, err := m.FutexKey(addr, private)
		if err != nil {
			t.Fatalf("FutexKey(%#x, %v): %v", addr, private, err)
		}
		return k
	}
	if key(m, priv, true) != key(m, priv, true) || key(m, priv, true) == key(m, priv+4, true) {
		t.Error("private keys do not identify the address")
	}
	if key(m, priv, true) == key(c, priv, true) || key(m, priv, false) == key(c, priv, false) {
		t.Error("futexes in private memory are shared across fork")
	}
	if key(m, shared+8, false) != key(c, shared+8, false) {
		t.Error("shared futex keys differ between parent and child")
	}
	if key(m, shared+8, false) == key(m, shared+12, false) {
		t.Error("shared futex keys do not identify the word")
	}
	if key(m, shared+8, true) == key(c, shared+8, true) {
		t.Error("private futexes in shared memory are shared")
	}
	// The key follows the memory, not the address.
	k := key(c, shared+PageSize, false)
	moved, err := c.Mremap(shared, 2*PageSize, 2*PageSize, unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED, 0x5000_0000)
	if err != nil {
		t.Fatal(err)
	}
	if key(c, moved+PageSize, false) != k || key(m, shared+PageSize, false) != k {
		t.Error("shared futex key changed when the child moved its mapping")
	}
	if _, err := m.FutexKey(priv+2, true); err != unix.EINVAL {
		t.Errorf("unaligned private key: %v", err)
	}
	if _, err := m.FutexKey(priv+2, false); err != unix.EINVAL {
		t.Errorf("unaligned shared key: %v", err)
	}
	if _, err := m.FutexKey(0x7fff_ffff_f000, true); err != unix.EFAULT {
		t.Errorf("private key beyond the application's range: %v", err)
	}
	if _, err := m.FutexKey(0x20000, false); err != unix.EFAULT {
		t.Errorf("shared key of unmapped memory: %v", err)
	}
}

// TestForkConcurrent runs the parent and the child writing and reading the
// same addresses at once, with the application faulting in and the
// kernel copying out, for the race detector.
func TestForkConcurrent(t *testing.T) {
	m, as := newMM(t)
	addr, _ := m.Mmap(MmapOpts{Addr: chunkBase, Length: 4 * cowChunk, Prot: rw, Fixed: true})
	c, cas := fork(t, m)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i, side := range []struct {
		m  *MM
		as *fakeAS
	}{{m, as}, {c, cas}} {
		tag := byte('p' + i)
		wg.Add(2)
		go func() { // the kernel
			defer wg.Done()
			for j := uintptr(0); j < 64; j++ {
				at := addr + j*(4*cowChunk/64)
				if _, err := side.m.CopyOut(at, []byte{tag}); err != nil {
					errs <- err
					return
				}
				b := []byte{0}
				side.m.CopyIn(at, b)
				if b[0] != tag {
					errs <- fmt.Errorf("%c reads %q at %#x", tag, b, at)
					return
				}
			}
		}()
		go func() { // the application
			defer wg.Done()
			for j := uintptr(0); j < 64; j++ {
				at := addr + j*(4*cowChunk/64) + 8
				if _, err := side.as.access(side.m, at, unix.PROT_WRITE); err != nil {
					errs <- err
					return
				}
				if _, err := side.m.CompareAndSwapUint32(at, 0, uint32(tag)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, side := range []*MM{m, c} {
		tag := byte('p')
		if side == c {
			tag = 'q'
		}
		for j := uintptr(0); j < 64; j++ {
			at := addr + j*(4*cowChunk/64)
			if got := kernelRead(t, side, at, 9); got[0] != tag || got[8] != tag {
				t.Errorf("%c reads %q at %#x", tag, got, at)
			}
		}
	}
	c.Release()
	m.Release()
	if got := m.mf.Used(); got != 0 {
		t.Errorf("%d bytes used after both released", got)
	}
}

// countingAS is a platform address space that only counts operations,
// for benchmarks.
type countingAS struct{ ops int }

func (a *countingAS) MapFile(addr, length uintptr, offset uint64, prot int) error {
	a.ops++
	return nil
}
func (a *countingAS) Unmap(addr, length uintptr) error             { a.ops++; return nil }
func (a *countingAS) Protect(addr, length uintptr, prot int) error { a.ops++; return nil }
func (a *countingAS) Release()                                     {}

// BenchmarkFork1GiB forks an address space with 1 GiB of touched memory in
// four vmas, all mapped and writable in the platform, so that every Fork
// write-protects them. It reports the time per Fork.
func BenchmarkFork1GiB(b *testing.B) {
	mf, err := memfile.New(4 << 30)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { mf.Close() })
	as := &countingAS{}
	m := New(mf, as, 0x7f00_0000_0000)
	const vmaSize = 256 << 20
	var addrs []uintptr
	buf := bytes.Repeat([]byte{0xa5}, 1<<20)
	for i := 0; i < 4; i++ {
		addr, err := m.Mmap(MmapOpts{Length: vmaSize, Prot: rw})
		if err != nil {
			b.Fatal(err)
		}
		for off := uintptr(0); off < vmaSize; off += uintptr(len(buf)) {
			if _, err := m.CopyOut(addr+off, buf); err != nil {
				b.Fatal(err)
			}
		}
		m.HandleFault(addr, SEGV_MAPERR)
		addrs = append(addrs, addr)
	}
	used := mf.Used()
	ops := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		before := as.ops
		c, err := m.Fork(&countingAS{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		ops += as.ops - before
		if mf.Used() != used {
			b.Fatalf("fork grew the memory file by %d bytes", mf.Used()-used)
		}
		// The child exits; the parent's next write makes each vma
		// writable again, so that the next Fork has them to protect.
		c.Release()
		for _, a := range addrs {
			if ok, _ := m.HandleFault(a, SEGV_ACCERR); !ok {
				b.Fatal("write fault after the child's exit not handled")
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(ops)/float64(b.N), "platform-ops/fork")
	m.Release() // punching 1 GiB out takes far longer than a Fork
}
