package gofer

import (
	"math/rand"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/gofer/wire"
)

const secret = "SECRET-OUTSIDE-THE-EXPORT"

// escapeTree makes base/secret (outside) and base/export (served), with
// symbolic links in the export that point outside it on the host.
func escapeTree(t *testing.T) (base, export string) {
	base = t.TempDir()
	export = base + "/export"
	mkfile(t, base+"/secret", secret)
	mkfile(t, base+"/f", secret)
	mkfile(t, export+"/inside", "INSIDE")
	mkfile(t, export+"/a/b/file", "INSIDE")
	for name, target := range map[string]string{
		"up":        "../secret",
		"up2":       "../../../../../../../../secret",
		"a/b/up3":   "../../..",
		"etcup":     "/etc/..",
		"abs":       base + "/secret",
		"absdir":    base,
		"dirlink":   "..",
		"rootslash": "/",
	} {
		if err := os.Symlink(target, export+"/"+name); err != nil {
			t.Fatal(err)
		}
	}
	return base, export
}

// TestEscapeSymlinks walks every way out we know of, through the VFS
// (which follows links inside the sandbox's root) and with raw requests
// (which the gofer must refuse or keep inside).
func TestEscapeSymlinks(t *testing.T) {
	forEachServer(t, func(t *testing.T, s servers) {
		_, export := escapeTree(t)
		w := newWorld(t, s.client(t, Export{Path: export}), 0)
		for _, name := range []string{
			"/up", "/up2", "/a/b/up3/secret", "/a/b/up3/f", "/etcup/secret", "/etcup/../secret",
			"/abs", "/absdir/secret", "/dirlink/secret", "/dirlink/f", "/dirlink/dirlink/secret",
			"/rootslash/../secret", "/../secret", "/../../secret", "/a/../../secret",
			"/a/b/../../../secret", "/inside/../../secret",
		} {
			got, err := w.read(name)
			if strings.Contains(got, "SECRET") {
				t.Errorf("read %s: got the secret", name)
			}
			if err == nil && got != "INSIDE" {
				t.Errorf("read %s = %q", name, got)
			}
		}
		// Links resolve inside: ".." from the root is the root.
		if got := w.mustRead("/dirlink/inside"); got != "INSIDE" {
			t.Errorf("/dirlink/inside = %q", got)
		}
		if got := w.mustRead("/a/b/up3/inside"); got != "INSIDE" {
			t.Errorf("/a/b/up3/inside = %q", got)
		}

		raw := s.raw(t, Export{Path: export})
		var before unix.Stat_t
		unix.Stat(export+"/../secret", &before)
		for _, tc := range []struct {
			name string
			op   wire.Op
			body wire.Message
		}{
			{"stat ..", wire.OpStat, &wire.PathReq{Path: ".."}},
			{"stat ../secret", wire.OpStat, &wire.PathReq{Path: "../secret"}},
			{"stat a/../../secret", wire.OpStat, &wire.PathReq{Path: "a/../../secret"}},
			{"stat /secret", wire.OpStat, &wire.PathReq{Path: "/secret"}},
			{"stat a//b", wire.OpStat, &wire.PathReq{Path: "a//b"}},
			{"stat NUL", wire.OpStat, &wire.PathReq{Path: "inside\x00/../../secret"}},
			{"open up", wire.OpOpen, &wire.OpenReq{Path: "up"}},
			{"open up2", wire.OpOpen, &wire.OpenReq{Path: "up2"}},
			{"open abs", wire.OpOpen, &wire.OpenReq{Path: "abs"}},
			{"open dirlink/secret", wire.OpOpen, &wire.OpenReq{Path: "dirlink/secret"}},
			{"open absdir/secret", wire.OpOpen, &wire.OpenReq{Path: "absdir/secret"}},
			{"open a/b/up3/secret", wire.OpOpen, &wire.OpenReq{Path: "a/b/up3/secret"}},
			{"open etcup/secret", wire.OpOpen, &wire.OpenReq{Path: "etcup/secret"}},
			{"open ../secret", wire.OpOpen, &wire.OpenReq{Path: "../secret"}},
			{"readdir dirlink", wire.OpReaddir, &wire.ReaddirReq{Path: "dirlink", Max: 4096}},
			{"readdir absdir", wire.OpReaddir, &wire.ReaddirReq{Path: "absdir", Max: 4096}},
			{"stat dirlink/secret", wire.OpStat, &wire.PathReq{Path: "dirlink/secret"}},
			{"create in absdir", wire.OpCreate, &wire.CreateReq{Dir: "absdir", Name: "planted", Mode: unix.S_IFREG | 0o644}},
			{"mkdir in dirlink", wire.OpMkdir, &wire.CreateReq{Dir: "dirlink", Name: "planted", Mode: unix.S_IFDIR | 0o755}},
			{"link ../secret", wire.OpLink, &wire.LinkReq{Name: "stolen", Target: "../secret"}},
			{"link dirlink/secret", wire.OpLink, &wire.LinkReq{Name: "stolen", Target: "dirlink/secret"}},
			{"rename out", wire.OpRename, &wire.RenameReq{OldName: "inside", NewDir: "dirlink", NewName: "planted"}},
			{"rename in", wire.OpRename, &wire.RenameReq{OldDir: "dirlink", OldName: "secret", NewName: "stolen"}},
			{"unlink through link", wire.OpUnlink, &wire.UnlinkReq{Dir: "dirlink", Name: "secret"}},
			{"truncate up", wire.OpSetAttr, &wire.SetAttrReq{Path: "up", Mask: unix.STATX_SIZE}},
			{"chmod up", wire.OpSetAttr, &wire.SetAttrReq{Path: "up", Mask: unix.STATX_MODE, Mode: 0o777}},
			{"chmod dirlink/secret", wire.OpSetAttr, &wire.SetAttrReq{Path: "dirlink/secret", Mask: unix.STATX_MODE, Mode: 0o777}},
			{"xattr dirlink/secret", wire.OpSetXattr, &wire.XattrReq{Path: "dirlink/secret", Name: "user.x", Value: []byte("1")}},
			{"statfs absdir", wire.OpStatfs, &wire.PathReq{Path: "absdir/secret"}},
			{"readlink ..", wire.OpReadlink, &wire.PathReq{Path: ".."}},
		} {
			errno, body, fd, err := raw.call(request(tc.op, 0, tc.body))
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if fd >= 0 {
				buf := make([]byte, 100)
				n, _ := unix.Pread(fd, buf, 0)
				unix.Close(fd)
				t.Errorf("%s: got a descriptor (reading %q)", tc.name, buf[:max(n, 0)])
			}
			if errno == 0 {
				t.Errorf("%s: succeeded (%d bytes of reply)", tc.name, len(body))
			}
		}
		var after unix.Stat_t
		if err := unix.Stat(export+"/../secret", &after); err != nil || after.Mode != before.Mode || after.Size != before.Size || after.Nlink != 1 {
			t.Errorf("the secret changed: %+v %v", after, err)
		}
		if _, err := os.Lstat(export + "/../planted"); err == nil {
			t.Errorf("something was planted outside the export")
		}
		// Operations on a link act on the link itself, never its target.
		errno, _, _, _ := raw.call(request(wire.OpSetAttr, 0, &wire.SetAttrReq{Path: "up", Mask: unix.STATX_ATIME | unix.STATX_MTIME}))
		if errno != 0 {
			t.Errorf("utimes on a link: %v", errno)
		}
		var after2 unix.Stat_t
		unix.Stat(export+"/../secret", &after2)
		if after2.Mtim != before.Mtim {
			t.Errorf("utimes on a link changed its target")
		}
	})
}

// TestEscapeRace swaps a directory and a symbolic link to ".." (where a
// file of the same name holds the secret) as fast as the host can, while
// the client walks through the directory's name.
func TestEscapeRace(t *testing.T) {
	forEachServer(t, func(t *testing.T, s servers) {
		base := t.TempDir()
		export := base + "/export"
		mkfile(t, base+"/f", secret)
		mkfile(t, export+"/d/f", "INSIDE")
		if err := os.Symlink("..", export+"/dl"); err != nil {
			t.Fatal(err)
		}
		c := s.client(t, Export{Path: export})
		raw := s.raw(t, Export{Path: export})

		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				unix.Renameat2(unix.AT_FDCWD, export+"/d", unix.AT_FDCWD, export+"/dl", unix.RENAME_EXCHANGE)
			}
		}()
		var inside, failed atomic.Int64
		deadline := time.Now().Add(2 * time.Second)
		check := func(how, got string, err error) {
			if strings.Contains(got, "SECRET") {
				t.Errorf("%s: read the secret", how)
			}
			if err == nil && got == "INSIDE" {
				inside.Add(1)
			} else {
				failed.Add(1)
			}
		}
		for i := 0; time.Now().Before(deadline); i++ {
			// A fresh VFS each time, so every walk looks "d" up.
			w := newWorld(t, c, 0)
			got, err := w.read("/d/f")
			check("vfs /d/f", got, err)
			got, err = w.read("/dl/f")
			check("vfs /dl/f", got, err)

			errno, _, fd, err := raw.call(request(wire.OpOpen, 0, &wire.OpenReq{Path: "d/f"}))
			got = ""
			if err == nil && errno == 0 && fd >= 0 {
				buf := make([]byte, 64)
				n, _ := unix.Pread(fd, buf, 0)
				got = string(buf[:max(n, 0)])
				unix.Close(fd)
			} else if err == nil {
				err = errno
			}
			check("raw open d/f", got, err)
			errno, _, fd, _ = raw.call(request(wire.OpOpen, 0, &wire.OpenReq{Path: "dl/f"}))
			if fd >= 0 {
				buf := make([]byte, 64)
				n, _ := unix.Pread(fd, buf, 0)
				check("raw open dl/f", string(buf[:max(n, 0)]), nil)
				unix.Close(fd)
			}
		}
		close(stop)
		wg.Wait()
		t.Logf("%d reads inside, %d refused", inside.Load(), failed.Load())
		if inside.Load() == 0 {
			t.Errorf("no read ever succeeded: the race was not exercised")
		}
	})
}

// TestHostileClient sends garbage: the server answers and goes on.
func TestHostileClient(t *testing.T) {
	dir := t.TempDir()
	mkfile(t, dir+"/f", "x")
	raw := rawInProcess(t, Export{Path: dir})
	rng := rand.New(rand.NewSource(1))
	valid := request(wire.OpStat, 0, &wire.PathReq{Path: "f"})
	for i := range 20000 {
		var msg []byte
		switch i % 4 {
		case 0: // random bytes
			msg = make([]byte, rng.Intn(200))
			rng.Read(msg)
		case 1: // a valid request, cut short
			msg = valid[:rng.Intn(len(valid))]
		case 2: // a valid header, random body
			msg = append([]byte{}, valid[:8]...)
			msg[0] = byte(rng.Intn(int(wire.OpStatfs) + 2))
			body := make([]byte, rng.Intn(100))
			rng.Read(body)
			msg = append(msg, body...)
		case 3: // a valid request, bytes flipped
			msg = append([]byte{}, valid...)
			msg[rng.Intn(len(msg))] ^= byte(1 + rng.Intn(255))
		}
		if len(msg) == 0 {
			continue
		}
		_, _, fd, err := raw.call(msg)
		if err != nil {
			t.Fatalf("message %d (%x): %v", i, msg, err)
		}
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	// Too long for a message.
	errno, _, _, err := raw.call(make([]byte, wire.MaxMessage+1))
	if err != nil || errno != unix.EINVAL {
		t.Errorf("oversized message: %v %v", errno, err)
	}
	// Descriptors sent to the gofer are dropped.
	p := make([]int, 2)
	unix.Pipe(p)
	if err := unix.Sendmsg(raw.fd, valid, unix.UnixRights(p[0]), nil, 0); err != nil {
		t.Fatal(err)
	}
	n, _, err := wire.Recv(raw.fd, raw.buf, nil, time.Time{})
	if err != nil || n < 4 || raw.buf[0] != byte(unix.EINVAL) {
		t.Errorf("request with a descriptor: %v %v", raw.buf[:4], err)
	}
	unix.Close(p[0])
	unix.Close(p[1])
	// Still serving.
	errno, _, _, err = raw.call(valid)
	if err != nil || errno != 0 {
		t.Errorf("after the garbage: %v %v", errno, err)
	}
	// Channels are bounded.
	var got []int
	for range maxChannels + 5 {
		errno, _, fd, err := raw.call(request(wire.OpChannel, 0, &wire.Empty{}))
		if err != nil {
			t.Fatal(err)
		}
		if errno == 0 {
			got = append(got, fd)
		} else if errno != unix.EMFILE {
			t.Errorf("channel: %v", errno)
		}
	}
	if len(got) >= maxChannels {
		t.Errorf("%d channels opened, the limit is %d", len(got), maxChannels)
	}
	for _, fd := range got {
		unix.Close(fd)
	}
}
