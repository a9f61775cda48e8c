package syscalls

import (
	"encoding/binary"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/abi"
	unixsock "magawa/kernel/ipc/unix"
	"magawa/kernel/kernel"
	"magawa/kernel/socket"
	"magawa/kernel/vfs"
)

// This file is the socket family of calls. Unix domain sockets
// (kernel/ipc/unix) are served here; the families of the network stack
// (Internet, netlink and packet sockets, kernel/socket) are decoded here
// and served in sys_socket_net.go. Other families fail as a kernel
// without them does (EAFNOSUPPORT). Socket packages never sleep; calls
// that wait hand them a Blocker built here from the task's
// interruptible Block and the socket's SO_RCVTIMEO or SO_SNDTIMEO.

// Limits of the socket calls. Linux: include/linux/socket.h and
// net/socket.c.
const (
	// afMax is AF_MAX: families at or above it do not exist.
	afMax = 46
	// sockMax is SOCK_MAX: types at or above it are invalid.
	sockMax = 11
	// sockTypeMask masks the type out of socket(2)'s type argument.
	sockTypeMask = 0xf
	// sockaddrStorage is sizeof(struct sockaddr_storage): the most of
	// an address the calls read.
	sockaddrStorage = 128
	// optmemMax is net.core.optmem_max: the most ancillary data sendmsg
	// takes.
	optmemMax = 131072
)

// unixNamespaces holds each kernel's Unix socket names. It belongs in
// the kernel (one per sandbox) and moves there when networking gives the
// kernel a network namespace; until then this map (one entry per kernel
// of the process) keeps the socket work to the files it owns.
var unixNamespaces sync.Map // *kernel.Kernel → *unixsock.Namespace

func unixNamespace(t *kernel.Task) *unixsock.Namespace {
	k := t.Kernel()
	if ns, ok := unixNamespaces.Load(k); ok {
		return ns.(*unixsock.Namespace)
	}
	ns, _ := unixNamespaces.LoadOrStore(k, unixsock.NewNamespace(k.VFS))
	return ns.(*unixsock.Namespace)
}

// getSocket returns the socket at fd and its file, with a reference the
// caller drops: a Unix socket, or (ns) a socket of the network stack.
// EBADF for a bad descriptor, ENOTSOCK for another file.
func getSocket(t *kernel.Task, fd int32) (*vfs.File, *unixsock.Socket, socket.Socket, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, nil, nil, err
	}
	if vfs.IsPathOnly(f) {
		f.DecRef()
		return nil, nil, nil, unix.EBADF
	}
	if s, ok := unixsock.Of(f); ok {
		return f, s, nil, nil
	}
	if ns, ok := socket.Of(f); ok {
		return f, nil, ns, nil
	}
	f.DecRef()
	return nil, nil, nil, unix.ENOTSOCK
}

// senderCreds are what a message carries by default: the process ID and
// the real user and group IDs. Linux: include/net/scm.h, scm_send().
func senderCreds(t *kernel.Task) unixsock.Creds {
	c := t.Credentials()
	return unixsock.Creds{PID: t.TGID(), UID: c.UID, GID: c.GID}
}

// peerCreds are what SO_PEERCRED reports of the caller: the process ID
// and effective IDs. Linux: net/core/sock.c, cred_to_ucred().
func peerCreds(t *kernel.Task) unixsock.Creds {
	c := t.Credentials()
	return unixsock.Creds{PID: t.TGID(), UID: c.EUID, GID: c.EGID}
}

// socketWait returns how a call on f waits: nil when it must not
// (O_NONBLOCK, MSG_DONTWAIT, a negative timeout), else a Blocker that
// blocks the task until timeout (0: forever). timed reports a timeout,
// which makes an interrupted wait EINTR rather than a restart, as
// Linux's sock_intr_errno().
func socketWait(t *kernel.Task, f *vfs.File, flags int, timeout time.Duration) (block unixsock.Blocker, timed bool) {
	if f.NonBlocking() || flags&unix.MSG_DONTWAIT != 0 || timeout < 0 {
		return nil, false
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	return func(ch <-chan struct{}) error { return t.Block(ch, deadline) }, timeout > 0
}

// socketErr turns the end of a wait into the errno: EAGAIN for a
// timeout, EINTR or a restart for a signal.
func socketErr(err error, timed bool) error {
	switch err {
	case kernel.ErrInterrupted:
		if timed {
			return unix.EINTR
		}
		return kernel.ERESTARTSYS
	case kernel.ErrTimedOut:
		return unix.EAGAIN
	}
	return err
}

// copyInSockaddr reads an address argument of length n.
// Linux: net/socket.c, move_addr_to_kernel().
func copyInSockaddr(t *kernel.Task, addr uintptr, n int32) ([]byte, error) {
	if n < 0 || n > sockaddrStorage {
		return nil, unix.EINVAL
	}
	b := make([]byte, n)
	if n > 0 {
		if k, err := t.CopyIn(addr, b); err != nil || k != len(b) {
			return nil, unix.EFAULT
		}
	}
	return b, nil
}

// copyOutSockaddr writes an address result: as much of sa as the
// caller's length at lenAddr allows, and sa's full length there.
// Linux: net/socket.c, move_addr_to_user().
func copyOutSockaddr(t *kernel.Task, addr, lenAddr uintptr, sa []byte) error {
	var n int32
	if err := copyInStruct(t, lenAddr, &n); err != nil {
		return err
	}
	n = min(n, int32(len(sa)))
	if n < 0 {
		return unix.EINVAL
	}
	if n > 0 {
		if k, err := t.CopyOut(addr, sa[:n]); err != nil || k != int(n) {
			return unix.EFAULT
		}
	}
	full := int32(len(sa))
	return copyOutStruct(t, lenAddr, &full)
}

// fromSockaddr is the sender's address recvfrom and recvmsg report:
// nothing for an unnamed sender. Linux: unix_copy_addr().
func fromSockaddr(a unixsock.Address) []byte {
	if a == "" {
		return nil
	}
	return a.Sockaddr()
}

// Socket implements socket(2). Linux: net/socket.c, __sys_socket() and
// __sock_create().
func Socket(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	domain := a.Int(0)
	typ, flags, err := socketArgs(domain, a.Int(1), a.Int(2))
	if err != nil {
		return 0, err
	}
	var impl vfs.FileImpl
	if domain == unix.AF_UNIX {
		c := t.Credentials()
		impl = unixsock.New(unixNamespace(t), typ, c.FSUID, c.FSGID, senderCreds(t))
	} else if impl, err = newNetSocket(t, int(domain), typ, int(a.Int(2))); err != nil {
		return 0, err
	}
	f := vfs.NewFile(impl, unix.O_RDWR|flags&unix.O_NONBLOCK)
	defer f.DecRef()
	fd, err := t.FDTable().Install(f, 0, flags&unix.SOCK_CLOEXEC != 0, t.MaxFDs())
	return uintptr(fd), err
}

// socketArgs checks socket(2)'s arguments and returns the socket type
// and the SOCK_NONBLOCK and SOCK_CLOEXEC flags.
func socketArgs(domain, typ, protocol int32) (int, int, error) {
	flags := int(typ) &^ sockTypeMask
	if flags&^(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) != 0 {
		return 0, 0, unix.EINVAL
	}
	typ &= sockTypeMask
	if domain < 0 || domain >= afMax {
		return 0, 0, unix.EAFNOSUPPORT
	}
	if typ >= sockMax {
		return 0, 0, unix.EINVAL
	}
	switch domain {
	case unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK, unix.AF_PACKET:
		// The family checks the type and protocol.
		return int(typ), flags, nil
	case unix.AF_UNIX:
	default:
		return 0, 0, unix.EAFNOSUPPORT
	}
	if protocol != 0 && protocol != unix.AF_UNIX {
		return 0, 0, unix.EPROTONOSUPPORT
	}
	st, err := unixsock.ValidType(int(typ))
	return st, flags, err
}

// Socketpair implements socketpair(2).
func Socketpair(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	domain := a.Int(0)
	switch domain {
	case unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK, unix.AF_PACKET:
		// Families Linux has, whose sockets do not come in pairs.
		if int(a.Int(1))&^sockTypeMask&^(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) != 0 {
			return 0, unix.EINVAL
		}
		return 0, unix.EOPNOTSUPP
	}
	typ, flags, err := socketArgs(domain, a.Int(1), a.Int(2))
	if err != nil {
		return 0, err
	}
	c := t.Credentials()
	s0, s1 := unixsock.NewPair(unixNamespace(t), typ, c.FSUID, c.FSGID, senderCreds(t), peerCreds(t))
	f0 := vfs.NewFile(s0, unix.O_RDWR|flags&unix.O_NONBLOCK)
	f1 := vfs.NewFile(s1, unix.O_RDWR|flags&unix.O_NONBLOCK)
	defer f0.DecRef()
	defer f1.DecRef()
	cloexec := flags&unix.SOCK_CLOEXEC != 0
	fd0, err := t.FDTable().Install(f0, 0, cloexec, t.MaxFDs())
	if err != nil {
		return 0, err
	}
	fd1, err := t.FDTable().Install(f1, 0, cloexec, t.MaxFDs())
	if err != nil {
		t.FDTable().Remove(fd0)
		return 0, err
	}
	fds := [2]int32{int32(fd0), int32(fd1)}
	if err := copyOutStruct(t, a.Pointer(3), &fds); err != nil {
		t.FDTable().Remove(fd0)
		t.FDTable().Remove(fd1)
		return 0, err
	}
	return 0, nil
}

// Bind implements bind(2).
func Bind(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, s, ns, err := getSocket(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	sa, err := copyInSockaddr(t, a.Pointer(1), a.Int(2))
	if err != nil {
		return 0, err
	}
	if ns != nil {
		return 0, ns.Bind(caller(t), sa)
	}
	ctx := t.FileContext()
	if unixsock.IsAutobind(sa) {
		return 0, s.Bind(ctx, "")
	}
	addr, err := unixsock.ParseAddress(sa)
	if err != nil {
		return 0, err
	}
	return 0, s.Bind(ctx, addr)
}

// Listen implements listen(2): the backlog, taken as unsigned, is capped
// at the sandbox's net.core.somaxconn. Linux: net/socket.c,
// __sys_listen().
func Listen(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, s, ns, err := getSocket(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	backlog := a.Int(1)
	if somaxconn := t.Kernel().NetTunables().Somaxconn; uint32(backlog) > uint32(somaxconn) {
		backlog = somaxconn
	}
	if ns != nil {
		return 0, ns.Listen(int(backlog))
	}
	return 0, s.Listen(int(backlog), peerCreds(t))
}

// Accept implements accept(2).
func Accept(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return accept4(t, a.Int(0), a.Pointer(1), a.Pointer(2), 0)
}

// Accept4 implements accept4(2).
func Accept4(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	return accept4(t, a.Int(0), a.Pointer(1), a.Pointer(2), int(a.Int(3)))
}

// accept4 takes a connection; the new descriptor gets SOCK_NONBLOCK and
// SOCK_CLOEXEC from flags, not from the listener. An address that
// cannot be written loses the connection, as on Linux.
// Linux: net/socket.c, do_accept().
func accept4(t *kernel.Task, fd int32, addr, lenAddr uintptr, flags int) (uintptr, error) {
	if flags&^(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) != 0 {
		return 0, unix.EINVAL
	}
	f, s, ns, err := getSocket(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if ns != nil {
		return netAccept(t, f, ns, addr, lenAddr, flags)
	}
	rcvtimeo, _ := s.Timeouts()
	block, timed := socketWait(t, f, 0, rcvtimeo)
	c := t.Credentials()
	conn, err := s.Accept(c.FSUID, c.FSGID, senderCreds(t), block)
	if err != nil {
		return 0, socketErr(err, timed)
	}
	nf := vfs.NewFile(conn, unix.O_RDWR|flags&unix.O_NONBLOCK)
	defer nf.DecRef()
	if addr != 0 {
		peer, _ := conn.PeerName()
		if err := copyOutSockaddr(t, addr, lenAddr, peer.Sockaddr()); err != nil {
			return 0, err
		}
	}
	nfd, err := t.FDTable().Install(nf, 0, flags&unix.SOCK_CLOEXEC != 0, t.MaxFDs())
	return uintptr(nfd), err
}

// Connect implements connect(2).
func Connect(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, s, ns, err := getSocket(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	sa, err := copyInSockaddr(t, a.Pointer(1), a.Int(2))
	if err != nil {
		return 0, err
	}
	if ns != nil {
		return 0, netConnect(t, f, ns, sa)
	}
	// AF_UNSPEC dissolves a datagram socket's association.
	// Linux: net/unix/af_unix.c, unix_dgram_connect().
	if len(sa) >= 2 && binary.LittleEndian.Uint16(sa) == unix.AF_UNSPEC {
		return 0, s.Disconnect()
	}
	addr, err := unixsock.ParseAddress(sa)
	if err != nil {
		return 0, err
	}
	_, sndtimeo := s.Timeouts()
	block, timed := socketWait(t, f, 0, sndtimeo)
	return 0, socketErr(s.Connect(t.FileContext(), addr, peerCreds(t), block), timed)
}

// Getsockname implements getsockname(2).
func Getsockname(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, s, ns, err := getSocket(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if ns != nil {
		sa, err := ns.SockName()
		if err != nil {
			return 0, err
		}
		return 0, copyOutSockaddr(t, a.Pointer(1), a.Pointer(2), sa)
	}
	return 0, copyOutSockaddr(t, a.Pointer(1), a.Pointer(2), s.Name().Sockaddr())
}

// Getpeername implements getpeername(2).
func Getpeername(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, s, ns, err := getSocket(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if ns != nil {
		sa, err := ns.PeerName()
		if err != nil {
			return 0, err
		}
		return 0, copyOutSockaddr(t, a.Pointer(1), a.Pointer(2), sa)
	}
	peer, err := s.PeerName()
	if err != nil {
		return 0, err
	}
	return 0, copyOutSockaddr(t, a.Pointer(1), a.Pointer(2), peer.Sockaddr())
}

// Shutdown implements shutdown(2).
func Shutdown(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, s, ns, err := getSocket(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if ns != nil {
		return 0, ns.Shutdown(int(a.Int(1)))
	}
	return 0, s.Shutdown(int(a.Int(1)))
}

// msghdr is struct msghdr.
type msghdr struct {
	Name       uint64
	Namelen    uint32
	_          uint32
	Iov        uint64
	Iovlen     uint64
	Control    uint64
	Controllen uint64
	Flags      int32
	_          int32
}

// Offsets of the fields recvmsg writes back.
const (
	msghdrNamelen    = 8
	msghdrControllen = 40
	msghdrFlags      = 48
	msghdrSize       = 56
	// mmsghdrSize is sizeof(struct mmsghdr): a msghdr and msg_len.
	mmsghdrSize = 64
)

// sendChunk bounds the bytes of a stream send copied from the
// application at once.
const sendChunk = 256 << 10

// maxPacket is more than any datagram a socket takes (its send buffer
// at most): longer sends copy this much, which fails with EMSGSIZE.
const maxPacket = 2*212992 + 1

// send is the common part of sendto, sendmsg and sendmmsg: iovs are the
// data; sa, if not nil, the destination; ctl the ancillary data.
// Linux: net/socket.c, ____sys_sendmsg().
func send(t *kernel.Task, f *vfs.File, iovs []abi.Iovec, sa []byte, ctl []byte, flags int) (int, error) {
	if ns, ok := socket.Of(f); ok {
		return netSend(t, f, ns, iovs, sa, ctl, flags)
	}
	s, _ := unixsock.Of(f)
	args := &unixsock.SendArgs{Ctx: t.FileContext(), Self: senderCreds(t), Flags: flags}
	if sa != nil {
		addr, err := unixsock.ParseAddress(sa)
		if err != nil {
			return 0, err
		}
		args.To = &addr
	}
	if len(ctl) > 0 {
		files, creds, err := sendControl(t, ctl)
		if err != nil {
			return 0, err
		}
		defer func() {
			for _, f := range files {
				f.DecRef()
			}
		}()
		args.Files, args.Creds = files, creds
	}
	var total int
	for _, iov := range iovs {
		total += int(iov.Len)
	}
	_, sndtimeo := s.Timeouts()
	block, timed := socketWait(t, f, flags, sndtimeo)
	stream := s.Type() == unixsock.Stream
	if !stream {
		data, err := gather(t, iovs, 0, min(total, maxPacket))
		if err != nil {
			return 0, err
		}
		args.Data = data
		n, err := s.Send(args, block)
		return n, socketErr(err, timed)
	}
	// A stream takes the data in pieces, so a large send needs no
	// buffer of its size; descriptors and credentials go with the first.
	sent := 0
	for {
		n := min(total-sent, sendChunk)
		data, err := gather(t, iovs, sent, n)
		if err != nil {
			return partialInt(sent, err)
		}
		args.Data = data
		k, err := s.Send(args, block)
		sent += k
		if err == unix.EPIPE && sent == 0 && flags&unix.MSG_NOSIGNAL == 0 {
			t.SignalSelf(unix.SIGPIPE)
		}
		if err != nil {
			return partialInt(sent, socketErr(err, timed))
		}
		if k < n || sent >= total {
			return sent, nil
		}
		args.Files, args.Creds = nil, nil
	}
}

// partialInt is partial for results still to be counted.
func partialInt(n int, err error) (int, error) {
	if n > 0 {
		return n, nil
	}
	return 0, err
}

// gather copies n bytes of the iovecs' data, from byte off on.
func gather(t *kernel.Task, iovs []abi.Iovec, off, n int) ([]byte, error) {
	buf := make([]byte, n)
	done := 0
	for _, iov := range skipIovecs(iovs, off) {
		if done == n {
			break
		}
		k := min(int(iov.Len), n-done)
		if c, err := t.CopyIn(uintptr(iov.Base), buf[done:done+k]); err != nil || c != k {
			return nil, unix.EFAULT
		}
		done += k
	}
	return buf, nil
}

// scatter copies data into the iovecs.
func scatter(t *kernel.Task, iovs []abi.Iovec, data []byte) error {
	for _, iov := range iovs {
		if len(data) == 0 {
			return nil
		}
		k := min(int(iov.Len), len(data))
		if c, err := t.CopyOut(uintptr(iov.Base), data[:k]); err != nil || c != k {
			return unix.EFAULT
		}
		data = data[k:]
	}
	return nil
}

// sendControl reads a sendmsg's ancillary data: the files to pass, with
// references the caller drops, and credentials the caller may claim.
// Linux: net/core/scm.c, __scm_send() and scm_check_creds().
func sendControl(t *kernel.Task, ctl []byte) ([]*vfs.File, *unixsock.Creds, error) {
	c, err := unixsock.ParseControl(ctl)
	if err != nil {
		return nil, nil, err
	}
	var files []*vfs.File
	drop := func() {
		for _, f := range files {
			f.DecRef()
		}
	}
	for _, fd := range c.FDs {
		f, err := getFile(t, fd)
		if err != nil {
			drop()
			return nil, nil, err
		}
		files = append(files, f)
	}
	if c.Creds != nil {
		if err := checkCreds(t, c.Creds); err != nil {
			drop()
			return nil, nil, err
		}
	}
	return files, c.Creds, nil
}

// checkCreds checks credentials a sender claims: its own process ID
// unless CAP_SYS_ADMIN, one of its user IDs unless CAP_SETUID, one of
// its group IDs unless CAP_SETGID; the process must exist.
func checkCreds(t *kernel.Task, cr *unixsock.Creds) error {
	if cr.UID == ^uint32(0) || cr.GID == ^uint32(0) {
		return unix.EINVAL
	}
	c := t.Credentials()
	pidOK := cr.PID == t.TGID() || c.HasCap(unix.CAP_SYS_ADMIN)
	uidOK := cr.UID == c.UID || cr.UID == c.EUID || cr.UID == c.SUID || c.HasCap(unix.CAP_SETUID)
	gidOK := cr.GID == c.GID || cr.GID == c.EGID || cr.GID == c.SGID || c.HasCap(unix.CAP_SETGID)
	if !pidOK || !uidOK || !gidOK {
		return unix.EPERM
	}
	if cr.PID <= 0 || t.Kernel().TaskByTID(cr.PID) == nil {
		return unix.ESRCH
	}
	return nil
}

// Sendto implements sendto(2).
func Sendto(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, _, _, err := getSocket(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	var sa []byte
	if a.Pointer(4) != 0 {
		if sa, err = copyInSockaddr(t, a.Pointer(4), a.Int(5)); err != nil {
			return 0, err
		}
		if len(sa) == 0 {
			sa = nil
		}
	}
	iovs := []abi.Iovec{{Base: uint64(a.Pointer(1)), Len: uint64(clampCount(a.Size(2)))}}
	n, err := send(t, f, iovs, sa, nil, int(a.Int(3)))
	return uintptr(n), err
}

// Sendmsg implements sendmsg(2).
func Sendmsg(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, _, _, err := getSocket(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	n, err := sendmsg(t, f, a.Pointer(1), int(a.Int(2)))
	return uintptr(n), err
}

// sendmsg sends the struct msghdr at addr.
func sendmsg(t *kernel.Task, f *vfs.File, addr uintptr, flags int) (int, error) {
	var m msghdr
	if err := copyInStruct(t, addr, &m); err != nil {
		return 0, err
	}
	iovs, sa, err := msgBuffers(t, &m)
	if err != nil {
		return 0, err
	}
	var ctl []byte
	if m.Controllen > 0 {
		if m.Controllen > optmemMax {
			return 0, unix.ENOBUFS
		}
		ctl = make([]byte, m.Controllen)
		if n, err := t.CopyIn(uintptr(m.Control), ctl); err != nil || n != len(ctl) {
			return 0, unix.EFAULT
		}
	}
	return send(t, f, iovs, sa, ctl, flags)
}

// msgBuffers reads a msghdr's iovecs and, for a send, its address.
// Linux: net/socket.c, copy_msghdr_from_user().
func msgBuffers(t *kernel.Task, m *msghdr) ([]abi.Iovec, []byte, error) {
	if m.Iovlen > abi.IOVMax {
		return nil, nil, unix.EMSGSIZE
	}
	iovs, err := copyInIovecs(t, uintptr(m.Iov), int32(m.Iovlen))
	if err != nil {
		return nil, nil, err
	}
	var sa []byte
	if m.Name != 0 && m.Namelen != 0 {
		if int32(m.Namelen) < 0 {
			return nil, nil, unix.EINVAL
		}
		if sa, err = copyInSockaddr(t, uintptr(m.Name), min(int32(m.Namelen), sockaddrStorage)); err != nil {
			return nil, nil, err
		}
	}
	return iovs, sa, nil
}

// Sendmmsg implements sendmmsg(2): it stops at the first error or short
// send, and fails only if nothing was sent. Linux: net/socket.c,
// __sys_sendmmsg().
func Sendmmsg(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, _, _, err := getSocket(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	vec, vlen, flags := a.Pointer(1), min(a.Uint(2), abi.IOVMax), int(a.Int(3))
	sent := 0
	for i := range uintptr(vlen) {
		entry := vec + i*mmsghdrSize
		var m msghdr
		if err = copyInStruct(t, entry, &m); err != nil {
			break
		}
		var want uint64
		if iovs, _, e := msgBuffers(t, &m); e == nil {
			for _, iov := range iovs {
				want += iov.Len
			}
		}
		var n int
		if n, err = sendmsg(t, f, entry, flags); err != nil {
			break
		}
		l := uint32(n)
		if err = copyOutStruct(t, entry+msghdrSize, &l); err != nil {
			break
		}
		sent++
		if uint64(n) < want {
			break
		}
	}
	if sent > 0 {
		return uintptr(sent), nil
	}
	return 0, err
}

// Recvfrom implements recvfrom(2).
func Recvfrom(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, s, ns, err := getSocket(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	flags := int(a.Int(3))
	iovs := []abi.Iovec{{Base: uint64(a.Pointer(1)), Len: uint64(clampCount(a.Size(2)))}}
	if ns != nil {
		r, n, err := netRecv(t, f, ns, iovs, flags)
		if err != nil {
			return 0, err
		}
		if a.Pointer(4) != 0 {
			if err := copyOutSockaddr(t, a.Pointer(4), a.Pointer(5), r.From); err != nil {
				return 0, err
			}
		}
		return uintptr(n), nil
	}
	r, n, err := recv(t, f, s, iovs, flags)
	if err != nil {
		return 0, err
	}
	r.DropFiles() // no room for them
	if a.Pointer(4) != 0 {
		if err := copyOutSockaddr(t, a.Pointer(4), a.Pointer(5), fromSockaddr(r.From)); err != nil {
			return 0, err
		}
	}
	return uintptr(n), nil
}

// recv is the common part of recvfrom, recvmsg and recvmmsg: it
// receives into iovs and returns what came and the call's result (the
// whole datagram's length with MSG_TRUNC). The caller owns r.Files.
func recv(t *kernel.Task, f *vfs.File, s *unixsock.Socket, iovs []abi.Iovec, flags int) (unixsock.Received, int, error) {
	var total uint64
	for _, iov := range iovs {
		total += iov.Len
	}
	rcvtimeo, _ := s.Timeouts()
	block, timed := socketWait(t, f, flags, rcvtimeo)
	r, err := s.Recv(unixsock.RecvArgs{Size: int(min(total, abi.MaxRWCount)), Flags: flags}, block)
	if err != nil {
		return r, 0, socketErr(err, timed)
	}
	if err := scatter(t, iovs, r.Data); err != nil {
		r.DropFiles()
		return unixsock.Received{}, 0, err
	}
	n := len(r.Data)
	if flags&unix.MSG_TRUNC != 0 && s.Type() != unixsock.Stream {
		n = r.Len
	}
	return r, n, nil
}

// Recvmsg implements recvmsg(2).
func Recvmsg(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, _, _, err := getSocket(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	n, err := recvmsg(t, f, a.Pointer(1), int(a.Int(2)))
	return uintptr(n), err
}

// maxControl bounds the kernel's copy of a recvmsg's control buffer:
// what one message can carry (credentials and SCM_MAX_FD descriptors)
// is far less.
const maxControl = 4096

// recvmsg receives into the struct msghdr at addr and writes back its
// name length, control length and flags. Linux: net/socket.c,
// ____sys_recvmsg(), and net/core/scm.c, scm_recv().
func recvmsg(t *kernel.Task, f *vfs.File, addr uintptr, flags int) (int, error) {
	var m msghdr
	if err := copyInStruct(t, addr, &m); err != nil {
		return 0, err
	}
	iovs, _, err := msgBuffers(t, &(msghdr{Iov: m.Iov, Iovlen: m.Iovlen}))
	if err != nil {
		return 0, err
	}
	if ns, ok := socket.Of(f); ok {
		return netRecvmsg(t, f, ns, addr, &m, iovs, flags)
	}
	s, _ := unixsock.Of(f)
	r, n, err := recv(t, f, s, iovs, flags)
	if err != nil {
		return 0, err
	}
	defer r.DropFiles() // installed descriptors hold their own references
	outFlags := int32(flags & unix.MSG_CMSG_CLOEXEC)
	if r.Trunc {
		outFlags |= unix.MSG_TRUNC
	}
	if m.Name != 0 {
		if err := copyOutSockaddr(t, uintptr(m.Name), addr+msghdrNamelen, fromSockaddr(r.From)); err != nil {
			return 0, err
		}
	}
	var ctl []byte
	if m.Control == 0 {
		if r.Creds != nil || len(r.Files) > 0 {
			outFlags |= unix.MSG_CTRUNC
		}
	} else {
		cb := unixsock.NewControlBuffer(int(min(m.Controllen, maxControl)))
		if r.Creds != nil {
			cb.PutCreds(*r.Creds)
		}
		if len(r.Files) > 0 {
			var fds []int32
			cloexec := flags&unix.MSG_CMSG_CLOEXEC != 0
			for _, rf := range r.Files[:min(len(r.Files), cb.RightsRoom())] {
				fd, err := t.FDTable().Install(rf, 0, cloexec, t.MaxFDs())
				if err != nil {
					break
				}
				fds = append(fds, int32(fd))
			}
			cb.PutRights(fds, len(r.Files))
		}
		if cb.Trunc {
			outFlags |= unix.MSG_CTRUNC
		}
		ctl = cb.Buf[:cb.Used]
	}
	return n, finishRecvmsg(t, addr, &m, ctl, outFlags)
}

// finishRecvmsg writes back what recvmsg returns besides the data: the
// ancillary data ctl into the caller's control buffer (ctl fits: the
// caller cut it), msg_controllen and msg_flags.
func finishRecvmsg(t *kernel.Task, addr uintptr, m *msghdr, ctl []byte, flags int32) error {
	if len(ctl) > 0 {
		if k, err := t.CopyOut(uintptr(m.Control), ctl); err != nil || k != len(ctl) {
			return unix.EFAULT
		}
	}
	ctlLen := uint64(len(ctl))
	if err := copyOutStruct(t, addr+msghdrControllen, &ctlLen); err != nil {
		return err
	}
	return copyOutStruct(t, addr+msghdrFlags, &flags)
}

// Recvmmsg implements recvmmsg(2): MSG_WAITFORONE stops waiting after
// the first message; the timeout is checked between messages, as on
// Linux, and what is left of it written back. An error after some
// messages is reported by the next call (SO_ERROR on Linux; dropped
// here). Linux: net/socket.c, do_recvmmsg().
func Recvmmsg(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, _, _, err := getSocket(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	vec, vlen, flags, tsAddr := a.Pointer(1), min(a.Uint(2), abi.IOVMax), int(a.Int(3)), a.Pointer(4)
	var end time.Time
	if tsAddr != 0 {
		ts, err := copyInTimespec(t, tsAddr)
		if err != nil {
			return 0, err
		}
		end = time.Now().Add(toDuration(ts))
	}
	got := 0
	for i := range uintptr(vlen) {
		entry := vec + i*mmsghdrSize
		var n int
		if n, err = recvmsg(t, f, entry, flags); err != nil {
			break
		}
		l := uint32(n)
		if err = copyOutStruct(t, entry+msghdrSize, &l); err != nil {
			break
		}
		got++
		if flags&unix.MSG_WAITFORONE != 0 {
			flags |= unix.MSG_DONTWAIT
		}
		if tsAddr != 0 && !time.Now().Before(end) {
			break
		}
	}
	if tsAddr != 0 && got > 0 {
		left := max(time.Until(end), 0)
		ts := abi.Timespec{Sec: int64(left / time.Second), Nsec: int64(left % time.Second)}
		if err := copyOutStruct(t, tsAddr, &ts); err != nil {
			return 0, err
		}
	}
	if got > 0 {
		return uintptr(got), nil
	}
	return 0, err
}

// Setsockopt implements setsockopt(2): SOL_SOCKET options; a Unix
// socket has no options at other levels (EOPNOTSUPP).
func Setsockopt(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, s, ns, err := getSocket(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	level, name, optlen := a.Int(1), int(a.Int(2)), a.Int(4)
	if optlen < 0 {
		return 0, unix.EINVAL
	}
	if ns == nil && level != unix.SOL_SOCKET {
		return 0, unix.EOPNOTSUPP
	}
	// A Unix socket's options are 16 bytes at most, the network
	// stack's a page at most (TCP_CONGESTION, multicast requests): read
	// no more than that.
	limit := int32(16)
	if ns != nil {
		limit = 4096
	}
	val := make([]byte, min(optlen, limit))
	if n, err := t.CopyIn(a.Pointer(3), val); err != nil || n != len(val) {
		return 0, unix.EFAULT
	}
	if ns != nil && level == unix.SOL_SOCKET && name == unix.SO_ATTACH_FILTER && ns.Family() == unix.AF_PACKET {
		if val, err = copyInFilter(t, val); err != nil {
			return 0, err
		}
	}
	if ns != nil {
		return 0, ns.SetSockopt(caller(t), int(level), name, val)
	}
	return 0, s.SetSockopt(name, val, t.Credentials().HasCap(unix.CAP_NET_ADMIN))
}

// copyInFilter reads the program SO_ATTACH_FILTER's struct sock_fprog
// (fprog, as the caller passed it) points to: its struct sock_filter
// records, what the family takes as the option's value. The struct must
// be whole and the program 1 to BPF_MAXINSNS instructions long (EINVAL).
// Linux: net/core/filter.c, copy_bpf_fprog_from_user() and
// bpf_check_basics_ok().
func copyInFilter(t *kernel.Task, fprog []byte) ([]byte, error) {
	if len(fprog) != unix.SizeofSockFprog {
		return nil, unix.EINVAL
	}
	n := int(binary.LittleEndian.Uint16(fprog))
	addr := uintptr(binary.LittleEndian.Uint64(fprog[8:]))
	if addr == 0 || n == 0 || n > unix.BPF_MAXINSNS {
		return nil, unix.EINVAL
	}
	prog := make([]byte, n*unix.SizeofSockFilter)
	if k, err := t.CopyIn(addr, prog); err != nil || k != len(prog) {
		return nil, unix.EFAULT
	}
	return prog, nil
}

// Getsockopt implements getsockopt(2): the value is cut to the caller's
// length, which is set to what was written.
func Getsockopt(t *kernel.Task, a *kernel.SyscallArguments) (uintptr, error) {
	f, s, ns, err := getSocket(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	level, name, valAddr, lenAddr := a.Int(1), int(a.Int(2)), a.Pointer(3), a.Pointer(4)
	if ns == nil && level != unix.SOL_SOCKET {
		return 0, unix.EOPNOTSUPP
	}
	var n int32
	if err := copyInStruct(t, lenAddr, &n); err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, unix.EINVAL
	}
	var val []byte
	if ns != nil && level == unix.SOL_SOCKET && name == unix.SO_GET_FILTER && ns.Family() == unix.AF_PACKET {
		return 0, getFilter(t, ns, valAddr, lenAddr, n)
	}
	if ns != nil && level == unix.SOL_PACKET && name == unix.PACKET_HDRLEN && ns.Family() == unix.AF_PACKET {
		return 0, packetHeaderLen(t, ns, valAddr, lenAddr, n)
	}
	if ns != nil && level == unix.SOL_SOCKET && name == unix.SO_PEERNAME {
		if val, err = ns.PeerName(); err != nil {
			return 0, err
		}
		if int(n) < len(val) {
			return 0, unix.EINVAL
		}
	} else if ns != nil {
		if val, err = ns.GetSockopt(caller(t), int(level), name, int(n)); err != nil {
			return 0, err
		}
	} else if name == unix.SO_PEERNAME {
		// Linux refuses a buffer longer than the name.
		peer, err := s.PeerName()
		if err != nil {
			return 0, err
		}
		val = peer.Sockaddr()
		if int(n) > len(val) {
			return 0, unix.EINVAL
		}
	} else if val, err = s.GetSockopt(name); err != nil {
		return 0, err
	}
	n = min(n, int32(len(val)))
	if n > 0 {
		if k, err := t.CopyOut(valAddr, val[:n]); err != nil || k != int(n) {
			return 0, unix.EFAULT
		}
	}
	return 0, copyOutStruct(t, lenAddr, &n)
}

// getFilter is getsockopt(SO_GET_FILTER): the socket's filter, whose
// length the caller gives and is told in instructions, not bytes: 0 asks
// for the count alone; a buffer too short for the program is EINVAL.
// Linux: net/core/filter.c, sk_get_filter().
func getFilter(t *kernel.Task, s socket.Socket, valAddr, lenAddr uintptr, n int32) error {
	prog, err := s.GetSockopt(caller(t), unix.SOL_SOCKET, unix.SO_GET_FILTER, int(n))
	if err != nil {
		return err
	}
	count := int32(len(prog) / unix.SizeofSockFilter)
	if n != 0 && count != 0 {
		if n < count {
			return unix.EINVAL
		}
		if k, err := t.CopyOut(valAddr, prog); err != nil || k != len(prog) {
			return unix.EFAULT
		}
	}
	return copyOutStruct(t, lenAddr, &count)
}

// socketReadv and socketWritev are read(2), readv(2), write(2) and
// writev(2) on a socket as recvmsg and sendmsg without flags: one
// datagram across all the buffers, SO_RCVTIMEO and SO_SNDTIMEO, the
// caller's credentials, SIGPIPE for streams only, and a write of
// nothing sending an empty datagram. They report whether f was a
// socket. Write, readFile and writeFile are to call them first; until
// they do, the socket's FileImpl serves each buffer alone (see
// kernel/ipc/unix's package doc).
func socketReadv(t *kernel.Task, f *vfs.File, iovs []abi.Iovec) (uintptr, bool, error) {
	if ns, ok := socket.Of(f); ok {
		if !f.Readable() {
			return 0, true, unix.EBADF
		}
		_, n, err := netRecv(t, f, ns, iovs, 0)
		return uintptr(n), true, err
	}
	s, ok := unixsock.Of(f)
	if !ok {
		return 0, false, nil
	}
	if !f.Readable() {
		return 0, true, unix.EBADF
	}
	r, n, err := recv(t, f, s, iovs, 0)
	if err != nil {
		return 0, true, err
	}
	r.DropFiles()
	return uintptr(n), true, nil
}

func socketWritev(t *kernel.Task, f *vfs.File, iovs []abi.Iovec) (uintptr, bool, error) {
	_, isUnix := unixsock.Of(f)
	_, isNet := socket.Of(f)
	if !isUnix && !isNet {
		return 0, false, nil
	}
	if !f.Writable() {
		return 0, true, unix.EBADF
	}
	n, err := send(t, f, iovs, nil, nil, 0)
	return uintptr(n), true, err
}
