package vfs

import (
	"sync"

	"golang.org/x/sys/unix"
)

// This file is the VFS side of Unix domain sockets bound to a path: bind
// makes a socket file through the file system's normal create path, and
// the endpoint is found again from the file's FileID, as Linux finds a
// socket from its inode (net/unix/af_unix.c, unix_bind_bsd() and
// unix_find_bsd()). The endpoints themselves are opaque here (the
// socket implementation lives in kernel/ipc/unix, which the VFS does not
// import).
//
// The registry is keyed by the VFS and the FileID together, in one
// table for the process: a VFS is one sandbox, and entries go when their
// socket closes, so the table holds only live bindings.

type socketKey struct {
	v  *VFS
	id FileID
}

// boundSockets maps socket files to the endpoints bound to them.
var boundSockets struct {
	mu sync.Mutex
	m  map[socketKey]any
}

// BindSocket creates the socket file name (relative to start) for a
// bind(2) of a Unix socket, with mode's permission bits less the umask,
// and binds endpoint to it. A name that exists, even as a dangling
// symbolic link, fails with EADDRINUSE. The returned unbind forgets the
// binding (when the socket closes) but leaves the file, as on Linux.
func (v *VFS) BindSocket(ctx *Context, start Path, name string, mode uint32, endpoint any) (unbind func(), err error) {
	var created Inode
	err = v.create(ctx, start, name, false, unix.S_IFSOCK|mode&0o777, 0, func(di DirInode, last string, attrs NewAttrs) (Inode, error) {
		inode, err := di.Create(ctx, last, attrs)
		created = inode
		return inode, err
	})
	if err == unix.EEXIST {
		return nil, unix.EADDRINUSE
	}
	if err != nil {
		return nil, err
	}
	st, err := created.Stat(ctx, unix.STATX_INO)
	if err != nil {
		return nil, err
	}
	key := socketKey{v, IDOf(&st)}
	boundSockets.mu.Lock()
	if boundSockets.m == nil {
		boundSockets.m = map[socketKey]any{}
	}
	// A stale binding (a file system that reuses inode numbers after the
	// old file was removed) is replaced: the old name is gone.
	boundSockets.m[key] = endpoint
	boundSockets.mu.Unlock()
	return func() {
		boundSockets.mu.Lock()
		defer boundSockets.mu.Unlock()
		if boundSockets.m[key] == endpoint {
			delete(boundSockets.m, key)
		}
	}, nil
}

// BoundSocket returns the endpoint bound to the socket file name
// (relative to start, following symbolic links), for connect(2) and
// sendto(2). The caller needs write permission on the file; a file that
// is not a socket, or a socket file nothing is bound to (its socket
// closed, or made by mknod), fails with ECONNREFUSED.
// Linux: net/unix/af_unix.c, unix_find_bsd().
func (v *VFS) BoundSocket(ctx *Context, start Path, name string) (any, error) {
	p, err := v.Resolve(ctx, start, name, 0)
	if err != nil {
		return nil, err
	}
	if err := v.Permission(ctx, p, MayWrite); err != nil {
		return nil, err
	}
	if p.Dentry.typ != unix.S_IFSOCK {
		return nil, unix.ECONNREFUSED
	}
	st, err := p.Dentry.inode.Stat(ctx, unix.STATX_INO)
	if err != nil {
		return nil, err
	}
	boundSockets.mu.Lock()
	defer boundSockets.mu.Unlock()
	e, ok := boundSockets.m[socketKey{v, IDOf(&st)}]
	if !ok {
		return nil, unix.ECONNREFUSED
	}
	return e, nil
}
