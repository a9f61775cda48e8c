package gofer

import (
	"sync"

	"golang.org/x/sys/unix"
)

// Shared read-only descriptors. Reads are pread(2) at the offset the VFS
// keeps, so nothing of a host descriptor opened read-only belongs to one
// open file description: every read-only open of a file (O_RDONLY
// without O_SYNC, O_DSYNC or O_NOATIME, which change what the host does)
// uses the same one, its file's sharedFD. The first such open asks the
// gofer for it; while open files use it, it stays with its file; when the
// last is closed it goes idle, into a least-recently-used list of at most
// ClientOptions.IdleFDs per client, so that opening the file again (a
// shell reading /etc/passwd, a compiler its headers) needs no request at
// all. An idle descriptor pushed out of the list is closed. Files open
// for writing keep descriptors of their own, as before.
//
// Why a kept descriptor is still the right file: it belongs to the
// file's shared state (fileState), that is to the host file an inode was
// looked up as, never to a name. The sandbox owns its root (see doc.go):
// a name changes only through this client, and a name that comes to
// hold another file (a rename over it, an unlink and a new file)
// gets a new inode from Lookup or Create, with a new state and no
// descriptor, while the old inode is marked deleted and no longer opens
// (ENOENT, as before). A file whose last link goes through this client
// gives up its idle descriptor at once (fdCache.forget), so a host inode
// number reused by a new file can never meet it either. Writes through
// other descriptors of the file reach the same host inode, so the shared
// descriptor reads them, and truncations too.
//
// Bounds: the idle descriptors are at most IdleFDs (256 by default);
// those in use are at most one per file with read-only opens, never more
// than the open files themselves held before sharing. The gofer keeps no
// descriptor of what it donates.

// fdCache is a client's shared read-only descriptors. Its mutex is a
// leaf: it guards every fileState.ro and roGone and the sharedFDs'
// fields, and no other lock is taken while it is held.
type fdCache struct {
	mu sync.Mutex
	// max is the idle descriptors kept at most (0: none).
	max  int
	idle int
	// head is the most recently used idle descriptor, tail the least.
	head, tail *sharedFD
	// closed is set by Client.Close: idle descriptors are no longer
	// kept.
	closed bool
}

// sharedFD is a host descriptor of a regular file, opened read-only and
// shared by its read-only open files. Its fields are guarded by
// fdCache.mu; fd is fixed.
type sharedFD struct {
	fd int
	// st is the file whose descriptor it is; nil once detached (its last
	// user closes it then).
	st    *fileState
	users int
	// prev and next link the idle list (users == 0).
	prev, next *sharedFD
}

// get returns s's shared descriptor with a new user, or nil if it has
// none.
func (c *fdCache) get(s *fileState) *sharedFD {
	c.mu.Lock()
	defer c.mu.Unlock()
	sh := s.ro
	if sh == nil {
		return nil
	}
	if sh.users == 0 {
		c.removeLocked(sh)
	}
	sh.users++
	return sh
}

// add makes fd, just opened read-only, s's shared descriptor with one
// user. If a concurrent open made one first, fd is closed and that one
// is returned instead.
func (c *fdCache) add(s *fileState, fd int) *sharedFD {
	c.mu.Lock()
	if sh := s.ro; sh != nil {
		if sh.users == 0 {
			c.removeLocked(sh)
		}
		sh.users++
		c.mu.Unlock()
		unix.Close(fd)
		return sh
	}
	sh := &sharedFD{fd: fd, users: 1}
	if !s.roGone {
		sh.st, s.ro = s, sh
	}
	c.mu.Unlock()
	return sh
}

// put ends a use of sh. When its last user leaves, it goes idle, or is
// closed if it is detached or nothing is kept; the least recently used
// idle descriptor beyond the bound is closed.
func (c *fdCache) put(sh *sharedFD) {
	closeFD, evicted := -1, -1
	c.mu.Lock()
	sh.users--
	if sh.users == 0 {
		if sh.st == nil || c.max <= 0 || c.closed {
			c.detachLocked(sh)
			closeFD = sh.fd
		} else {
			c.pushLocked(sh)
			if c.idle > c.max {
				v := c.tail
				c.removeLocked(v)
				c.detachLocked(v)
				evicted = v.fd
			}
		}
	}
	c.mu.Unlock()
	// Detached descriptors are no one's: close them outside the lock.
	if closeFD >= 0 {
		unix.Close(closeFD)
	}
	if evicted >= 0 {
		unix.Close(evicted)
	}
}

// forget detaches s's shared descriptor, if any: closed now when idle,
// by its last user otherwise; none is kept for s from then on. For a
// file whose last link is gone.
func (c *fdCache) forget(s *fileState) {
	c.mu.Lock()
	s.roGone = true
	sh := s.ro
	if sh == nil {
		c.mu.Unlock()
		return
	}
	c.detachLocked(sh)
	fd := -1
	if sh.users == 0 {
		c.removeLocked(sh)
		fd = sh.fd
	}
	c.mu.Unlock()
	if fd >= 0 {
		unix.Close(fd)
	}
}

// closeAll closes the idle descriptors and keeps none from then on; those
// in use close with their last user.
func (c *fdCache) closeAll() {
	c.mu.Lock()
	c.closed = true
	var fds []int
	for c.tail != nil {
		v := c.tail
		c.removeLocked(v)
		c.detachLocked(v)
		fds = append(fds, v.fd)
	}
	c.mu.Unlock()
	closeFDs(fds)
}

// idleCount returns how many idle descriptors are kept.
func (c *fdCache) idleCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.idle
}

// detachLocked parts sh from its file.
func (c *fdCache) detachLocked(sh *sharedFD) {
	if sh.st != nil && sh.st.ro == sh {
		sh.st.ro = nil
	}
	sh.st = nil
}

// pushLocked puts sh at the head of the idle list.
func (c *fdCache) pushLocked(sh *sharedFD) {
	sh.prev, sh.next = nil, c.head
	if c.head != nil {
		c.head.prev = sh
	} else {
		c.tail = sh
	}
	c.head = sh
	c.idle++
}

// removeLocked takes sh, which is idle, off the idle list.
func (c *fdCache) removeLocked(sh *sharedFD) {
	if sh.prev != nil {
		sh.prev.next = sh.next
	} else {
		c.head = sh.next
	}
	if sh.next != nil {
		sh.next.prev = sh.prev
	} else {
		c.tail = sh.prev
	}
	sh.prev, sh.next = nil, nil
	c.idle--
}
