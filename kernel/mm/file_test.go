package mm

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/tmpfs"
	"magawa/kernel/memfile"
	"magawa/kernel/vfs"
)

var rootCtx = &vfs.Context{Creds: &vfs.RootCreds}

// tmpfsFile creates a tmpfs file holding data over m's memory file and
// opens it with flags.
func tmpfsFile(t *testing.T, m *MM, data []byte, flags int) (*vfs.File, *tmpfs.File) {
	t.Helper()
	fs := tmpfs.New(m.mf, tmpfs.Options{Mode: 0o777})
	in, err := fs.Root().(vfs.DirInode).Create(rootCtx, "f", vfs.NewAttrs{Mode: unix.S_IFREG | 0o644})
	if err != nil {
		t.Fatal(err)
	}
	impl, err := in.Open(rootCtx, unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 {
		if n, err := impl.WriteAt(data, 0); n != len(data) || err != nil {
			t.Fatalf("WriteAt = %d, %v", n, err)
		}
	}
	return vfs.NewFile(impl, flags), in.(*tmpfs.File)
}

// bytesFile is a file that is not Mappable: its data is a byte slice.
type bytesFile struct {
	data     []byte
	released atomic.Int32
}

func (b *bytesFile) ReadAt(dst []byte, off int64) (int, error) {
	if off >= int64(len(b.data)) {
		return 0, nil
	}
	return copy(dst, b.data[off:]), nil
}
func (b *bytesFile) WriteAt(src []byte, off int64) (int, error) { return 0, unix.EBADF }
func (b *bytesFile) Stat(st *unix.Stat_t) error {
	*st = unix.Stat_t{Mode: unix.S_IFREG | 0o644, Size: int64(len(b.data))}
	return nil
}
func (b *bytesFile) Seekable() bool { return true }
func (b *bytesFile) Release()       { b.released.Add(1) }

func mapFile(t *testing.T, m *MM, f *vfs.File, length uintptr, prot int, shared bool, off uint64) uintptr {
	t.Helper()
	maxProt := validProt
	if shared && !f.Writable() {
		maxProt &^= unix.PROT_WRITE
	}
	addr, err := m.Mmap(MmapOpts{Length: length, Prot: prot, Shared: shared, File: f, Offset: off, MaxProt: maxProt})
	if err != nil {
		t.Fatalf("Mmap: %v", err)
	}
	return addr
}

func fileRead(t *testing.T, f *vfs.File, off int64, n int) string {
	t.Helper()
	b := make([]byte, n)
	k, err := f.Impl.ReadAt(b, off)
	if err != nil {
		t.Fatal(err)
	}
	return string(b[:k])
}

func TestSharedFileMapping(t *testing.T) {
	m, as := newMM(t)
	data := bytes.Repeat([]byte{'.'}, 3*PageSize)
	copy(data[PageSize:], "page one")
	f, _ := tmpfsFile(t, m, data, unix.O_RDWR)
	defer f.DecRef()
	addr := mapFile(t, m, f, 3*PageSize, rw, true, PageSize)
	if got := appRead(t, m, as, addr, 8); got != "page one" {
		t.Errorf("mapping reads %q", got)
	}
	// The application's writes reach the file, and the file's writes the
	// application, both ways at once.
	appWrite(t, m, as, addr+PageSize+10, "from the app")
	if got := fileRead(t, f, 2*PageSize+10, 12); got != "from the app" {
		t.Errorf("file reads %q", got)
	}
	f.Impl.WriteAt([]byte("from write(2)"), PageSize+100)
	if got := appRead(t, m, as, addr+100, 13); got != "from write(2)" {
		t.Errorf("mapping reads %q", got)
	}
	if got := kernelRead(t, m, addr+100, 13); got != "from write(2)" {
		t.Errorf("CopyIn reads %q", got)
	}
	if n, err := m.CopyOut(addr+200, []byte("CopyOut")); n != 7 || err != nil {
		t.Fatal(err)
	}
	if got := fileRead(t, f, PageSize+200, 7); got != "CopyOut" {
		t.Errorf("file reads %q after CopyOut", got)
	}
	// Shared futex keys are places in the memory file: another mapping
	// of the file agrees.
	addr2 := mapFile(t, m, f, PageSize, rw, true, PageSize)
	k1, err1 := m.FutexKey(addr, false)
	k2, err2 := m.FutexKey(addr2, false)
	if err1 != nil || err2 != nil || k1 != k2 {
		t.Errorf("futex keys %v %v (%v %v)", k1, k2, err1, err2)
	}
}

func TestSharedFileMappingBeyondEOF(t *testing.T) {
	m, as := newMM(t)
	f, in := tmpfsFile(t, m, []byte("short"), unix.O_RDWR)
	defer f.DecRef()
	addr := mapFile(t, m, f, 3*PageSize, rw, true, 0)
	if got := appRead(t, m, as, addr, 6); got != "short\x00" {
		t.Errorf("reads %q", got)
	}
	if got := appRead(t, m, as, addr+PageSize-1, 1); got != "\x00" {
		t.Errorf("the rest of the last page reads %q", got)
	}
	if ok, sig, code := m.HandleFaultSignal(addr+PageSize, SEGV_MAPERR); ok || sig != unix.SIGBUS || code != BUS_ADRERR {
		t.Errorf("fault past EOF = %v, %v, %d; want SIGBUS", ok, sig, code)
	}
	if n, err := m.CopyIn(addr+PageSize-2, make([]byte, 4)); n != 2 || err != unix.EFAULT {
		t.Errorf("CopyIn across EOF = %d, %v", n, err)
	}
	// The file grows: the page is there now.
	if err := in.SetStat(rootCtx, &vfs.SetAttr{Mask: unix.STATX_SIZE, Size: 2 * PageSize}); err != nil {
		t.Fatal(err)
	}
	appWrite(t, m, as, addr+PageSize, "grown")
	if got := fileRead(t, f, PageSize, 5); got != "grown" {
		t.Errorf("file reads %q", got)
	}
}

func TestTruncateInvalidatesSharedMapping(t *testing.T) {
	m, as := newMM(t)
	f, in := tmpfsFile(t, m, bytes.Repeat([]byte("x"), 2*PageSize), unix.O_RDWR)
	defer f.DecRef()
	addr := mapFile(t, m, f, 2*PageSize, rw, true, 0)
	appRead(t, m, as, addr+PageSize, 1)
	if err := in.SetStat(rootCtx, &vfs.SetAttr{Mask: unix.STATX_SIZE, Size: 10}); err != nil {
		t.Fatal(err)
	}
	if _, mapped := as.page(addr + PageSize); mapped {
		t.Error("truncated page still mapped")
	}
	if ok, sig, _ := m.HandleFaultSignal(addr+PageSize, SEGV_MAPERR); ok || sig != unix.SIGBUS {
		t.Errorf("access to a truncated page: %v, %v; want SIGBUS", ok, sig)
	}
	if got := appRead(t, m, as, addr+8, 4); got != "xx\x00\x00" {
		t.Errorf("first page after truncate reads %q", got)
	}
	// Grown again and written, the mapping sees the new data, not the
	// old page.
	f.Impl.WriteAt([]byte("new"), PageSize)
	if got := appRead(t, m, as, addr+PageSize, 4); got != "new\x00" {
		t.Errorf("regrown page reads %q", got)
	}
}

func TestPrivateFileMappingOfTmpfs(t *testing.T) {
	m, as := newMM(t)
	f, _ := tmpfsFile(t, m, []byte("original"), unix.O_RDONLY)
	defer f.DecRef()
	addr := mapFile(t, m, f, PageSize, rw, false, 0)
	if got := appRead(t, m, as, addr, 8); got != "original" {
		t.Errorf("reads %q", got)
	}
	// Until written, the private mapping shows the file's changes (its
	// pages are the file's, copy-on-write).
	f.Impl.WriteAt([]byte("ORIG"), 0)
	if got := appRead(t, m, as, addr, 8); got != "ORIGinal" {
		t.Errorf("reads %q after the file changed", got)
	}
	appWrite(t, m, as, addr, "mine")
	if got := fileRead(t, f, 0, 8); got != "ORIGinal" {
		t.Errorf("private write reached the file: %q", got)
	}
	f.Impl.WriteAt([]byte("theirs"), 0)
	if got := kernelRead(t, m, addr, 8); got != "mineinal" {
		t.Errorf("written private page reads %q", got)
	}
	// MADV_DONTNEED drops the private copy: the file shows again.
	if err := m.MadviseDontNeed(addr, PageSize); err != nil {
		t.Fatal(err)
	}
	if got := kernelRead(t, m, addr, 8); got != "theirsal" {
		t.Errorf("after MADV_DONTNEED reads %q", got)
	}
}

func TestPrivateFileMappingCopies(t *testing.T) {
	m, as := newMM(t)
	content := bytes.Repeat([]byte("0123456789"), 500) // 5000 bytes: two pages, the second partial
	bf := &bytesFile{data: content}
	f := vfs.NewFile(bf, unix.O_RDONLY)
	addr := mapFile(t, m, f, 4*PageSize, unix.PROT_READ|unix.PROT_WRITE, false, 0)
	f.DecRef() // the mapping holds its own reference
	if bf.released.Load() != 0 {
		t.Fatal("released while mapped")
	}
	if got := appRead(t, m, as, addr+PageSize, 4); got != string(content[PageSize:PageSize+4]) {
		t.Errorf("reads %q", got)
	}
	tail := kernelRead(t, m, addr+4990, 20)
	if tail != string(content[4990:])+string(make([]byte, 10)) {
		t.Errorf("end of file reads %q", tail)
	}
	if ok, sig, _ := m.HandleFaultSignal(addr+2*PageSize, SEGV_MAPERR); ok || sig != unix.SIGBUS {
		t.Errorf("page past EOF: %v %v, want SIGBUS", ok, sig)
	}
	appWrite(t, m, as, addr, "private")
	if string(bf.data[:7]) != "0123456" {
		t.Error("private write reached the file")
	}
	// Fork keeps the copy private on both sides.
	c, cas := fork(t, m)
	appWrite(t, c, cas, addr, "child!!")
	if got := appRead(t, m, as, addr, 7); got != "private" {
		t.Errorf("parent reads %q after the child wrote", got)
	}
	c.Release()
	if err := m.Munmap(addr, 4*PageSize); err != nil {
		t.Fatal(err)
	}
	if bf.released.Load() != 1 {
		t.Errorf("file released %d times after munmap", bf.released.Load())
	}
}

func TestForkKeepsFileMappingsShared(t *testing.T) {
	m, as := newMM(t)
	f, _ := tmpfsFile(t, m, make([]byte, 2*PageSize), unix.O_RDWR)
	defer f.DecRef()
	addr := mapFile(t, m, f, 2*PageSize, rw, true, 0)
	appWrite(t, m, as, addr, "before")
	c, cas := fork(t, m)
	defer c.Release()
	appWrite(t, c, cas, addr+PageSize, "child")
	if got := appRead(t, m, as, addr+PageSize, 5); got != "child" {
		t.Errorf("parent reads %q", got)
	}
	appWrite(t, m, as, addr, "parent")
	if got := appRead(t, c, cas, addr, 6); got != "parent" {
		t.Errorf("child reads %q", got)
	}
	if got := fileRead(t, f, PageSize, 5); got != "child" {
		t.Errorf("file reads %q", got)
	}
}

func TestFileMappingProtection(t *testing.T) {
	m, as := newMM(t)
	f, _ := tmpfsFile(t, m, []byte("ro"), unix.O_RDONLY)
	defer f.DecRef()
	addr := mapFile(t, m, f, PageSize, unix.PROT_READ, true, 0)
	if err := m.Mprotect(addr, PageSize, rw); err != unix.EACCES {
		t.Errorf("mprotect(PROT_WRITE) of a read-only shared file mapping: %v", err)
	}
	if _, err := m.CopyOut(addr, []byte("x")); err != unix.EFAULT {
		t.Errorf("CopyOut into a read-only mapping: %v", err)
	}
	if _, err := as.access(m, addr, unix.PROT_WRITE); err == nil {
		t.Error("application write succeeded")
	}
	// A private mapping of the same file may become writable.
	p := mapFile(t, m, f, PageSize, unix.PROT_READ, false, 0)
	if err := m.Mprotect(p, PageSize, rw); err != nil {
		t.Errorf("mprotect(PROT_WRITE) of a private mapping: %v", err)
	}
	if _, err := m.Mmap(MmapOpts{Length: PageSize, Prot: rw, Shared: true, File: f, MaxProt: unix.PROT_READ}); err != unix.EACCES {
		t.Errorf("Mmap beyond MaxProt: %v", err)
	}
	if _, err := m.Mmap(MmapOpts{Length: PageSize, Prot: unix.PROT_READ, File: f, Offset: 1, MaxProt: validProt}); err != unix.EINVAL {
		t.Errorf("unaligned offset: %v", err)
	}
	if _, err := m.Mmap(MmapOpts{Length: 2 * PageSize, Prot: unix.PROT_READ, File: f, Offset: 1<<63 - PageSize, MaxProt: validProt}); err != unix.EOVERFLOW {
		t.Errorf("offset overflow: %v", err)
	}
}

func TestMappingsAndRelease(t *testing.T) {
	m, as := newMM(t)
	f, _ := tmpfsFile(t, m, make([]byte, 8*PageSize), unix.O_RDWR)
	anon, err := m.Mmap(MmapOpts{Length: PageSize, Prot: rw, Name: "[heap]"})
	if err != nil {
		t.Fatal(err)
	}
	addr := mapFile(t, m, f, 4*PageSize, rw, true, 2*PageSize)
	// Touch pages one by one: the vma splits into pieces, listed as one.
	for i := range uintptr(4) {
		appRead(t, m, as, addr+i*PageSize, 1)
	}
	var found *MappingInfo
	ms := m.Mappings()
	for i := range ms {
		if ms[i].Start == addr {
			found = &ms[i]
		}
	}
	if found == nil || found.End != addr+4*PageSize || found.File != f || found.Offset != 2*PageSize || !found.Shared {
		t.Fatalf("mappings %+v", ms)
	}
	// Unmapping the middle leaves two mappings with their offsets.
	m.Munmap(addr+PageSize, PageSize)
	ms = m.Mappings()
	var offs []uint64
	for _, mi := range ms {
		if mi.File == f {
			offs = append(offs, mi.Offset)
		}
		if mi.Start == anon && mi.Name != "[heap]" {
			t.Errorf("heap named %q", mi.Name)
		}
	}
	if len(offs) != 2 || offs[0] != 2*PageSize || offs[1] != 4*PageSize {
		t.Errorf("file offsets after munmap %v", offs)
	}
	f.DecRef()
	if used := m.mf.Used(); used == 0 {
		t.Error("nothing allocated")
	}
	m.Release()
	// The mapping's references went with the address space; the file
	// keeps its pages.
	if n := m.mf.Used(); n != 8*PageSize {
		t.Errorf("used %d after release, want the file's 8 pages", n)
	}
}

func TestUnlinkedFileStaysMapped(t *testing.T) {
	mf, err := memfile.New(1 << 30)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	as := newFakeAS()
	m := New(mf, as, 0x7f00_0000_0000)
	fs := tmpfs.New(mf, tmpfs.Options{Mode: 0o777})
	root := fs.Root().(vfs.DirInode)
	in, _ := root.Create(rootCtx, "gone", vfs.NewAttrs{Mode: unix.S_IFREG | 0o600})
	impl, _ := in.Open(rootCtx, unix.O_RDWR)
	impl.WriteAt([]byte("still mapped"), 0)
	f := vfs.NewFile(impl, unix.O_RDWR)
	addr := mapFile(t, m, f, PageSize, rw, true, 0)
	f.DecRef() // close(2)
	root.Unlink(rootCtx, "gone")
	if got := appRead(t, m, as, addr, 12); got != "still mapped" {
		t.Errorf("reads %q", got)
	}
	m.Release()
	if fs.UsedBytes() != 0 || mf.Used() != 0 {
		t.Errorf("after munmap of the last user: tmpfs %d, memory file %d bytes", fs.UsedBytes(), mf.Used())
	}
}

func TestMremapFileMapping(t *testing.T) {
	m, as := newMM(t)
	data := make([]byte, 4*PageSize)
	for i := range 4 {
		data[i*PageSize] = byte('a' + i)
	}
	f, _ := tmpfsFile(t, m, data, unix.O_RDWR)
	defer f.DecRef()
	addr := mapFile(t, m, f, PageSize, rw, true, PageSize)
	appRead(t, m, as, addr, 1)
	// Grow in place (the space after it is free unless the gap search
	// put something there; move if needed).
	n, err := m.Mremap(addr, PageSize, 3*PageSize, unix.MREMAP_MAYMOVE, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := kernelRead(t, m, n, 1) + kernelRead(t, m, n+PageSize, 1) + kernelRead(t, m, n+2*PageSize, 1); got != "bcd" {
		t.Errorf("grown mapping reads %q", got)
	}
	// Move it elsewhere explicitly: it still maps the same file pages.
	dst, err := m.Mremap(n, 3*PageSize, 3*PageSize, unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED, 0x5000_0000)
	if err != nil {
		t.Fatal(err)
	}
	appWrite(t, m, as, dst+2*PageSize, "D")
	if got := fileRead(t, f, 3*PageSize, 1); got != "D" {
		t.Errorf("file reads %q after a write through the moved mapping", got)
	}
}

func TestMsync(t *testing.T) {
	m, _ := newMM(t)
	addr, _ := m.Mmap(MmapOpts{Length: 2 * PageSize, Prot: rw})
	for _, c := range []struct {
		addr, length uintptr
		flags        int
		want         error
	}{
		{addr, 2 * PageSize, unix.MS_SYNC, nil},
		{addr, 0, unix.MS_ASYNC, nil},
		{addr + 1, PageSize, unix.MS_SYNC, unix.EINVAL},
		{addr, PageSize, unix.MS_SYNC | unix.MS_ASYNC, unix.EINVAL},
		{addr, PageSize, 0x100, unix.EINVAL},
		{addr, 3 * PageSize, unix.MS_SYNC, unix.ENOMEM},
		{addr, ^uintptr(0) - addr + 2, unix.MS_ASYNC, unix.ENOMEM},
	} {
		if err := m.Msync(c.addr, c.length, c.flags); err != c.want {
			t.Errorf("Msync(%#x, %#x, %#x) = %v, want %v", c.addr, c.length, c.flags, err, c.want)
		}
	}
}

// TestFileMappingConcurrent races truncation and writes of a file with
// faults, kernel copies and forks of a space mapping it: nothing may
// deadlock, and what a mapping reads is always the file's data or zeros.
func TestFileMappingConcurrent(t *testing.T) {
	m, _ := newMM(t)
	f, in := tmpfsFile(t, m, nil, unix.O_RDWR)
	defer f.DecRef()
	addr := mapFile(t, m, f, 4*PageSize, rw, true, 0)
	priv := mapFile(t, m, f, 4*PageSize, rw, false, 0)
	page := bytes.Repeat([]byte{'z'}, 4*PageSize)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		defer close(done)
		for range 300 {
			f.Impl.WriteAt(page, 0)
			in.SetStat(rootCtx, &vfs.SetAttr{Mask: unix.STATX_SIZE, Size: PageSize / 2})
		}
	}()
	go func() {
		defer wg.Done()
		b := make([]byte, 8)
		for {
			select {
			case <-done:
				return
			default:
			}
			for _, base := range []uintptr{addr, priv} {
				for i := range uintptr(4) {
					m.HandleFaultSignal(base+i*PageSize+8, SEGV_MAPERR)
					if n, _ := m.CopyIn(base+i*PageSize+8, b); n == 8 && string(b) != "zzzzzzzz" && string(b) != "\x00\x00\x00\x00\x00\x00\x00\x00" {
						t.Errorf("read %q", b)
						return
					}
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			c, err := m.Fork(newFakeAS())
			if err != nil {
				t.Error(err)
				return
			}
			c.CopyIn(addr, make([]byte, 16))
			c.Release()
		}
	}()
	wg.Wait()
}
