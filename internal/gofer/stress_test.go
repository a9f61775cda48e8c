package gofer

import (
	"fmt"
	"math/rand"
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// TestConcurrent runs lookups, creates, writes, renames (of files and of
// directories with children), links and unlinks from many goroutines at
// once through one client, then checks that the client's view and the
// host's agree.
func TestConcurrent(t *testing.T) {
	dir := t.TempDir()
	c := inProcess(t, Export{Path: dir})
	w := newWorld(t, c, 0)
	for i := range 4 {
		w.v.Mkdir(w.ctx, w.ctx.Cwd, fmt.Sprintf("/d%d", i), 0o755)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(g)))
			for i := range 300 {
				d := fmt.Sprintf("/d%d", rng.Intn(4))
				name := fmt.Sprintf("%s/f%d-%d", d, g, i%10)
				switch rng.Intn(7) {
				case 0, 1:
					f, err := w.open(name, unix.O_CREAT|unix.O_RDWR, 0o644)
					if err == nil {
						f.Impl.WriteAt([]byte(name), 0)
						f.DecRef()
					}
				case 2:
					w.read(name)
				case 3:
					w.v.Rename(w.ctx, w.ctx.Cwd, name, w.ctx.Cwd, fmt.Sprintf("/d%d/f%d-%d", rng.Intn(4), g, rng.Intn(10)), 0)
				case 4:
					w.v.Unlink(w.ctx, w.ctx.Cwd, name)
				case 5:
					if p, err := w.resolve(name, 0); err == nil {
						w.v.Link(w.ctx, p, w.ctx.Cwd, fmt.Sprintf("/d%d/l%d-%d", rng.Intn(4), g, i))
					}
				case 6:
					// Directories move under everyone's feet.
					a, b := fmt.Sprintf("/d%d", rng.Intn(4)), fmt.Sprintf("/d%d", rng.Intn(4))
					w.v.Rename(w.ctx, w.ctx.Cwd, a, w.ctx.Cwd, b, unix.RENAME_EXCHANGE)
				}
				w.stat(name)
			}
		}()
	}
	wg.Wait()
	// Every name the client lists exists on the host with the same
	// size, and the other way round.
	for i := range 4 {
		d := fmt.Sprintf("/d%d", i)
		names, err := w.list(d)
		if err != nil {
			t.Fatal(err)
		}
		hostNames, _ := os.ReadDir(dir + d)
		if len(names) != len(hostNames) {
			t.Errorf("%s: %d names, the host has %d", d, len(names), len(hostNames))
		}
		for _, n := range names {
			st, err := w.stat(d + "/" + n)
			var hst unix.Stat_t
			herr := unix.Lstat(dir+d+"/"+n, &hst)
			if err != nil || herr != nil {
				t.Errorf("%s/%s: %v, host %v", d, n, err, herr)
				continue
			}
			if int64(st.Size) != hst.Size || st.Nlink != uint32(hst.Nlink) || st.Ino != hst.Ino {
				t.Errorf("%s/%s: size %d nlink %d ino %d; host %d %d %d", d, n, st.Size, st.Nlink, st.Ino, hst.Size, hst.Nlink, hst.Ino)
			}
			if got, err := w.read(d + "/" + n); err != nil || (got != "" && got[:2] != "/d") {
				t.Errorf("read %s/%s: %q %v", d, n, got, err)
			}
		}
	}
}
