package gofer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	goferfs "magawa/kernel/fs/gofer"
	"magawa/kernel/fs/gofer/wire"
	"magawa/kernel/vfs"
)

// TestMain doubles as the gofer: Start re-executes the test binary with
// the verb "gofer" first, as the magawa binary would be.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "gofer" {
		os.Exit(Main(os.Args[2:]))
	}
	if len(os.Args) > 2 && os.Args[1] == "seccomp-child" {
		os.Exit(seccompChild(os.Args[2]))
	}
	os.Exit(m.Run())
}

// skip skips with a reason, or fails when MAGAWA_TEST_NO_SKIP is set (CI
// must not skip anything).
func skip(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("MAGAWA_TEST_NO_SKIP") != "" {
		t.Fatalf("MAGAWA_TEST_NO_SKIP is set, so failing instead of skipping: %s", msg)
	}
	t.Skip(msg)
}

// requireRoot skips tests that start gofer processes when they cannot.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		skip(t, "needs root: the gofer process needs CAP_SYS_ADMIN for its mount namespace (CI runs as root)")
	}
	if raceEnabled {
		// Not skip(): this is how -race builds are, not a missing
		// resource CI could provide.
		t.Skip("the race detector links cgo, and a gofer built with cgo refuses to serve (it cannot drop capabilities on every thread)")
	}
}

// inProcess serves exports from a server in this process (no
// confinement: for the protocol and the host-side checks) and returns a
// client of it.
func inProcess(t testing.TB, exports ...Export) *goferfs.Client {
	t.Helper()
	return inProcessWith(t, goferfs.ClientOptions{}, exports...)
}

// inProcessWith is inProcess with the client's options (a timeout of 30
// s unless opts sets one).
func inProcessWith(t testing.TB, opts goferfs.ClientOptions, exports ...Export) *goferfs.Client {
	t.Helper()
	srv, err := NewServer(exports)
	if err != nil {
		t.Fatal(err)
	}
	fds, err := wire.SocketPair()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		srv.Serve(fds[0])
		close(done)
	}()
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	c, err := goferfs.NewClient(fds[1], opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		<-done
		srv.Close()
	})
	return c
}

// confined starts a real gofer process (this test binary re-executed)
// and returns it with a client.
func confined(t testing.TB, exports ...Export) (*Gofer, *goferfs.Client) {
	t.Helper()
	requireRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	g, err := Start(Config{Exports: exports, Exe: exe, Stderr: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.Client(goferfs.ClientOptions{Timeout: 30 * time.Second})
	if err != nil {
		g.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		// Closing the client ends the gofer by itself.
		done := make(chan struct{})
		go func() { g.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("the gofer did not exit after its client closed")
			g.Close()
		}
	})
	return g, c
}

// world is a VFS whose root is one export, seen by a caller with every
// capability and our own IDs (so the in-process server, running as
// us, can give files our owner).
type world struct {
	t   testing.TB
	v   *vfs.VFS
	fs  *goferfs.FS
	ctx *vfs.Context
}

func newWorld(t testing.TB, c *goferfs.Client, export int) *world {
	t.Helper()
	fs, err := c.Mount(export, goferfs.MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var flags uint32
	if fs.ReadOnly() {
		flags = vfs.MountReadOnly
	}
	v := vfs.New()
	ns := v.NewMountNamespace(fs, "gofer", flags)
	root := ns.Root()
	creds := &vfs.Creds{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Caps: ^uint64(0)}
	return &world{t: t, v: v, fs: fs, ctx: &vfs.Context{Creds: creds, Root: root, Cwd: root, Umask: 0o022}}
}

func (w *world) open(name string, flags int, mode uint32) (*vfs.File, error) {
	return w.v.Open(w.ctx, w.ctx.Cwd, name, vfs.OpenHow{Flags: flags, Mode: mode})
}

// read returns a file's contents.
func (w *world) read(name string) (string, error) {
	f, err := w.open(name, unix.O_RDONLY, 0)
	if err != nil {
		return "", err
	}
	defer f.DecRef()
	var b strings.Builder
	buf := make([]byte, 64<<10)
	for off := int64(0); ; {
		n, err := f.Impl.ReadAt(buf, off)
		b.Write(buf[:n])
		off += int64(n)
		if err != nil && err != io.EOF {
			return "", err
		}
		if n == 0 {
			return b.String(), nil
		}
	}
}

func (w *world) mustRead(name string) string {
	w.t.Helper()
	s, err := w.read(name)
	if err != nil {
		w.t.Fatalf("reading %s: %v", name, err)
	}
	return s
}

func (w *world) write(name, data string) {
	w.t.Helper()
	f, err := w.open(name, unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, 0o644)
	if err != nil {
		w.t.Fatalf("creating %s: %v", name, err)
	}
	defer f.DecRef()
	if _, err := f.Impl.WriteAt([]byte(data), 0); err != nil {
		w.t.Fatalf("writing %s: %v", name, err)
	}
}

func (w *world) resolve(name string, flags uint64) (vfs.Path, error) {
	return w.v.Resolve(w.ctx, w.ctx.Cwd, name, flags)
}

func (w *world) stat(name string) (unix.Statx_t, error) {
	p, err := w.resolve(name, vfs.ResolveNoFollow)
	if err != nil {
		return unix.Statx_t{}, err
	}
	return p.Stat(w.ctx, unix.STATX_BASIC_STATS)
}

func (w *world) mustStat(name string) unix.Statx_t {
	w.t.Helper()
	st, err := w.stat(name)
	if err != nil {
		w.t.Fatalf("stat %s: %v", name, err)
	}
	return st
}

// list returns a directory's names, "." and ".." left out.
func (w *world) list(name string) ([]string, error) {
	f, err := w.open(name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	defer f.DecRef()
	var names []string
	buf := make([]byte, 4096)
	for {
		n, err := f.Getdents(buf)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return names, nil
		}
		for off := 0; off < n; {
			reclen := int(buf[off+16]) | int(buf[off+17])<<8
			nm := buf[off+19 : off+reclen]
			if i := strings.IndexByte(string(nm), 0); i >= 0 {
				nm = nm[:i]
			}
			if s := string(nm); s != "." && s != ".." {
				names = append(names, s)
			}
			off += reclen
		}
	}
}

// rawChannel is a channel to a server for hand-made requests.
type rawChannel struct {
	fd  int
	buf []byte
}

// rawInProcess serves exports in this process and returns a bare
// channel to it.
func rawInProcess(t testing.TB, exports ...Export) *rawChannel {
	t.Helper()
	srv, err := NewServer(exports)
	if err != nil {
		t.Fatal(err)
	}
	fds, err := wire.SocketPair()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		srv.Serve(fds[0])
		close(done)
	}()
	tv := unix.NsecToTimeval(int64(10 * time.Second))
	unix.SetsockoptTimeval(fds[1], unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	t.Cleanup(func() {
		unix.Close(fds[1])
		<-done
		srv.Close()
	})
	return &rawChannel{fd: fds[1], buf: make([]byte, wire.MaxMessage)}
}

// rawConfined starts a confined gofer of exports and returns its
// control channel, bare.
func rawConfined(t *testing.T, exports ...Export) *rawChannel {
	t.Helper()
	requireRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	g, err := Start(Config{Exports: exports, Exe: exe, Stderr: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	fd := g.TakeFD()
	tv := unix.NsecToTimeval(int64(10 * time.Second))
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	t.Cleanup(func() {
		unix.Close(fd)
		g.Wait()
	})
	return &rawChannel{fd: fd, buf: make([]byte, wire.MaxMessage)}
}

// call sends a raw message and returns the reply's errno, body and
// descriptor (-1 if none).
func (r *rawChannel) call(msg []byte) (unix.Errno, []byte, int, error) {
	if err := wire.Send(r.fd, msg, -1); err != nil {
		return 0, nil, -1, err
	}
	n, fds, err := wire.Recv(r.fd, r.buf, make([]byte, wire.OOBSize), time.Time{})
	if err != nil {
		return 0, nil, -1, err
	}
	if n < 4 {
		return 0, nil, -1, errors.New("short reply")
	}
	fd := -1
	if len(fds) == 1 {
		fd = fds[0]
	}
	return unix.Errno(uint32(r.buf[0]) | uint32(r.buf[1])<<8 | uint32(r.buf[2])<<16 | uint32(r.buf[3])<<24), r.buf[4:n], fd, nil
}

// request encodes a request.
func request(op wire.Op, export uint32, body wire.Message) []byte {
	var e wire.Encoder
	h := wire.Header{Op: op, Export: export}
	h.Encode(&e)
	body.Encode(&e)
	return e.Bytes()
}
