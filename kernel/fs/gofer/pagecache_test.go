package gofer

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/gofer/wire"
	"magawa/kernel/memfile"
	"magawa/kernel/vfs"
)

// cachedWorld is a mount of real host files f0, f1... through a fake
// gofer that also truncates (SetAttr), with a memory file for the page
// cache.
type cachedWorld struct {
	h  *hostFiles
	fs *FS
	mf *memfile.File
	// inodes are those looked up, as the VFS's dentries keep them: one
	// per name.
	mu     sync.Mutex
	inodes map[string]vfs.Inode
}

func newCachedWorld(t *testing.T, files int) *cachedWorld {
	t.Helper()
	mf, err := memfile.New(1 << 30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mf.Close() })
	h := newHostFiles(t, files)
	_, fd := newFake(t, func(op wire.Op, export uint32, body []byte) ([]byte, int) {
		switch op {
		case wire.OpAttach:
			return ok(&wire.AttachReply{Root: dirAttr(1)}), -1
		case wire.OpSetAttr:
			var req wire.SetAttrReq
			req.Decode(wire.NewDecoder(body))
			p := h.dir + "/" + req.Path
			if req.Mask&unix.STATX_SIZE != 0 {
				if err := os.Truncate(p, req.Size); err != nil {
					return []byte{byte(unix.EIO), 0, 0, 0}, -1
				}
			}
			var sx unix.Statx_t
			unix.Statx(unix.AT_FDCWD, p, 0, unix.STATX_BASIC_STATS, &sx)
			a := wire.AttrFromStatx(&sx)
			return ok(&a), -1
		}
		return h.handle(op, export, body)
	})
	c, err := NewClient(fd, ClientOptions{Timeout: 5 * time.Second, MemoryFile: mf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fs, err := c.Mount(0, MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &cachedWorld{h: h, fs: fs, mf: mf, inodes: map[string]vfs.Inode{}}
}

// setHost gives host file name the contents data.
func (w *cachedWorld) setHost(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(w.h.dir+"/"+name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (w *cachedWorld) host(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(w.h.dir + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (w *cachedWorld) inode(t *testing.T, name string) vfs.Inode {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	in := w.inodes[name]
	if in == nil {
		in = lookup(t, w.fs, name)
		w.inodes[name] = in
	}
	return in
}

func (w *cachedWorld) open(t *testing.T, name string, flags int) vfs.FileImpl {
	t.Helper()
	f, err := w.inode(t, name).Open(ctx, flags)
	if err != nil {
		t.Fatalf("open %s %#x: %v", name, flags, err)
	}
	return f
}

// mapping is an address space as the page cache sees it: it maps pages
// it got from MapPages (holding their references) and records what it
// is told to let go.
type mapping struct {
	t     *testing.T
	mf    *memfile.File
	m     vfs.Mappable
	mu    sync.Mutex
	pages []vfs.MappedRange
	inval [][2]uint64
}

func newMapping(t *testing.T, mf *memfile.File, f vfs.FileImpl) *mapping {
	mi, ok := f.(vfs.MappableImpl)
	if !ok {
		t.Fatalf("%T is not mappable", f)
	}
	s := &mapping{t: t, mf: mf, m: mi.Mappable()}
	s.m.AddMapping(s)
	return s
}

func (s *mapping) InvalidateMapping(m vfs.Mappable, start, end uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inval = append(s.inval, [2]uint64{start, end})
	var keep []vfs.MappedRange
	for _, r := range s.pages {
		if r.FileOff >= start && r.FileOff < end {
			s.mf.DecRef(r.Off, r.Len)
			continue
		}
		keep = append(keep, r)
	}
	s.pages = keep
}

// touch maps [start, end) of the file, page by page, and returns how
// many bytes of it are there.
func (s *mapping) touch(start, end uint64) uint64 {
	rs, err := s.m.MapPages(start, end)
	if err != nil {
		s.t.Fatalf("MapPages(%d, %d): %v", start, end, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n uint64
	for _, r := range rs {
		// One entry per page, so that invalidation can drop pages.
		for p := uint64(0); p < r.Len; p += pageSize {
			s.pages = append(s.pages, vfs.MappedRange{FileOff: r.FileOff + p, Off: r.Off + p, Len: pageSize})
		}
		n += r.Len
	}
	return n
}

// mem returns the mapped bytes of the file at off.
func (s *mapping) mem(off uint64, n int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.pages {
		if r.FileOff <= off && off+uint64(n) <= r.FileOff+r.Len {
			return s.mf.Slice(r.Off+off-r.FileOff, uint64(n))
		}
	}
	s.t.Fatalf("offset %d is not mapped", off)
	return nil
}

// unmap drops every page and the registration, as munmap of the whole
// mapping does.
func (s *mapping) unmap() {
	s.mu.Lock()
	for _, r := range s.pages {
		s.mf.DecRef(r.Off, r.Len)
	}
	s.pages = nil
	s.mu.Unlock()
	s.m.RemoveMapping(s)
}

func readAt(t *testing.T, f vfs.FileImpl, off int64, n int) string {
	t.Helper()
	b := make([]byte, n)
	k, err := f.ReadAt(b, off)
	if err != nil {
		t.Fatalf("ReadAt(%d, %d): %v", off, n, err)
	}
	return string(b[:k])
}

func writeAt(t *testing.T, f vfs.FileImpl, s string, off int64) {
	t.Helper()
	if n, err := f.WriteAt([]byte(s), off); n != len(s) || err != nil {
		t.Fatalf("WriteAt(%q, %d) = %d, %v", s, off, n, err)
	}
}

func fileSize(t *testing.T, f vfs.FileImpl) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := f.Stat(&st); err != nil {
		t.Fatal(err)
	}
	return st.Size
}

// TestSharedMappingCoherent: stores through a mapping are seen by
// read(2) of every open file at once, write(2) is seen through the
// mapping, and the stores reach the host file at msync, fsync and when
// the last mapping goes, which frees the cache.
func TestSharedMappingCoherent(t *testing.T) {
	w := newCachedWorld(t, 1)
	w.setHost(t, "f0", bytes.Repeat([]byte("a"), 3*pageSize+100))
	used := w.mf.Used()
	rw := w.open(t, "f0", unix.O_RDWR)
	ro := w.open(t, "f0", unix.O_RDONLY)
	defer ro.Release()
	m := newMapping(t, w.mf, rw)
	if n := m.touch(0, 8*pageSize); n != 4*pageSize {
		t.Fatalf("mapped %d bytes of a file of 3 pages and a bit, want 4 pages", n)
	}
	if got := string(m.mem(pageSize, 3)); got != "aaa" {
		t.Fatalf("mapped bytes %q, want the file's", got)
	}

	copy(m.mem(pageSize, 5), "store")
	if got := readAt(t, ro, pageSize-1, 7); got != "astorea" {
		t.Errorf("read after a store through the mapping: %q", got)
	}
	writeAt(t, rw, "write", 2*pageSize)
	if got := string(m.mem(2*pageSize, 5)); got != "write" {
		t.Errorf("the mapping after write(2): %q", got)
	}
	if got := w.host(t, "f0")[2*pageSize:][:5]; string(got) != "write" {
		t.Errorf("write(2) did not write through: host has %q", got)
	}

	// msync(MS_SYNC) of the page.
	if err := m.m.(vfs.CachedMappable).SyncMapping(pageSize, 2*pageSize); err != nil {
		t.Fatal(err)
	}
	if got := w.host(t, "f0")[pageSize:][:5]; string(got) != "store" {
		t.Errorf("host after msync: %q", got)
	}
	// fsync(2).
	copy(m.mem(3*pageSize, 4), "more")
	if err := rw.(interface{ Sync(bool) error }).Sync(false); err != nil {
		t.Fatal(err)
	}
	if got := w.host(t, "f0")[3*pageSize:][:4]; string(got) != "more" {
		t.Errorf("host after fsync: %q", got)
	}
	// munmap of the last mapping.
	copy(m.mem(0, 4), "last")
	m.unmap()
	if got := w.host(t, "f0")[:4]; string(got) != "last" {
		t.Errorf("host after the last munmap: %q", got)
	}
	if w.inode(t, "f0").(fileInode).st.cache.Load() != nil {
		t.Errorf("the cache outlived the last mapping")
	}
	if u := w.mf.Used(); u != used {
		t.Errorf("memory file: %d bytes used, %d before", u, used)
	}
	if got := readAt(t, ro, 0, 4); got != "last" {
		t.Errorf("read after the cache went: %q", got)
	}
	// The store past the end of the file, in its last page, is not the
	// file's.
	if b := w.host(t, "f0"); len(b) != 3*pageSize+100 {
		t.Errorf("host file size %d, want %d", len(b), 3*pageSize+100)
	}
	rw.Release()
}

// TestWritebackAtLastWriterClose: pages a writable mapping changed reach
// the host when the last file open for writing closes, though another
// mapping (read-only) still maps them.
func TestWritebackAtLastWriterClose(t *testing.T) {
	w := newCachedWorld(t, 1)
	w.setHost(t, "f0", bytes.Repeat([]byte("b"), pageSize))
	rw := w.open(t, "f0", unix.O_RDWR)
	ro := w.open(t, "f0", unix.O_RDONLY)
	defer ro.Release()
	mw := newMapping(t, w.mf, rw)
	mr := newMapping(t, w.mf, ro)
	mw.touch(0, pageSize)
	mr.touch(0, pageSize)
	copy(mw.mem(10, 3), "xyz")
	if got := string(mr.mem(10, 3)); got != "xyz" {
		t.Fatalf("the other mapping sees %q", got)
	}
	mw.unmap()
	if got := string(w.host(t, "f0")[10:13]); got != "bbb" {
		t.Logf("host before the last writer closes: %q (written early)", got)
	}
	rw.Release()
	if got := string(w.host(t, "f0")[10:13]); got != "xyz" {
		t.Errorf("host after the last writer closed: %q", got)
	}
	mr.unmap()
}

// TestTruncateMapped: shrinking a mapped file invalidates the pages past
// the new end (SIGBUS there), clears the rest of its last page, and
// growing it again reads zeros; Stat reports the cache's size.
func TestTruncateMapped(t *testing.T) {
	w := newCachedWorld(t, 1)
	w.setHost(t, "f0", bytes.Repeat([]byte("c"), 3*pageSize))
	in := w.inode(t, "f0")
	rw := w.open(t, "f0", unix.O_RDWR)
	defer rw.Release()
	m := newMapping(t, w.mf, rw)
	defer m.unmap()
	m.touch(0, 3*pageSize)
	copy(m.mem(pageSize+1000, 4), "keep")
	copy(m.mem(pageSize+2000, 4), "gone")

	if err := in.(vfs.SetStatInode).SetStat(ctx, &vfs.SetAttr{Mask: unix.STATX_SIZE, Size: pageSize + 1500}); err != nil {
		t.Fatal(err)
	}
	if len(m.inval) != 1 || m.inval[0] != [2]uint64{2 * pageSize, ^uint64(0)} {
		t.Errorf("invalidations %v, want [[%d ^0]]", m.inval, 2*pageSize)
	}
	if n := m.touch(0, 3*pageSize); n != 2*pageSize {
		t.Errorf("mapped %d bytes after the truncation, want 2 pages", n)
	}
	if got := string(m.mem(pageSize+2000, 4)); got != "\x00\x00\x00\x00" {
		t.Errorf("past the new end in the last page: %q, want zeros", got)
	}
	if s := fileSize(t, rw); s != pageSize+1500 {
		t.Errorf("size %d", s)
	}
	st, _ := in.Stat(ctx, unix.STATX_SIZE)
	if st.Size != pageSize+1500 {
		t.Errorf("inode size %d", st.Size)
	}
	// A store past the end is not the file's: growing reads zeros.
	copy(m.mem(pageSize+1600, 4), "junk")
	writeAt(t, rw, "end", 2*pageSize+10)
	want := "keep" + strings.Repeat("c", 1500-1004) + string(make([]byte, 2*pageSize+10-(pageSize+1500))) + "end"
	if got := readAt(t, rw, pageSize+1000, len(want)); got != want {
		t.Errorf("after growing: %.40q...", got)
	}
	if err := rw.(interface{ Sync(bool) error }).Sync(true); err != nil {
		t.Fatal(err)
	}
	if got := string(w.host(t, "f0")[pageSize+1000:]); got != want {
		t.Errorf("host after growing: %.40q...", got)
	}
}

// TestWritebackOnlyChanged: writing back reads the host file and writes
// only the pages that differ, so a sparse file mapped whole and stored
// to in one page stays sparse.
func TestWritebackOnlyChanged(t *testing.T) {
	w := newCachedWorld(t, 1)
	const size = 1 << 20
	if err := os.Truncate(w.h.dir+"/f0", size); err != nil {
		t.Fatal(err)
	}
	rw := w.open(t, "f0", unix.O_RDWR)
	defer rw.Release()
	m := newMapping(t, w.mf, rw)
	m.touch(0, size)
	copy(m.mem(5*pageSize, 5), "dirty")
	if err := m.m.(vfs.CachedMappable).SyncMapping(0, size); err != nil {
		t.Fatal(err)
	}
	m.unmap()
	var st unix.Stat_t
	if err := unix.Stat(w.h.dir+"/f0", &st); err != nil {
		t.Fatal(err)
	}
	if st.Blocks*512 > 64<<10 {
		t.Errorf("the host file has %d bytes allocated after one page was stored to", st.Blocks*512)
	}
	if got := string(w.host(t, "f0")[5*pageSize:][:5]); got != "dirty" {
		t.Errorf("host: %q", got)
	}
}

// TestAppendAndFallocateMapped: O_APPEND writes and fallocate(2) keep the
// cache and the host file together.
func TestAppendAndFallocateMapped(t *testing.T) {
	w := newCachedWorld(t, 1)
	w.setHost(t, "f0", []byte("0123456789"))
	rw := w.open(t, "f0", unix.O_RDWR)
	defer rw.Release()
	m := newMapping(t, w.mf, rw)
	defer m.unmap()
	m.touch(0, pageSize)
	copy(m.mem(10, 2), "zz") // past the end: not the file's
	n, end, err := rw.(vfs.AppendImpl).Append([]byte("ab"))
	if n != 2 || end != 12 || err != nil {
		t.Fatalf("Append = %d, %d, %v", n, end, err)
	}
	if got := string(m.mem(0, 12)); got != "0123456789ab" {
		t.Errorf("mapping after append: %q", got)
	}
	copy(m.mem(2, 2), "XY")
	// Punch a hole over the store: the data goes on both sides.
	fa := rw.(interface {
		Fallocate(uint32, int64, int64) error
	})
	if err := fa.Fallocate(unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 3, 2); err != nil {
		t.Fatal(err)
	}
	want := "01X\x00\x0056789ab"
	if got := string(m.mem(0, 12)); got != want {
		t.Errorf("mapping after punching: %q", got)
	}
	if got := string(w.host(t, "f0")); got != want {
		t.Errorf("host after punching: %q", got)
	}
	if err := fa.Fallocate(0, 0, 3*pageSize); err != nil {
		t.Fatal(err)
	}
	if s := fileSize(t, rw); s != 3*pageSize {
		t.Errorf("size after fallocate %d", s)
	}
	if got := readAt(t, rw, 10, 4); got != "ab\x00\x00" {
		t.Errorf("after growing by fallocate: %q", got)
	}
}

// TestCacheConcurrent: writes, reads, fills and truncations at once keep
// read(2), the mapping and the host file agreeing (run with -race).
func TestCacheConcurrent(t *testing.T) {
	w := newCachedWorld(t, 1)
	const pages = 16
	w.setHost(t, "f0", make([]byte, pages*pageSize))
	rw := w.open(t, "f0", unix.O_RDWR)
	defer rw.Release()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := w.open(t, "f0", unix.O_RDWR)
			defer f.Release()
			for i := range 50 {
				off := int64((g*pages/4 + i%(pages/4)) * pageSize)
				s := fmt.Sprintf("g%d-%03d", g, i)
				if n, err := f.WriteAt([]byte(s), off); n != len(s) || err != nil {
					t.Errorf("WriteAt: %d, %v", n, err)
					return
				}
				b := make([]byte, len(s))
				if n, _ := f.ReadAt(b, off); n != len(s) || string(b) != s {
					t.Errorf("read back %q, wrote %q", b[:n], s)
					return
				}
			}
		}()
	}
	for range 20 {
		m := newMapping(t, w.mf, rw)
		m.touch(0, pages*pageSize)
		m.unmap()
	}
	wg.Wait()
	m := newMapping(t, w.mf, rw)
	defer m.unmap()
	m.touch(0, pages*pageSize)
	host := w.host(t, "f0")
	for p := range pages {
		if got, want := m.mem(uint64(p*pageSize), 7), host[p*pageSize:][:7]; !bytes.Equal(got, want) {
			t.Errorf("page %d: mapping %q, host %q", p, got, want)
		}
	}
}

// TestNoMemoryFileNotMappable: without a memory file, open files are not
// mappable shared, as before.
func TestNoMemoryFileNotMappable(t *testing.T) {
	h := newHostFiles(t, 1)
	fs, _ := mountHostFiles(t, h, ClientOptions{})
	f, err := lookup(t, fs, "f0").Open(ctx, unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	if _, ok := f.(vfs.MappableImpl); ok {
		t.Errorf("a file of a client without a memory file is mappable")
	}
}
