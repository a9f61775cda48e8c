package unix

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// Namespace is the sandbox's space of socket names: the VFS that path
// names are bound in, and the abstract names (Linux keeps those per
// network namespace; a sandbox has one).
type Namespace struct {
	vfs     *vfs.VFS
	lastIno atomic.Uint64

	mu sync.Mutex
	// abstract holds the bound abstract names. Linux hashes them with
	// the socket type, so one name may be bound once per type, and a
	// connect finds only a socket of its own type.
	abstract map[abstractKey]*Socket
	// nextAuto is the next autobind number to try.
	nextAuto uint32
}

type abstractKey struct {
	name Address
	typ  int
}

// NewNamespace returns an empty namespace whose path names live in v.
func NewNamespace(v *vfs.VFS) *Namespace {
	ns := &Namespace{vfs: v, abstract: map[abstractKey]*Socket{}, nextAuto: rand.Uint32()}
	// Inode numbers of a few digits confuse tools that match
	// socket:[N] links by length (net-tools' netstat -p skips them);
	// Linux's are never that small. The Internet sockets' counter starts
	// higher still (kernel/net/inet).
	ns.lastIno.Store(1 << 20)
	return ns
}

// bindAbstract binds s to name, EADDRINUSE if a socket of its type has
// it.
func (ns *Namespace) bindAbstract(name Address, s *Socket) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	k := abstractKey{name, s.typ}
	if _, ok := ns.abstract[k]; ok {
		return unix.EADDRINUSE
	}
	ns.abstract[k] = s
	return nil
}

// autobind binds s to a free name of the autobind form, ENOSPC when all
// are taken.
func (ns *Namespace) autobind(s *Socket) (Address, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for range 1 << 20 {
		name := autobindName(ns.nextAuto)
		ns.nextAuto++
		k := abstractKey{name, s.typ}
		if _, ok := ns.abstract[k]; !ok {
			ns.abstract[k] = s
			return name, nil
		}
	}
	return "", unix.ENOSPC
}

func (ns *Namespace) unbindAbstract(name Address, s *Socket) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	k := abstractKey{name, s.typ}
	if ns.abstract[k] == s {
		delete(ns.abstract, k)
	}
}

// lookup finds the socket bound to addr for a connect or sendto of a
// socket of type typ: ENOENT and friends from the path walk,
// ECONNREFUSED when nothing of that type is bound there, EPROTOTYPE for
// a path socket of another type. Linux: net/unix/af_unix.c,
// unix_find_other().
func (ns *Namespace) lookup(ctx *vfs.Context, addr Address, typ int) (*Socket, error) {
	if addr == "" || addr.IsAbstract() {
		ns.mu.Lock()
		defer ns.mu.Unlock()
		s, ok := ns.abstract[abstractKey{addr, typ}]
		if !ok {
			return nil, unix.ECONNREFUSED
		}
		return s, nil
	}
	e, err := ns.vfs.BoundSocket(ctx, ctx.Cwd, string(addr))
	if err != nil {
		return nil, err
	}
	s, ok := e.(*Socket)
	if !ok {
		return nil, unix.ECONNREFUSED
	}
	if s.typ != typ {
		return nil, unix.EPROTOTYPE
	}
	return s, nil
}
