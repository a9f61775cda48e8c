package gofer

import (
	"sync"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/gofer/wire"
)

// Seeds: attributes from directory listings. Readdir asks the gofer for
// each entry's attributes with the listing (wire.ReaddirReq.Attrs), and
// keeps them as seeds, per directory and name, for the Lookup that
// usually follows (ls -l, find, a shell's globbing then stat): Lookup
// takes the seed and builds the child inode from it without a request,
// exactly as it would from an OpStat reply.
//
// Why a seed is as good as a fresh OpStat: the sandbox owns its root (see
// doc.go), so a file's attributes change only through an inode of it. A
// seed is taken (removed) by the first Lookup of its name; every change
// of the directory's names (create, link, unlink, rename in or out) drops
// all the directory's seeds, and a listing whose request raced such a
// change seeds nothing (gen); a name whose inode is alive when the
// listing comes back is not seeded (changes may go through that inode),
// and a Lookup that asked the gofer drops the name's seed. So between a
// seed's making and its use, no inode of its file exists through which
// the file could have changed. Files with several links are the
// exception, reachable through other names: they are never seeded.
//
// Memory: at most maxSeeds seeds per mounted export (some 200 bytes
// each); when more come, the directories least recently seeded or looked
// up in give theirs up, and a directory larger than the bound seeds its
// first maxSeeds entries.

// maxSeeds bounds a file system's seeds.
const maxSeeds = 16384

// seedCache is a file system's seeds. Its mutex guards every inode's
// seed fields (seeds, seedGen, seedPrev, seedNext); it is taken after
// FS.renameMu and before inode.childMu.
type seedCache struct {
	mu  sync.Mutex
	max int
	n   int
	// head is the directory most recently seeded or looked up in, tail
	// the least.
	head, tail *inode
}

// gen returns d's seed generation, to pass to add.
func (c *seedCache) gen(d *inode) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return d.seedGen
}

// addLocked seeds d with the attributes in entries, fs.renameMu held,
// unless d's names changed since gen was read.
func (c *seedCache) addLocked(d *inode, gen uint64, entries []wire.Dirent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d.seedGen != gen || d.deleted.Load() {
		return
	}
	for i := range entries {
		e := &entries[i]
		if !e.HasAttr || (e.Attr.Nlink > 1 && e.Attr.Type() != unix.S_IFDIR) {
			continue
		}
		if _, ok := d.seeds[e.Name]; ok {
			d.seeds[e.Name] = e.Attr
			continue
		}
		if d.childLocked(e.Name) != nil {
			continue
		}
		for c.n >= c.max && c.tail != nil && c.tail != d {
			c.dropLocked(c.tail)
		}
		if c.n >= c.max {
			break // d alone fills the cache
		}
		if d.seeds == nil {
			d.seeds = map[string]wire.Attr{}
			c.pushLocked(d)
		}
		d.seeds[e.Name] = e.Attr
		c.n++
	}
	if d.seeds != nil {
		c.touchLocked(d)
	}
}

// take removes and returns name's seed in d.
func (c *seedCache) take(d *inode, name string) (wire.Attr, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := d.seeds[name]
	if !ok {
		return wire.Attr{}, false
	}
	delete(d.seeds, name)
	c.n--
	if len(d.seeds) == 0 {
		c.removeLocked(d)
		d.seeds = nil
	} else {
		c.touchLocked(d)
	}
	return a, true
}

// forget drops name's seed in d, if any.
func (c *seedCache) forget(d *inode, name string) {
	c.take(d, name)
}

// invalidate drops all of d's seeds and fails the listings in flight:
// d's names changed.
func (c *seedCache) invalidate(d *inode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d.seedGen++
	if d.seeds != nil {
		c.dropLocked(d)
	}
}

// count returns how many seeds are kept.
func (c *seedCache) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// dropLocked drops all of d's seeds; d has some.
func (c *seedCache) dropLocked(d *inode) {
	c.n -= len(d.seeds)
	d.seeds = nil
	c.removeLocked(d)
}

func (c *seedCache) pushLocked(d *inode) {
	d.seedPrev, d.seedNext = nil, c.head
	if c.head != nil {
		c.head.seedPrev = d
	} else {
		c.tail = d
	}
	c.head = d
}

func (c *seedCache) removeLocked(d *inode) {
	if d.seedPrev != nil {
		d.seedPrev.seedNext = d.seedNext
	} else {
		c.head = d.seedNext
	}
	if d.seedNext != nil {
		d.seedNext.seedPrev = d.seedPrev
	} else {
		c.tail = d.seedPrev
	}
	d.seedPrev, d.seedNext = nil, nil
}

func (c *seedCache) touchLocked(d *inode) {
	if c.head != d {
		c.removeLocked(d)
		c.pushLocked(d)
	}
}
