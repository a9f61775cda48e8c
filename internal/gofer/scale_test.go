package gofer

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	goferfs "magawa/kernel/fs/gofer"
	"magawa/kernel/fs/gofer/wire"
	"magawa/kernel/vfs"
)

// TestWalkUsr is `find /usr -type f` (with a stat of every entry, as
// `ls -lR` would) through a confined gofer: it must see what the host
// sees, and neither side may hold a descriptor per file.
func TestWalkUsr(t *testing.T) {
	requireRoot(t)
	if testing.Short() {
		t.Skip("walks all of /usr")
	}
	want := 0
	filepath.WalkDir("/usr", func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			want++
		}
		return nil
	})
	g, c := confined(t, Export{Path: "/usr", ReadOnly: true})
	w := newWorld(t, c, 0)
	goferFDs := func() int {
		ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", g.Pid()))
		return len(ents)
	}
	ourFDs := func() int {
		ents, _ := os.ReadDir("/proc/self/fd")
		return len(ents)
	}
	baseOurs, baseGofer := ourFDs(), goferFDs()
	maxOurs, maxGofer := 0, 0
	files, entries := 0, 0
	start := time.Now()
	var walk func(dir string)
	walk = func(dir string) {
		names, err := w.list(dir)
		if err != nil {
			t.Errorf("list %s: %v", dir, err)
			return
		}
		for _, n := range names {
			p := dir + "/" + n
			if dir == "/" {
				p = "/" + n
			}
			st, err := w.stat(p)
			if err != nil {
				t.Errorf("stat %s: %v", p, err)
				continue
			}
			entries++
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFREG:
				files++
			case unix.S_IFDIR:
				walk(p)
			}
			if entries%10000 == 0 {
				maxOurs, maxGofer = max(maxOurs, ourFDs()), max(maxGofer, goferFDs())
			}
		}
	}
	walk("/")
	d := time.Since(start)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	runtime.KeepAlive(w)
	t.Logf("%d entries (%d regular files) in %v: %.1f µs per entry; heap %d MiB with the VFS's dentries; descriptors: ours %d→%d, the gofer's %d→%d",
		entries, files, d, float64(d.Microseconds())/float64(max(entries, 1)), ms.HeapAlloc>>20,
		baseOurs, maxOurs, baseGofer, maxGofer)
	if files != want {
		t.Errorf("%d regular files, the host has %d", files, want)
	}
	if maxOurs > baseOurs+32 || maxGofer > baseGofer+32 {
		t.Errorf("descriptors grew with the files seen: ours %d→%d, the gofer's %d→%d", baseOurs, maxOurs, baseGofer, maxGofer)
	}
}

// Benchmarks. Run as root for the confined ones:
//
//	go test -run=NONE -bench=. ./internal/gofer/

func benchServers(b *testing.B, f func(b *testing.B, c *goferfs.Client, dir string)) {
	dir := b.TempDir()
	mkfile(b, dir+"/file", strings.Repeat("x", 4096))
	b.Run("inprocess", func(b *testing.B) { f(b, inProcess(b, Export{Path: dir}), dir) })
	b.Run("confined", func(b *testing.B) {
		_, c := confined(b, Export{Path: dir})
		f(b, c, dir)
	})
}

// BenchmarkLookup is one uncached lookup: a request naming the file and
// its attributes in the reply.
func BenchmarkLookup(b *testing.B) {
	benchServers(b, func(b *testing.B, c *goferfs.Client, dir string) {
		fs, err := c.Mount(0, goferfs.MountOptions{})
		if err != nil {
			b.Fatal(err)
		}
		root := fs.Root().(vfs.DirInode)
		ctx := &vfs.Context{Creds: &vfs.RootCreds}
		b.ResetTimer()
		for b.Loop() {
			in, err := root.Lookup(ctx, "file")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := in.Stat(ctx, unix.STATX_BASIC_STATS); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkOpenReadClose opens a file (a request and a received
// descriptor), reads 4 KiB from the host file and closes it.
func BenchmarkOpenReadClose(b *testing.B) {
	benchServers(b, func(b *testing.B, c *goferfs.Client, dir string) {
		fs, err := c.Mount(0, goferfs.MountOptions{})
		if err != nil {
			b.Fatal(err)
		}
		ctx := &vfs.Context{Creds: &vfs.RootCreds}
		in, err := fs.Root().(vfs.DirInode).Lookup(ctx, "file")
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 4096)
		b.ResetTimer()
		for b.Loop() {
			f, err := in.Open(ctx, unix.O_RDONLY)
			if err != nil {
				b.Fatal(err)
			}
			if n, err := f.ReadAt(buf, 0); n != 4096 || err != nil {
				b.Fatal(n, err)
			}
			f.Release()
		}
	})
}

// BenchmarkRead is a 4 KiB read of an open file: no request at all.
func BenchmarkRead(b *testing.B) {
	benchServers(b, func(b *testing.B, c *goferfs.Client, dir string) {
		fs, _ := c.Mount(0, goferfs.MountOptions{})
		ctx := &vfs.Context{Creds: &vfs.RootCreds}
		in, _ := fs.Root().(vfs.DirInode).Lookup(ctx, "file")
		f, err := in.Open(ctx, unix.O_RDONLY)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Release()
		buf := make([]byte, 4096)
		b.ResetTimer()
		for b.Loop() {
			f.ReadAt(buf, 0)
		}
	})
}

// BenchmarkCreateUnlink makes and removes a file: two requests.
func BenchmarkCreateUnlink(b *testing.B) {
	benchServers(b, func(b *testing.B, c *goferfs.Client, dir string) {
		fs, _ := c.Mount(0, goferfs.MountOptions{})
		root := fs.Root().(vfs.DirInode)
		ctx := &vfs.Context{Creds: &vfs.RootCreds}
		attrs := vfs.NewAttrs{Mode: unix.S_IFREG | 0o644, UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
		b.ResetTimer()
		for b.Loop() {
			if _, err := root.Create(ctx, "tmp", attrs); err != nil {
				b.Fatal(err)
			}
			if err := root.Unlink(ctx, "tmp"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHostStat is the host's own openat2+statx+close, what the
// gofer does for a lookup, for comparison.
func BenchmarkHostStat(b *testing.B) {
	dir := b.TempDir()
	mkfile(b, dir+"/file", "x")
	x := export{}
	var err error
	if x.root, err = unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
		b.Fatal(err)
	}
	defer unix.Close(x.root)
	for b.Loop() {
		if _, err := x.stat("file"); err != nil {
			b.Fatal(err)
		}
	}
	_ = wire.MaxMessage
}
