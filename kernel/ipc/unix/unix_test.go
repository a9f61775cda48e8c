package unix

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/tmpfs"
	"magawa/kernel/memfile"
	"magawa/kernel/socket"
	"magawa/kernel/vfs"
	"magawa/kernel/waiter"
)

// world is a namespace over a VFS with a tmpfs root, and a root caller.
type world struct {
	t   *testing.T
	ns  *Namespace
	v   *vfs.VFS
	ctx *vfs.Context
}

func newWorld(t *testing.T) *world {
	t.Helper()
	mf, err := memfile.New(1 << 30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mf.Close() })
	v := vfs.New()
	mns := v.NewMountNamespace(tmpfs.New(mf, tmpfs.Options{Mode: 0o755}), "rootfs", 0)
	root := mns.Root()
	ctx := &vfs.Context{Creds: &vfs.RootCreds, Root: root, Cwd: root, Umask: 0o022}
	return &world{t: t, ns: NewNamespace(v), v: v, ctx: ctx}
}

var me = Creds{PID: 10, UID: 1000, GID: 1000}

func (w *world) socket(typ int) *Socket { return New(w.ns, typ, 0, 0, me) }

func (w *world) pair(typ int) (*Socket, *Socket) {
	a, b := NewPair(w.ns, typ, 0, 0, me, me)
	w.t.Cleanup(func() { a.release(); b.release() })
	return a, b
}

func send(t *testing.T, s *Socket, data string) {
	t.Helper()
	n, err := s.Send(&SendArgs{Data: []byte(data), Self: me}, nil)
	if err != nil || n != len(data) {
		t.Fatalf("send %q: %d, %v", data, n, err)
	}
}

func recvString(t *testing.T, s *Socket, size, flags int) string {
	t.Helper()
	r, err := s.Recv(RecvArgs{Size: size, Flags: flags}, nil)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	r.DropFiles()
	return string(r.Data)
}

func wantErr(t *testing.T, what string, got, want error) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

// blocker waits for its channel, or fails after a while (a test that
// would hang fails instead).
func blocker(ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-time.After(5 * time.Second):
		return errGaveUp
	}
}

var errGaveUp = errors.New("gave up waiting")

// countingFile is a file whose release is counted.
type countingFile struct{ released *atomic.Int32 }

func (c countingFile) ReadAt([]byte, int64) (int, error)  { return 0, nil }
func (c countingFile) WriteAt([]byte, int64) (int, error) { return 0, nil }
func (c countingFile) Stat(*unix.Stat_t) error            { return nil }
func (c countingFile) Seekable() bool                     { return false }
func (c countingFile) Release()                           { c.released.Add(1) }

func sockaddr(path string) []byte {
	b := make([]byte, 2+len(path))
	binary.LittleEndian.PutUint16(b, unix.AF_UNIX)
	copy(b[2:], path)
	return b
}

func TestParseAddress(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want Address
		err  error
	}{
		{sockaddr("/tmp/s"), "/tmp/s", nil},
		{sockaddr("/tmp/s\x00garbage"), "/tmp/s", nil},
		{sockaddr("\x00abs\x00tract"), "\x00abs\x00tract", nil},
		{sockaddr(""), "", unix.EINVAL},
		{[]byte{1}, "", unix.EINVAL},
		{append([]byte{2, 0}, "x"...), "", unix.EINVAL},
		{sockaddr(string(bytes.Repeat([]byte("a"), 109))), "", unix.EINVAL},
	} {
		got, err := ParseAddress(c.in)
		if got != c.want || err != c.err {
			t.Errorf("ParseAddress(%q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.err)
		}
	}
	if !IsAutobind(sockaddr("")) || IsAutobind(sockaddr("x")) {
		t.Errorf("IsAutobind")
	}
	for a, n := range map[Address]int{"": 2, "/a/b": 7, "\x00ab": 5} {
		if got := len(a.Sockaddr()); got != n {
			t.Errorf("len(%q.Sockaddr()) = %d, want %d", a, got, n)
		}
	}
}

func TestControl(t *testing.T) {
	var b []byte
	put := func(level, typ int32, data []byte) {
		h := make([]byte, CmsgSpace(len(data)))
		binary.LittleEndian.PutUint64(h, uint64(CmsgLen(len(data))))
		binary.LittleEndian.PutUint32(h[8:], uint32(level))
		binary.LittleEndian.PutUint32(h[12:], uint32(typ))
		copy(h[16:], data)
		b = append(b, h...)
	}
	put(unix.SOL_SOCKET, unix.SCM_RIGHTS, []byte{3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0})
	put(6, 99, []byte{1, 2, 3})
	put(unix.SOL_SOCKET, unix.SCM_CREDENTIALS, []byte{7, 0, 0, 0, 8, 0, 0, 0, 9, 0, 0, 0})
	c, err := ParseControl(b)
	if err != nil || len(c.FDs) != 3 || c.FDs[2] != 5 || c.Creds == nil || *c.Creds != (Creds{7, 8, 9}) {
		t.Fatalf("ParseControl: %+v, %v", c, err)
	}
	b = nil
	put(unix.SOL_SOCKET, 77, nil)
	if _, err := ParseControl(b); err != unix.EINVAL {
		t.Errorf("unknown type: %v", err)
	}
	b = nil
	put(unix.SOL_SOCKET, unix.SCM_RIGHTS, make([]byte, 4*254))
	if _, err := ParseControl(b); err != unix.EINVAL {
		t.Errorf("254 descriptors: %v", err)
	}
	b = nil
	put(unix.SOL_SOCKET, unix.SCM_CREDENTIALS, make([]byte, 8))
	if _, err := ParseControl(b); err != unix.EINVAL {
		t.Errorf("short credentials: %v", err)
	}
	if _, err := ParseControl([]byte{200, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0}); err != unix.EINVAL {
		t.Errorf("cmsg_len past the end: %v", err)
	}
	if c, err := ParseControl(make([]byte, 10)); err != nil || c.FDs != nil {
		t.Errorf("less than a header: %+v %v", c, err)
	}

	// Building: Linux's truncation rules.
	for _, c := range []struct {
		size, room, used int
		trunc            bool
	}{
		{CmsgSpace(8), 2, 24, true},
		{20, 1, 20, true},
		{10, 0, 0, true},
		{200, 46, 32, false},
	} {
		cb := NewControlBuffer(c.size)
		if cb.RightsRoom() != c.room {
			t.Errorf("size %d: room %d, want %d", c.size, cb.RightsRoom(), c.room)
		}
		fds := []int32{1, 2, 3}[:min(3, cb.RightsRoom())]
		cb.PutRights(fds, 3)
		if cb.Used != c.used || cb.Trunc != c.trunc {
			t.Errorf("size %d: used %d trunc %v, want %d %v", c.size, cb.Used, cb.Trunc, c.used, c.trunc)
		}
	}
	cb := NewControlBuffer(20)
	cb.PutCreds(Creds{1, 2, 3})
	if cb.Used != 20 || !cb.Trunc || binary.LittleEndian.Uint64(cb.Buf) != 20 {
		t.Errorf("truncated credentials: used %d trunc %v len %d", cb.Used, cb.Trunc, binary.LittleEndian.Uint64(cb.Buf))
	}
}

func TestStreamPair(t *testing.T) {
	w := newWorld(t)
	a, b := w.pair(Stream)
	send(t, a, "hello ")
	send(t, a, "world")
	if got := recvString(t, b, 3, unix.MSG_PEEK); got != "hel" {
		t.Errorf("peek: %q", got)
	}
	if b.Available() != 11 {
		t.Errorf("FIONREAD: %d", b.Available())
	}
	if got := recvString(t, b, 100, 0); got != "hello world" {
		t.Errorf("recv: %q", got)
	}
	if a.wmem.Load() != 0 {
		t.Errorf("charge left after the read: %d", a.wmem.Load())
	}
	_, err := b.Recv(RecvArgs{Size: 10}, nil)
	wantErr(t, "recv empty", err, unix.EAGAIN)
	if _, err := a.Send(&SendArgs{To: new(Address), Data: []byte("x")}, nil); err != unix.EISCONN {
		t.Errorf("sendto on a connected stream: %v", err)
	}

	// The writer fills its buffer: 278 small messages, as on Linux.
	n := 0
	for {
		if _, err := a.Send(&SendArgs{Data: []byte("x")}, nil); err != nil {
			wantErr(t, "full", err, unix.EAGAIN)
			break
		}
		n++
	}
	if n != 278 {
		t.Errorf("one-byte sends that fit: %d, want 278", n)
	}
	if a.Readiness(waiter.EventOut)&waiter.EventOut != 0 {
		t.Errorf("a full writer polls writable")
	}
	recvString(t, b, 1000, 0)
	if a.Readiness(waiter.EventOut)&waiter.EventOut == 0 {
		t.Errorf("a drained writer is not writable")
	}

	// Close with data unread: the peer reads what it has, then
	// ECONNRESET once, then end of file; its sends fail with EPIPE.
	send(t, a, "unread")
	send(t, b, "left")
	b.release()
	if r := a.Readiness(allEvents); r&(waiter.EventErr|waiter.EventHUp|waiter.EventRdHUp|waiter.EventIn) != waiter.EventErr|waiter.EventHUp|waiter.EventRdHUp|waiter.EventIn {
		t.Errorf("readiness after the peer closed: %#x", r)
	}
	if got := recvString(t, a, 100, 0); got != "left" {
		t.Errorf("recv the rest: %q", got)
	}
	_, err = a.Recv(RecvArgs{Size: 10}, nil)
	wantErr(t, "then", err, unix.ECONNRESET)
	if got := recvString(t, a, 10, 0); got != "" {
		t.Errorf("end of file: %q", got)
	}
	_, err = a.Send(&SendArgs{Data: []byte("x")}, nil)
	wantErr(t, "send to a closed peer", err, unix.EPIPE)
}

func TestShutdown(t *testing.T) {
	w := newWorld(t)
	a, b := w.pair(Stream)
	if err := a.Shutdown(unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	if r := b.Readiness(allEvents); r&(waiter.EventRdHUp|waiter.EventIn) != waiter.EventRdHUp|waiter.EventIn || r&waiter.EventHUp != 0 {
		t.Errorf("peer after SHUT_WR: %#x", r)
	}
	if got := recvString(t, b, 10, 0); got != "" {
		t.Errorf("peer reads %q", got)
	}
	_, err := a.Send(&SendArgs{Data: []byte("x")}, nil)
	wantErr(t, "send after SHUT_WR", err, unix.EPIPE)
	send(t, b, "back")
	a.Shutdown(unix.SHUT_RD)
	if r := a.Readiness(allEvents); r&waiter.EventHUp == 0 {
		t.Errorf("SHUT_RDWR is not a hang-up: %#x", r)
	}
	if got := recvString(t, a, 10, 0); got != "back" {
		t.Errorf("queued data after SHUT_RD: %q", got)
	}
	wantErr(t, "shutdown 3", a.Shutdown(3), unix.EINVAL)
	s := w.socket(Stream)
	defer s.release()
	if r := s.Readiness(allEvents); r != waiter.EventHUp|outEvents {
		t.Errorf("unconnected stream: %#x", r)
	}
	_, err = s.Recv(RecvArgs{Size: 1}, nil)
	wantErr(t, "recv unconnected", err, unix.EINVAL)
}

func TestStreamFiles(t *testing.T) {
	w := newWorld(t)
	a, b := w.pair(Stream)
	var released atomic.Int32
	f := vfs.NewFile(countingFile{&released}, unix.O_RDWR)
	sendFiles := func(data string, n int) {
		files := make([]*vfs.File, n)
		for i := range files {
			files[i] = f
		}
		if _, err := a.Send(&SendArgs{Data: []byte(data), Files: files}, nil); err != nil {
			t.Fatal(err)
		}
	}
	send(t, a, "ab")
	sendFiles("cd", 1)
	send(t, a, "ef")
	sendFiles("gh", 2)
	for _, want := range []struct {
		data  string
		files int
	}{{"abcd", 1}, {"efgh", 2}} {
		r, err := b.Recv(RecvArgs{Size: 100}, nil)
		if err != nil || string(r.Data) != want.data || len(r.Files) != want.files {
			t.Errorf("recv: %q with %d files, %v; want %q with %d", r.Data, len(r.Files), err, want.data, want.files)
		}
		r.DropFiles()
	}
	// A peek takes references of its own.
	sendFiles("ij", 1)
	r, _ := b.Recv(RecvArgs{Size: 100, Flags: unix.MSG_PEEK}, nil)
	r2, _ := b.Recv(RecvArgs{Size: 100}, nil)
	if len(r.Files) != 1 || len(r2.Files) != 1 {
		t.Errorf("peek then recv: %d and %d files", len(r.Files), len(r2.Files))
	}
	r.DropFiles()
	r2.DropFiles()
	// Files in flight are closed with the queue.
	sendFiles("kl", 3)
	b.release()
	f.DecRef()
	if released.Load() != 1 {
		t.Errorf("file released %d times", released.Load())
	}
}

func TestDatagrams(t *testing.T) {
	w := newWorld(t)
	a, b := w.pair(Datagram)
	send(t, a, "one")
	send(t, a, "")
	send(t, a, "three33")
	if b.Available() != 3 {
		t.Errorf("FIONREAD: %d", b.Available())
	}
	for _, want := range []string{"one", ""} {
		if got := recvString(t, b, 100, 0); got != want {
			t.Errorf("recv %q, want %q", got, want)
		}
	}
	r, err := b.Recv(RecvArgs{Size: 2}, nil)
	if err != nil || string(r.Data) != "th" || r.Len != 7 || !r.Trunc {
		t.Errorf("truncated: %+v %v", r, err)
	}
	big := make([]byte, socket.DefaultBuffer-31)
	_, err = a.Send(&SendArgs{Data: big}, nil)
	wantErr(t, "too big", err, unix.EMSGSIZE)

	// Named sockets: the queue limit for strangers, EPERM, ECONNREFUSED.
	x, y, z := w.socket(Datagram), w.socket(Datagram), w.socket(Datagram)
	defer y.release()
	defer z.release()
	for s, name := range map[*Socket]Address{x: "\x00x", y: "\x00y", z: "\x00z"} {
		if err := s.Bind(w.ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	to := Address("\x00x")
	n := 0
	for n < 100 {
		if _, err := y.Send(&SendArgs{To: &to, Data: []byte("q")}, nil); err != nil {
			wantErr(t, "full queue", err, unix.EAGAIN)
			break
		}
		n++
	}
	if n != maxDgramQlen+1 {
		t.Errorf("datagrams from a stranger: %d", n)
	}
	if r, err := x.Recv(RecvArgs{Size: 10}, nil); err != nil || r.From != "\x00y" {
		t.Errorf("from: %q %v", r.From, err)
	}
	if err := x.Connect(w.ctx, "\x00y", me, nil); err != nil {
		t.Fatal(err)
	}
	_, err = z.Send(&SendArgs{To: &to, Data: []byte("q")}, nil)
	wantErr(t, "send to a socket connected elsewhere", err, unix.EPERM)
	wantErr(t, "connect to it", z.Connect(w.ctx, to, me, nil), unix.EPERM)
	// x reconnects: its queue goes.
	if err := x.Connect(w.ctx, "\x00z", me, nil); err != nil {
		t.Fatal(err)
	}
	if x.Available() != 0 {
		t.Errorf("queue kept across a reconnect")
	}
	x.release()
	_, err = z.Send(&SendArgs{To: &to, Data: []byte("q")}, nil)
	wantErr(t, "send to a closed name", err, unix.ECONNREFUSED)
	if err := y.Connect(w.ctx, "\x00z", me, nil); err != nil {
		t.Fatal(err)
	}
	z.release()
	_, err = y.Send(&SendArgs{Data: []byte("q")}, nil)
	wantErr(t, "send to a closed peer", err, unix.ECONNREFUSED)
	_, err = y.Send(&SendArgs{Data: []byte("q")}, nil)
	wantErr(t, "and again", err, unix.ENOTCONN)
}

func TestListen(t *testing.T) {
	w := newWorld(t)
	l := w.socket(Stream)
	defer l.release()
	wantErr(t, "listen unbound", l.Listen(1, me), unix.EINVAL)
	if err := l.Bind(w.ctx, "\x00listener"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "bind again", l.Bind(w.ctx, "\x00other"), unix.EINVAL)
	wantErr(t, "connect before listen", w.socket(Stream).Connect(w.ctx, "\x00listener", me, nil), unix.ECONNREFUSED)
	if err := l.Listen(1, Creds{PID: 1}); err != nil {
		t.Fatal(err)
	}
	var clients []*Socket
	for i := range 3 {
		c := w.socket(Stream)
		defer c.release()
		err := c.Connect(w.ctx, "\x00listener", Creds{PID: int32(100 + i)}, nil)
		if i < 2 && err != nil || i == 2 && err != unix.EAGAIN {
			t.Errorf("connect %d: %v", i, err)
		}
		clients = append(clients, c)
	}
	send(t, clients[0], "early")
	wantErr(t, "wrong type", w.socket(SeqPacket).Connect(w.ctx, "\x00listener", me, nil), unix.ECONNREFUSED)

	// A blocking connect waits for room.
	done := make(chan error)
	go func() { done <- clients[2].Connect(w.ctx, "\x00listener", me, blocker) }()
	s, err := l.Accept(0, 0, me, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.release()
	if err := <-done; err != nil {
		t.Errorf("blocking connect: %v", err)
	}
	if got := recvString(t, s, 10, 0); got != "early" {
		t.Errorf("data sent before accept: %q", got)
	}
	cr, _ := s.GetSockopt(unix.SO_PEERCRED)
	if binary.LittleEndian.Uint32(cr) != 100 {
		t.Errorf("server's SO_PEERCRED pid %d", binary.LittleEndian.Uint32(cr))
	}
	cr, _ = clients[0].GetSockopt(unix.SO_PEERCRED)
	if binary.LittleEndian.Uint32(cr) != 1 {
		t.Errorf("client's SO_PEERCRED pid %d", binary.LittleEndian.Uint32(cr))
	}
	if name, _ := s.PeerName(); name != "" {
		t.Errorf("server's peer name %q", name)
	}
	if name, _ := clients[0].PeerName(); name != "\x00listener" {
		t.Errorf("client's peer name %q", name)
	}
	// Linux looks at the listener first: a full backlog hides EISCONN.
	wantErr(t, "connect again, backlog full", clients[0].Connect(w.ctx, "\x00listener", me, nil), unix.EAGAIN)

	// A blocking accept waits for a connection.
	for range 2 {
		c, err := l.Accept(0, 0, me, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.release()
	}
	wantErr(t, "connect again", clients[0].Connect(w.ctx, "\x00listener", me, nil), unix.EISCONN)
	got := make(chan *Socket)
	go func() {
		c, _ := l.Accept(0, 0, me, blocker)
		got <- c
	}()
	c := w.socket(Stream)
	defer c.release()
	if err := c.Connect(w.ctx, "\x00listener", me, nil); err != nil {
		t.Fatal(err)
	}
	if a := <-got; a == nil {
		t.Errorf("blocking accept failed")
	} else {
		a.release()
	}

	// Closing the listener resets what nobody accepted.
	p := w.socket(Stream)
	defer p.release()
	p.Connect(w.ctx, "\x00listener", me, nil)
	l.release()
	_, err = p.Recv(RecvArgs{Size: 1}, nil)
	wantErr(t, "recv after the listener closed", err, unix.ECONNRESET)
}

func TestBlockingRecv(t *testing.T) {
	w := newWorld(t)
	a, b := w.pair(Stream)
	go func() {
		time.Sleep(10 * time.Millisecond)
		send(t, a, "0123")
		time.Sleep(10 * time.Millisecond)
		send(t, a, "4567")
	}()
	r, err := b.Recv(RecvArgs{Size: 8, Flags: unix.MSG_WAITALL}, blocker)
	if err != nil || string(r.Data) != "01234567" {
		t.Errorf("MSG_WAITALL: %q %v", r.Data, err)
	}
	stop := errors.New("interrupted")
	_, err = b.Recv(RecvArgs{Size: 8}, func(<-chan struct{}) error { return stop })
	wantErr(t, "interrupted recv", err, stop)

	// A stream send waits for room.
	big := make([]byte, 1<<20)
	done := make(chan int)
	go func() {
		n, _ := a.Send(&SendArgs{Data: big}, blocker)
		done <- n
	}()
	total := 0
	for total < len(big) {
		r, err := b.Recv(RecvArgs{Size: 65536}, blocker)
		if err != nil {
			t.Fatal(err)
		}
		total += len(r.Data)
	}
	if n := <-done; n != len(big) {
		t.Errorf("blocking send: %d", n)
	}
}

func TestPaths(t *testing.T) {
	w := newWorld(t)
	l := w.socket(Stream)
	if err := l.Bind(w.ctx, "/sock"); err != nil {
		t.Fatal(err)
	}
	st, err := w.v.Resolve(w.ctx, w.ctx.Root, "/sock", 0)
	if err != nil {
		t.Fatal(err)
	}
	sx, _ := st.Stat(w.ctx, unix.STATX_MODE)
	if sx.Mode != unix.S_IFSOCK|0o755 {
		t.Errorf("socket file mode %o", sx.Mode)
	}
	wantErr(t, "bind the path again", w.socket(Stream).Bind(w.ctx, "/sock"), unix.EADDRINUSE)
	wantErr(t, "bind in a missing directory", w.socket(Stream).Bind(w.ctx, "/no/sock"), unix.ENOENT)
	l.Listen(5, me)
	c := w.socket(Stream)
	defer c.release()
	if err := c.Connect(w.ctx, "/sock", me, nil); err != nil {
		t.Errorf("connect: %v", err)
	}
	wantErr(t, "datagram to a stream socket", w.socket(Datagram).Connect(w.ctx, "/sock", me, nil), unix.EPROTOTYPE)
	wantErr(t, "connect to a missing path", w.socket(Stream).Connect(w.ctx, "/none", me, nil), unix.ENOENT)
	w.v.Mknod(w.ctx, w.ctx.Root, "/file", unix.S_IFREG|0o644, 0)
	wantErr(t, "connect to a regular file", w.socket(Stream).Connect(w.ctx, "/file", me, nil), unix.ECONNREFUSED)
	l.release()
	wantErr(t, "connect after close", w.socket(Stream).Connect(w.ctx, "/sock", me, nil), unix.ECONNREFUSED)
	if _, err := w.v.Resolve(w.ctx, w.ctx.Root, "/sock", 0); err != nil {
		t.Errorf("the file went with the socket: %v", err)
	}
}

func TestOptions(t *testing.T) {
	w := newWorld(t)
	s := w.socket(Stream)
	defer s.release()
	get := func(name int) int32 {
		v, err := s.GetSockopt(name)
		if err != nil {
			t.Fatalf("getsockopt %d: %v", name, err)
		}
		return int32(binary.LittleEndian.Uint32(v))
	}
	set := func(name int, v int32) error { return s.SetSockopt(name, socket.Int(v), false) }
	for v, want := range map[int32]int32{8192: 16384, 1: socket.MinSndbuf, -1: 2 * socket.MaxBuffer} {
		set(unix.SO_SNDBUF, v)
		if got := get(unix.SO_SNDBUF); got != want {
			t.Errorf("SO_SNDBUF %d: %d, want %d", v, got, want)
		}
	}
	set(unix.SO_KEEPALIVE, 5)
	if get(unix.SO_KEEPALIVE) != 1 {
		t.Errorf("SO_KEEPALIVE")
	}
	wantErr(t, "SO_DEBUG unprivileged", set(unix.SO_DEBUG, 1), unix.EACCES)
	wantErr(t, "SO_TYPE", set(unix.SO_TYPE, 1), unix.ENOPROTOOPT)
	wantErr(t, "short value", s.SetSockopt(unix.SO_KEEPALIVE, []byte{1}, false), unix.EINVAL)
	tv := make([]byte, 16)
	binary.LittleEndian.PutUint64(tv[8:], 1000000)
	wantErr(t, "usec 1e6", s.SetSockopt(unix.SO_RCVTIMEO, tv, false), unix.EDOM)
	binary.LittleEndian.PutUint64(tv, 2)
	binary.LittleEndian.PutUint64(tv[8:], 500000)
	s.SetSockopt(unix.SO_RCVTIMEO, tv, false)
	if rcv, _ := s.Timeouts(); rcv != 2500*time.Millisecond {
		t.Errorf("SO_RCVTIMEO %v", rcv)
	}
	if v, _ := s.GetSockopt(unix.SO_RCVTIMEO); !bytes.Equal(v, tv) {
		t.Errorf("SO_RCVTIMEO reads %v", v)
	}
	s.err = unix.ECONNRESET
	if get(unix.SO_ERROR) != int32(unix.ECONNRESET) || get(unix.SO_ERROR) != 0 {
		t.Errorf("SO_ERROR does not clear")
	}
}

func TestCredentials(t *testing.T) {
	w := newWorld(t)
	a, b := w.pair(Datagram)
	send(t, a, "before")
	b.SetSockopt(unix.SO_PASSCRED, socket.Int(1), false)
	send(t, a, "after")
	a.Send(&SendArgs{Data: []byte("claimed"), Self: me, Creds: &Creds{PID: 10, UID: 5, GID: 6}}, nil)
	for _, want := range []Creds{noCreds, me, {10, 5, 6}} {
		r, err := b.Recv(RecvArgs{Size: 10}, nil)
		if err != nil || r.Creds == nil || *r.Creds != want {
			t.Errorf("credentials %+v, %v; want %+v", r.Creds, err, want)
		}
	}
	// A stream reader with SO_PASSCRED does not glue different senders.
	c, d := w.pair(Stream)
	d.SetSockopt(unix.SO_PASSCRED, socket.Int(1), false)
	send(t, c, "aa")
	c.Send(&SendArgs{Data: []byte("bb"), Self: Creds{PID: 11}}, nil)
	if got := recvString(t, d, 10, 0); got != "aa" {
		t.Errorf("first read %q", got)
	}
}

func TestAutobind(t *testing.T) {
	w := newWorld(t)
	s := w.socket(Datagram)
	defer s.release()
	if err := s.Bind(w.ctx, ""); err != nil {
		t.Fatal(err)
	}
	name := s.Name()
	if len(name) != 6 || name[0] != 0 {
		t.Errorf("autobind name %q", name)
	}
	if err := s.Bind(w.ctx, ""); err != nil || s.Name() != name {
		t.Errorf("autobind again: %v, %q", err, s.Name())
	}
	p := w.socket(Datagram)
	defer p.release()
	p.SetSockopt(unix.SO_PASSCRED, socket.Int(1), false)
	p.Send(&SendArgs{To: &name, Data: []byte("x")}, nil)
	if !p.Name().IsAbstract() {
		t.Errorf("SO_PASSCRED sender not autobound: %q", p.Name())
	}
	if r, _ := s.Recv(RecvArgs{Size: 1}, nil); r.From != p.Name() {
		t.Errorf("from %q", r.From)
	}
}
