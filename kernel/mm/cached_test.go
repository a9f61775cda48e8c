package mm

import (
	"bytes"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/tmpfs"
	"magawa/kernel/vfs"
)

// cachedFile plays a file whose pages cache a file kept elsewhere (the
// gofer's, vfs.CachedMappable): a tmpfs file's pages, with the calls to
// SyncMapping recorded.
type cachedFile struct {
	vfs.FileImpl
	m *cachedPages
}

func (c *cachedFile) Mappable() vfs.Mappable { return c.m }

type cachedPages struct {
	*tmpfs.File
	mu    sync.Mutex
	syncs [][2]uint64
}

func (c *cachedPages) SyncMapping(start, end uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.syncs = append(c.syncs, [2]uint64{start, end})
	return nil
}

// TestCachedMappable: a private mapping of a cache is a copy, a shared
// one maps its pages, and msync(MS_SYNC) asks the file to write back the
// part of the range each shared mapping covers, once per run.
func TestCachedMappable(t *testing.T) {
	m, as := newMM(t)
	fs := tmpfs.New(m.mf, tmpfs.Options{Mode: 0o777})
	in, err := fs.Root().(vfs.DirInode).Create(rootCtx, "f", vfs.NewAttrs{Mode: unix.S_IFREG | 0o644})
	if err != nil {
		t.Fatal(err)
	}
	impl, err := in.Open(rootCtx, unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	impl.WriteAt(bytes.Repeat([]byte{'.'}, 4*PageSize), 0)
	pages := &cachedPages{File: in.(*tmpfs.File)}
	f := vfs.NewFile(&cachedFile{FileImpl: impl, m: pages}, unix.O_RDWR)
	defer f.DecRef()

	priv := mapFile(t, m, f, 2*PageSize, rw, false, 0)
	shared := mapFile(t, m, f, 3*PageSize, rw, true, PageSize)
	appWrite(t, m, as, priv, "private")
	appWrite(t, m, as, shared, "shared")
	if got := fileRead(t, f, 0, 7); got != "......." {
		t.Errorf("a private mapping's store reached the file: %q", got)
	}
	if got := fileRead(t, f, PageSize, 6); got != "shared" {
		t.Errorf("a shared mapping's store did not reach the file: %q", got)
	}
	m.mu.RLock()
	for _, v := range m.vmas {
		if v.start < priv+2*PageSize && v.start >= priv && v.mappable != nil {
			t.Errorf("the private mapping maps the cache's pages")
		}
	}
	m.mu.RUnlock()

	// Touch the second chunk so the shared vma is split where populated.
	appRead(t, m, as, shared+2*PageSize, 1)
	if err := m.Msync(priv, 2*PageSize, unix.MS_SYNC); err != nil || len(pages.syncs) != 0 {
		t.Errorf("msync of the private mapping: %v, syncs %v", err, pages.syncs)
	}
	if err := m.Msync(shared+PageSize, 2*PageSize, unix.MS_ASYNC); err != nil || len(pages.syncs) != 0 {
		t.Errorf("msync(MS_ASYNC): %v, syncs %v", err, pages.syncs)
	}
	if err := m.Msync(shared, 3*PageSize, unix.MS_SYNC); err != nil {
		t.Fatal(err)
	}
	if want := [][2]uint64{{PageSize, 4 * PageSize}}; len(pages.syncs) != 1 || pages.syncs[0] != want[0] {
		t.Errorf("syncs %v, want %v", pages.syncs, want)
	}
}
