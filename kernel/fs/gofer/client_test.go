package gofer

import (
	"math/rand"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/gofer/wire"
	"magawa/kernel/vfs"
)

// handler answers one request of a fake gofer: the reply's bytes (errno
// first) and a descriptor to send with it (-1 for none), or nil to never
// answer.
type handler func(op wire.Op, export uint32, body []byte) ([]byte, int)

// fake is a gofer played by the test.
type fake struct {
	t  *testing.T
	h  handler
	mu sync.Mutex
	// fds are the fake's ends of every channel, to kill it.
	fds []int
}

func newFake(t *testing.T, h handler) (*fake, int) {
	f := &fake{t: t, h: h}
	fds, err := wire.SocketPair()
	if err != nil {
		t.Fatal(err)
	}
	f.serve(fds[0])
	t.Cleanup(f.kill)
	return f, fds[1]
}

func (f *fake) serve(fd int) {
	f.mu.Lock()
	f.fds = append(f.fds, fd)
	f.mu.Unlock()
	go func() {
		buf := make([]byte, wire.MaxMessage)
		for {
			n, _, err := wire.Recv(fd, buf, nil, time.Time{})
			if err != nil {
				return
			}
			d := wire.NewDecoder(buf[:n])
			var h wire.Header
			h.Decode(d)
			if h.Op == wire.OpChannel {
				pair, _ := wire.SocketPair()
				f.serve(pair[0])
				wire.Send(fd, []byte{0, 0, 0, 0}, pair[1])
				unix.Close(pair[1])
				continue
			}
			reply, pass := f.h(h.Op, h.Export, buf[8:n])
			if reply == nil {
				continue // silence
			}
			if wire.Send(fd, reply, pass) != nil {
				return
			}
			if pass >= 0 {
				unix.Close(pass)
			}
		}
	}()
}

// kill closes every channel of the fake: the gofer died.
func (f *fake) kill() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fd := range f.fds {
		unix.Shutdown(fd, unix.SHUT_RDWR)
	}
}

// ok encodes a successful reply.
func ok(body wire.Message) []byte {
	var e wire.Encoder
	e.U32(0)
	body.Encode(&e)
	return e.Bytes()
}

func dirAttr(ino uint64) wire.Attr {
	return wire.Attr{Mask: unix.STATX_BASIC_STATS, Mode: unix.S_IFDIR | 0o755, Nlink: 2, Dev: 1, Ino: ino}
}

func fileAttr(ino uint64) wire.Attr {
	return wire.Attr{Mask: unix.STATX_BASIC_STATS, Mode: unix.S_IFREG | 0o644, Nlink: 1, Dev: 1, Ino: ino}
}

// mountFake returns the root of export 0 of a fake that attaches
// normally and answers the rest with h.
func mountFake(t *testing.T, timeout time.Duration, h handler) (*fake, *FS, *Client) {
	f, fd := newFake(t, func(op wire.Op, export uint32, body []byte) ([]byte, int) {
		if op == wire.OpAttach {
			return ok(&wire.AttachReply{Root: dirAttr(1)}), -1
		}
		return h(op, export, body)
	})
	c, err := NewClient(fd, ClientOptions{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fs, err := c.Mount(0, MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return f, fs, c
}

var ctx = &vfs.Context{Creds: &vfs.RootCreds}

// checkNoLeak fails if more descriptors are open than before, once the
// fake (which closes what it sends after sending it) has settled.
func checkNoLeak(t *testing.T, before int) {
	t.Helper()
	var now int
	for range 100 {
		if now = openFDs(t); now <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%d descriptors leaked", now-before)
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestDeadGofer(t *testing.T) {
	f, fs, _ := mountFake(t, 5*time.Second, func(op wire.Op, _ uint32, _ []byte) ([]byte, int) {
		return ok(&wire.Attr{}), -1
	})
	f.kill()
	root := fs.Root().(vfs.DirInode)
	start := time.Now()
	for range 3 {
		if _, err := root.Lookup(ctx, "x"); err != unix.EIO {
			t.Errorf("lookup with a dead gofer: %v, want EIO", err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a dead gofer took %v to notice", d)
	}
	// A client of a socket whose gofer is gone fails at once.
	fds, _ := wire.SocketPair()
	unix.Close(fds[0])
	if _, err := NewClient(fds[1], ClientOptions{}); err == nil {
		t.Error("NewClient with no gofer succeeded")
	}
	if _, err := NewClient(int(os.Stdin.Fd()), ClientOptions{}); err == nil {
		t.Error("NewClient on a non-socket succeeded")
	}
}

func TestSilentGofer(t *testing.T) {
	_, fs, c := mountFake(t, 200*time.Millisecond, func(op wire.Op, _ uint32, _ []byte) ([]byte, int) {
		return nil, -1
	})
	root := fs.Root().(vfs.DirInode)
	start := time.Now()
	if _, err := root.Lookup(ctx, "x"); err != unix.EIO {
		t.Errorf("lookup with a silent gofer: %v, want EIO", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("gave up after %v", d)
	}
	// Concurrent callers all give up; none is stuck behind another.
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := root.Lookup(ctx, "y"); err != unix.EIO {
				t.Errorf("concurrent lookup: %v", err)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("concurrent lookups hang")
	}
	c.Close()
	if _, err := root.Lookup(ctx, "z"); err != unix.EIO {
		t.Errorf("after Close: %v", err)
	}
}

// TestMalformedReplies checks that no bad reply gets through.
func TestMalformedReplies(t *testing.T) {
	good := ok(&wire.Attr{Mask: unix.STATX_BASIC_STATS, Mode: unix.S_IFREG | 0o644, Nlink: 1, Dev: 1, Ino: 5})
	badMode := fileAttr(5)
	badMode.Mode = 0o170644
	badNsec := fileAttr(5)
	badNsec.Mtime.Nsec = 2e9
	extraBits := fileAttr(5)
	extraBits.Mode |= 0o1000000
	pipeEnd := func() int {
		p := make([]int, 2)
		unix.Pipe(p)
		unix.Close(p[1])
		return p[0]
	}
	for name, reply := range map[string]func() ([]byte, int){
		"short":         func() ([]byte, int) { return good[:len(good)-1], -1 },
		"long":          func() ([]byte, int) { return append(append([]byte{}, good...), 0), -1 },
		"empty":         func() ([]byte, int) { return []byte{}, -1 },
		"errno only 2":  func() ([]byte, int) { return []byte{2, 0}, -1 },
		"bad type":      func() ([]byte, int) { return ok(&badMode), -1 },
		"bad nsec":      func() ([]byte, int) { return ok(&badNsec), -1 },
		"mode bits":     func() ([]byte, int) { return ok(&extraBits), -1 },
		"ERESTARTSYS":   func() ([]byte, int) { return []byte{0, 2, 0, 0}, -1 },
		"huge errno":    func() ([]byte, int) { return []byte{255, 255, 255, 255}, -1 },
		"errno with fd": func() ([]byte, int) { return []byte{2, 0, 0, 0}, pipeEnd() },
		"unasked fd":    func() ([]byte, int) { return good, pipeEnd() },
		"errno + body":  func() ([]byte, int) { return append([]byte{2, 0, 0, 0}, good[4:]...), -1 },
	} {
		t.Run(name, func(t *testing.T) {
			_, fs, _ := mountFake(t, 5*time.Second, func(op wire.Op, _ uint32, _ []byte) ([]byte, int) {
				return reply()
			})
			before := openFDs(t)
			if _, err := fs.Root().(vfs.DirInode).Lookup(ctx, "x"); err != unix.EIO {
				t.Errorf("lookup: %v, want EIO", err)
			}
			checkNoLeak(t, before)
		})
	}
	// A well-formed errno passes.
	_, fs, _ := mountFake(t, 5*time.Second, func(op wire.Op, _ uint32, _ []byte) ([]byte, int) {
		return []byte{byte(unix.ENOENT), 0, 0, 0}, -1
	})
	if _, err := fs.Root().(vfs.DirInode).Lookup(ctx, "x"); err != unix.ENOENT {
		t.Errorf("lookup: %v, want ENOENT", err)
	}
}

func TestReaddirValidation(t *testing.T) {
	for name, r := range map[string]wire.ReaddirReply{
		"slash":    {Entries: []wire.Dirent{{Ino: 1, Next: 1, Type: unix.DT_REG, Name: "a/b"}}},
		"empty":    {Entries: []wire.Dirent{{Ino: 1, Next: 1, Type: unix.DT_REG, Name: ""}}},
		"nul":      {Entries: []wire.Dirent{{Ino: 1, Next: 1, Type: unix.DT_REG, Name: "a\x00"}}},
		"type":     {Entries: []wire.Dirent{{Ino: 1, Next: 1, Type: 200, Name: "a"}}},
		"no end":   {},
		"too long": {Entries: []wire.Dirent{{Ino: 1, Next: 1, Type: unix.DT_REG, Name: string(make([]byte, 300))}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, fs, _ := mountFake(t, 5*time.Second, func(op wire.Op, _ uint32, _ []byte) ([]byte, int) {
				return ok(&r), -1
			})
			err := fs.Root().(vfs.DirInode).Readdir(ctx, 0, func(vfs.Dirent) bool { return true })
			if err != unix.EIO {
				t.Errorf("readdir: %v, want EIO", err)
			}
		})
	}
	// A count larger than the message.
	_, fs, _ := mountFake(t, 5*time.Second, func(op wire.Op, _ uint32, _ []byte) ([]byte, int) {
		return []byte{0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255}, -1
	})
	if err := fs.Root().(vfs.DirInode).Readdir(ctx, 0, func(vfs.Dirent) bool { return true }); err != unix.EIO {
		t.Errorf("huge count: %v", err)
	}
}

// TestOpenValidation: the received descriptor must be the regular file
// asked for, opened as asked.
func TestOpenValidation(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/a", []byte("a"), 0o644)
	os.WriteFile(dir+"/b", []byte("b"), 0o644)
	var sa unix.Stat_t
	unix.Stat(dir+"/a", &sa)
	attrA := wire.Attr{Mask: unix.STATX_BASIC_STATS, Mode: unix.S_IFREG | 0o644, Nlink: 1, Dev: sa.Dev, Ino: sa.Ino, Size: 1}
	for name, tc := range map[string]struct {
		open func() int
		want error
	}{
		"right":        {func() int { fd, _ := unix.Open(dir+"/a", unix.O_RDONLY, 0); return fd }, nil},
		"other file":   {func() int { fd, _ := unix.Open(dir+"/b", unix.O_RDONLY, 0); return fd }, unix.EIO},
		"write access": {func() int { fd, _ := unix.Open(dir+"/a", unix.O_RDWR, 0); return fd }, unix.EIO},
		"directory":    {func() int { fd, _ := unix.Open(dir, unix.O_RDONLY, 0); return fd }, unix.EIO},
		"pipe":         {func() int { p := make([]int, 2); unix.Pipe(p); unix.Close(p[1]); return p[0] }, unix.EIO},
		"none":         {func() int { return -1 }, unix.EIO},
	} {
		t.Run(name, func(t *testing.T) {
			_, fs, c := mountFake(t, 5*time.Second, func(op wire.Op, _ uint32, _ []byte) ([]byte, int) {
				switch op {
				case wire.OpStat:
					return ok(&attrA), -1
				case wire.OpOpen:
					return ok(&attrA), tc.open()
				}
				return []byte{byte(unix.ENOSYS), 0, 0, 0}, -1
			})
			in, err := fs.Root().(vfs.DirInode).Lookup(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			before := openFDs(t)
			impl, err := in.Open(ctx, unix.O_RDONLY)
			if err != tc.want {
				t.Fatalf("open: %v, want %v", err, tc.want)
			}
			if err == nil {
				buf := make([]byte, 4)
				if n, _ := impl.ReadAt(buf, 0); string(buf[:n]) != "a" {
					t.Errorf("read %q", buf[:n])
				}
				impl.Release()
			}
			// The client keeps a read-only descriptor for the next
			// open; closing it closes that too.
			c.Close()
			checkNoLeak(t, before)
		})
	}
}

// TestRandomReplies throws random replies at every operation: errors,
// never a panic.
func TestRandomReplies(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	var mu sync.Mutex
	var next []byte
	_, fs, _ := mountFake(t, 5*time.Second, func(op wire.Op, _ uint32, _ []byte) ([]byte, int) {
		mu.Lock()
		defer mu.Unlock()
		return next, -1
	})
	validReplies := []wire.Message{
		&wire.Attr{Mask: unix.STATX_BASIC_STATS, Mode: unix.S_IFDIR | 0o755, Nlink: 2, Dev: 1, Ino: 9},
		&wire.Attr{Mask: unix.STATX_BASIC_STATS, Mode: unix.S_IFREG | 0o644, Nlink: 1, Dev: 1, Ino: 10},
		&wire.Attr{Mask: unix.STATX_BASIC_STATS, Mode: unix.S_IFLNK | 0o777, Nlink: 1, Dev: 1, Ino: 11},
		&wire.ReaddirReply{Entries: []wire.Dirent{{Ino: 1, Next: 5, Type: unix.DT_DIR, Name: "d"}}, EOF: true},
		&wire.CreateReply{Child: fileAttr(12), Dir: dirAttr(1)},
		&wire.UnlinkReply{Victim: fileAttr(12), Dir: dirAttr(1)},
		&wire.RenameReply{OldDir: dirAttr(1), NewDir: dirAttr(1), Moved: fileAttr(12)},
		&wire.XattrList{Names: []string{"user.a"}},
		&wire.ReadlinkReply{Target: "x"},
	}
	set := func() {
		mu.Lock()
		defer mu.Unlock()
		msg := ok(validReplies[rng.Intn(len(validReplies))])
		switch rng.Intn(3) {
		case 0:
			msg = msg[:rng.Intn(len(msg)+1)]
		case 1:
			if len(msg) > 4 {
				msg[4+rng.Intn(len(msg)-4)] ^= byte(1 + rng.Intn(255))
			}
		}
		next = msg
	}
	root := fs.Root().(vfs.DirInode)
	for range 3000 {
		set()
		var in vfs.Inode
		switch rng.Intn(10) {
		case 0:
			in, _ = root.Lookup(ctx, "a")
		case 1:
			root.Readdir(ctx, 0, func(vfs.Dirent) bool { return true })
		case 2:
			in, _ = root.Create(ctx, "c", vfs.NewAttrs{Mode: unix.S_IFREG | 0o644})
		case 3:
			in, _ = root.Mkdir(ctx, "m", vfs.NewAttrs{Mode: unix.S_IFDIR | 0o755})
		case 4:
			root.Unlink(ctx, "c")
		case 5:
			root.Rename(ctx, "c", root, "d", 0)
		case 6:
			root.(vfs.XattrInode).ListXattr(ctx)
		case 7:
			root.(vfs.SetStatInode).SetStat(ctx, &vfs.SetAttr{Mask: unix.STATX_MODE, Mode: 0o700})
		case 8:
			root.Stat(ctx, unix.STATX_BASIC_STATS)
		case 9:
			in, _ = root.Symlink(ctx, "s", "t", vfs.NewAttrs{Mode: unix.S_IFLNK | 0o777})
		}
		if in != nil {
			set()
			in.Stat(ctx, unix.STATX_BASIC_STATS)
			if sl, ok := in.(vfs.SymlinkInode); ok {
				set()
				sl.Readlink(ctx)
			}
		}
	}
}
