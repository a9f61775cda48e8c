package gofer

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/gofer/wire"
	"magawa/kernel/vfs"
)

// hostFiles is a fake gofer's export of real host files f0, f1, ...
// (holding "data N"), counting the opens it serves.
type hostFiles struct {
	dir   string
	attrs map[string]wire.Attr
	opens atomic.Int64
	stats atomic.Int64
	// nlink is what an unlink reports the victim keeps.
	nlink atomic.Uint32
}

func newHostFiles(t *testing.T, n int) *hostFiles {
	h := &hostFiles{dir: t.TempDir(), attrs: map[string]wire.Attr{}}
	for i := range n {
		name := fmt.Sprintf("f%d", i)
		if err := os.WriteFile(h.dir+"/"+name, []byte(fmt.Sprintf("data %d", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		var sx unix.Statx_t
		if err := unix.Statx(unix.AT_FDCWD, h.dir+"/"+name, 0, unix.STATX_BASIC_STATS, &sx); err != nil {
			t.Fatal(err)
		}
		h.attrs[name] = wire.AttrFromStatx(&sx)
	}
	return h
}

func (h *hostFiles) handle(op wire.Op, _ uint32, body []byte) ([]byte, int) {
	d := wire.NewDecoder(body)
	switch op {
	case wire.OpStat:
		var req wire.PathReq
		req.Decode(d)
		h.stats.Add(1)
		if a, found := h.attrs[req.Path]; found {
			return ok(&a), -1
		}
		return []byte{byte(unix.ENOENT), 0, 0, 0}, -1
	case wire.OpOpen:
		var req wire.OpenReq
		req.Decode(d)
		a := h.attrs[req.Path]
		fd, err := unix.Open(h.dir+"/"+req.Path, int(req.Flags)|unix.O_CLOEXEC, 0)
		if err != nil {
			return []byte{byte(err.(unix.Errno)), 0, 0, 0}, -1
		}
		h.opens.Add(1)
		return ok(&a), fd
	case wire.OpReaddir:
		var req wire.ReaddirReq
		req.Decode(d)
		r := wire.ReaddirReply{Dev: 1, EOF: true}
		for i := range len(h.attrs) {
			name := fmt.Sprintf("f%d", i)
			r.Entries = append(r.Entries, wire.Dirent{Ino: h.attrs[name].Ino, Next: int64(i + 1), Type: unix.DT_REG,
				Name: name, HasAttr: req.Attrs, Attr: h.attrs[name]})
		}
		return ok(&r), -1
	case wire.OpCreate:
		var req wire.CreateReq
		req.Decode(d)
		a := fileAttr(1000)
		return ok(&wire.CreateReply{Child: a, Dir: dirAttr(1)}), -1
	case wire.OpUnlink:
		var req wire.UnlinkReq
		req.Decode(d)
		v := h.attrs[req.Name]
		v.Nlink = h.nlink.Load()
		return ok(&wire.UnlinkReply{Victim: v, Dir: dirAttr(1)}), -1
	}
	return []byte{byte(unix.ENOSYS), 0, 0, 0}, -1
}

// held returns how many descriptors of the files this process holds,
// once the fake has closed its copies of those it sent (it does so
// after sending): a second at most.
func (h *hostFiles) held(t *testing.T, want int) int {
	var n int
	for range 100 {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		n = 0
		for _, e := range ents {
			if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(target, h.dir+"/") {
				n++
			}
		}
		if n <= want {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return n
}

func mountHostFiles(t *testing.T, h *hostFiles, opts ClientOptions) (*FS, *Client) {
	_, fd := newFake(t, func(op wire.Op, export uint32, body []byte) ([]byte, int) {
		if op == wire.OpAttach {
			return ok(&wire.AttachReply{Root: dirAttr(1)}), -1
		}
		return h.handle(op, export, body)
	})
	opts.Timeout = 5 * time.Second
	c, err := NewClient(fd, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fs, err := c.Mount(0, MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return fs, c
}

func lookup(t *testing.T, fs *FS, name string) vfs.Inode {
	t.Helper()
	in, err := fs.Root().(vfs.DirInode).Lookup(ctx, name)
	if err != nil {
		t.Fatalf("lookup %s: %v", name, err)
	}
	return in
}

func readAll(t *testing.T, f vfs.FileImpl) string {
	t.Helper()
	buf := make([]byte, 64)
	n, err := f.ReadAt(buf, 0)
	if err != nil && n == 0 {
		t.Fatalf("read: %v", err)
	}
	return string(buf[:n])
}

// TestSharedReadOnlyFD: read-only opens of a file share one host
// descriptor, asked for once and kept after the last close; other opens
// get their own.
func TestSharedReadOnlyFD(t *testing.T) {
	h := newHostFiles(t, 1)
	fs, c := mountHostFiles(t, h, ClientOptions{})
	in := lookup(t, fs, "f0")
	a, err := in.Open(ctx, unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	b, err := in.Open(ctx, unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	if n := h.opens.Load(); n != 1 {
		t.Errorf("two read-only opens asked the gofer %d times, want once", n)
	}
	if a.(*regularFile).fd != b.(*regularFile).fd {
		t.Error("two read-only opens have different descriptors")
	}
	if got := readAll(t, a) + readAll(t, b); got != "data 0data 0" {
		t.Errorf("read %q", got)
	}
	a.Release()
	if readAll(t, b) != "data 0" {
		t.Error("closing one open file broke the other")
	}
	b.Release()
	if n := c.fds.idleCount(); n != 1 {
		t.Errorf("%d idle descriptors after the last close, want 1", n)
	}
	// Reopening needs no request.
	a, err = in.Open(ctx, unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	if n := h.opens.Load(); n != 1 || c.fds.idleCount() != 0 {
		t.Errorf("reopening: %d opens, %d idle", n, c.fds.idleCount())
	}
	if readAll(t, a) != "data 0" {
		t.Error("reading the kept descriptor")
	}
	// Writers and opens with host-visible flags have their own.
	for i, flags := range []int{unix.O_RDWR, unix.O_WRONLY, unix.O_RDONLY | unix.O_NOATIME, unix.O_RDONLY | unix.O_SYNC} {
		f, err := in.Open(ctx, flags)
		if err != nil {
			t.Fatalf("open %#x: %v", flags, err)
		}
		if n := h.opens.Load(); n != int64(2+i) || f.(*regularFile).shared != nil {
			t.Errorf("open %#x: %d opens, shared %v", flags, n, f.(*regularFile).shared != nil)
		}
		f.Release()
	}
	a.Release()
	// Close closes the kept descriptor.
	fd := a.(*regularFile).fd
	c.Close()
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
		t.Errorf("the kept descriptor is still open after Close: %v", err)
	}
}

// TestIdleFDBound: at most IdleFDs descriptors are kept, the least
// recently used go first, and no descriptor leaks.
func TestIdleFDBound(t *testing.T) {
	h := newHostFiles(t, 6)
	fs, c := mountHostFiles(t, h, ClientOptions{IdleFDs: 2})
	var ins []vfs.Inode
	for i := range 6 {
		in := lookup(t, fs, fmt.Sprintf("f%d", i))
		ins = append(ins, in)
		f, err := in.Open(ctx, unix.O_RDONLY)
		if err != nil {
			t.Fatal(err)
		}
		f.Release()
	}
	if n := c.fds.idleCount(); n != 2 {
		t.Errorf("%d idle descriptors, want 2", n)
	}
	if n := h.held(t, 2); n != 2 {
		t.Errorf("%d descriptors held, want 2", n)
	}
	// f5 and f4 are kept, f0 is not.
	opens := h.opens.Load()
	for _, i := range []int{5, 4} {
		f, _ := ins[i].Open(ctx, unix.O_RDONLY)
		if got := readAll(t, f); got != fmt.Sprintf("data %d", i) {
			t.Errorf("f%d reads %q", i, got)
		}
		f.Release()
	}
	if h.opens.Load() != opens {
		t.Error("a kept descriptor was asked for again")
	}
	f, _ := ins[0].Open(ctx, unix.O_RDONLY)
	if readAll(t, f) != "data 0" || h.opens.Load() != opens+1 {
		t.Error("an evicted descriptor was not asked for again")
	}
	f.Release()
	// Open files hold theirs beyond the bound.
	var open []vfs.FileImpl
	for _, in := range ins {
		f, err := in.Open(ctx, unix.O_RDONLY)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, f)
	}
	if c.fds.idleCount() != 0 {
		t.Error("descriptors in use counted as idle")
	}
	for i, f := range open {
		if got := readAll(t, f); got != fmt.Sprintf("data %d", i) {
			t.Errorf("f%d reads %q", i, got)
		}
		f.Release()
	}
	if n := c.fds.idleCount(); n != 2 {
		t.Errorf("%d idle descriptors, want 2", n)
	}
	c.Close()
	if n := h.held(t, 0); n != 0 {
		t.Errorf("%d descriptors leaked", n)
	}
}

// TestSharedFDForgotten: a file whose last link goes gives up its kept
// descriptor at once, and an open one closes it with its last user.
func TestSharedFDForgotten(t *testing.T) {
	h := newHostFiles(t, 3)
	fs, c := mountHostFiles(t, h, ClientOptions{})
	root := fs.Root().(vfs.DirInode)
	f0, f1, f2 := lookup(t, fs, "f0"), lookup(t, fs, "f1"), lookup(t, fs, "f2")
	for _, in := range []vfs.Inode{f0, f1} {
		f, _ := in.Open(ctx, unix.O_RDONLY)
		f.Release()
	}
	held, _ := f2.Open(ctx, unix.O_RDONLY)
	if c.fds.idleCount() != 2 {
		t.Fatalf("%d idle", c.fds.idleCount())
	}
	// Another link remains: the descriptor stays.
	h.nlink.Store(1)
	if err := root.Unlink(ctx, "f0"); err != nil {
		t.Fatal(err)
	}
	if c.fds.idleCount() != 2 {
		t.Errorf("unlinking one of two links dropped the descriptor")
	}
	h.nlink.Store(0)
	if err := root.Unlink(ctx, "f1"); err != nil {
		t.Fatal(err)
	}
	if c.fds.idleCount() != 1 {
		t.Errorf("%d idle after the last link of f1 went, want 1", c.fds.idleCount())
	}
	if err := root.Unlink(ctx, "f2"); err != nil {
		t.Fatal(err)
	}
	// The open file goes on reading its file; on close the descriptor
	// is not kept.
	if readAll(t, held) != "data 2" {
		t.Error("an open file of an unlinked file stopped reading")
	}
	held.Release()
	if c.fds.idleCount() != 1 {
		t.Errorf("%d idle after closing an unlinked file, want 1", c.fds.idleCount())
	}
	// A removed name does not open from a kept descriptor.
	if _, err := f0.Open(ctx, unix.O_RDONLY); err != unix.ENOENT {
		t.Errorf("opening a removed name: %v, want ENOENT", err)
	}
}

// TestSharedFDConcurrent opens and closes a few files from many
// goroutines: every read sees its file, nothing leaks (run with -race).
func TestSharedFDConcurrent(t *testing.T) {
	h := newHostFiles(t, 4)
	fs, c := mountHostFiles(t, h, ClientOptions{IdleFDs: 2})
	var ins []vfs.Inode
	for i := range 4 {
		ins = append(ins, lookup(t, fs, fmt.Sprintf("f%d", i)))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 16)
			for j := range 200 {
				i := (g + j) % 4
				f, err := ins[i].Open(ctx, unix.O_RDONLY)
				if err != nil {
					t.Error(err)
					return
				}
				n, _ := f.ReadAt(buf, 0)
				if string(buf[:n]) != fmt.Sprintf("data %d", i) {
					t.Errorf("f%d reads %q", i, buf[:n])
				}
				f.Release()
			}
		}()
	}
	wg.Wait()
	if n := c.fds.idleCount(); n > 2 {
		t.Errorf("%d idle descriptors, bound 2", n)
	}
	c.Close()
	if n := h.held(t, 0); n != 0 {
		t.Errorf("%d descriptors leaked", n)
	}
}
