package gofer

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// write writes s through f at its offset (or the end, with O_APPEND).
func writeFile(t *testing.T, f *vfs.File, s string) {
	t.Helper()
	n, err := f.Write(func(write func([]byte) (int, error)) (int, error) { return write([]byte(s)) })
	if err != nil || n != len(s) {
		t.Fatalf("write %q: %d, %v", s, n, err)
	}
}

func offset(t *testing.T, f *vfs.File) int64 {
	t.Helper()
	off, err := f.Seek(0, unix.SEEK_CUR)
	if err != nil {
		t.Fatal(err)
	}
	return off
}

// TestAppend: O_APPEND writes land at the end atomically, from any
// number of descriptions and the host at once, leave the offset after
// the data, and follow fcntl(F_SETFL) turning O_APPEND on and off.
func TestAppend(t *testing.T) {
	forEachServer(t, func(t *testing.T, s servers) {
		dir := t.TempDir()
		mkfile(t, dir+"/log", "head\n")
		c := s.client(t, Export{Path: dir})
		w := newWorld(t, c, 0)

		f, err := w.open("/log", unix.O_WRONLY|unix.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.DecRef()
		writeFile(t, f, "one\n")
		if off := offset(t, f); off != 9 {
			t.Errorf("offset after an append: %d, want 9", off)
		}
		// The host appends too: the next append goes after it.
		hf, _ := os.OpenFile(dir+"/log", os.O_WRONLY|os.O_APPEND, 0)
		hf.WriteString("host\n")
		hf.Close()
		writeFile(t, f, "two\n")
		if off := offset(t, f); off != 18 {
			t.Errorf("offset after the second append: %d, want 18", off)
		}
		// pwrite on an O_APPEND description appends too, and leaves
		// the offset.
		n, err := f.Pwrite(0, func(write func([]byte) (int, error)) (int, error) { return write([]byte("p\n")) })
		if err != nil || n != 2 || offset(t, f) != 18 {
			t.Errorf("pwrite: %d %v, offset %d", n, err, offset(t, f))
		}
		// F_SETFL without O_APPEND: writes go to the offset.
		f.SetFlags(f.Flags() &^ unix.O_APPEND)
		f.Seek(0, unix.SEEK_SET)
		writeFile(t, f, "HEAD")
		// And back on.
		f.SetFlags(f.Flags() | unix.O_APPEND)
		writeFile(t, f, "end\n")
		if off := offset(t, f); off != 24 {
			t.Errorf("offset after appending again: %d, want 24", off)
		}
		if b, _ := os.ReadFile(dir + "/log"); string(b) != "HEAD\none\nhost\ntwo\np\nend\n" {
			t.Errorf("the log holds %q", b)
		}
		if st := w.mustStat("/log"); st.Size != 24 {
			t.Errorf("stat size %d", st.Size)
		}

		// Many appenders at once, through several descriptions: no
		// record is lost or torn.
		const writers, records = 4, 200
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f, err := w.open("/log", unix.O_WRONLY|unix.O_APPEND, 0)
				if err != nil {
					t.Error(err)
					return
				}
				defer f.DecRef()
				for j := range records {
					rec := fmt.Sprintf("writer %d record %03d\n", i, j)
					n, err := f.Write(func(write func([]byte) (int, error)) (int, error) { return write([]byte(rec)) })
					if err != nil || n != len(rec) {
						t.Errorf("append: %d %v", n, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		b, _ := os.ReadFile(dir + "/log")
		lines := bytes.Split(bytes.TrimSuffix(b[24:], []byte("\n")), []byte("\n"))
		if len(lines) != writers*records {
			t.Fatalf("%d records, want %d", len(lines), writers*records)
		}
		next := make([]int, writers)
		for _, l := range lines {
			var i, j int
			if _, err := fmt.Sscanf(string(l), "writer %d record %d", &i, &j); err != nil || i < 0 || i >= writers || j != next[i] {
				t.Fatalf("record %q out of place", l)
			}
			next[i]++
		}
	})
}
