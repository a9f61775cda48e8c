package gofer

import (
	"fmt"
	"sync"
	"sync/atomic"
	"weak"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/gofer/wire"
	"magawa/kernel/memfile"
	"magawa/kernel/vfs"
)

// MountOptions tune one mounted export.
type MountOptions struct {
	// Dev is the device number (unix.Mkdev) every file of the mount
	// reports; zero picks an anonymous one.
	Dev uint64
}

// FS is one export of a gofer, mounted: a vfs.FileSystem.
type FS struct {
	c        *Client
	export   uint32
	readOnly bool
	dev      uint64
	root     *inode

	// renameMu guards every inode's names (parent and name, extra) and
	// every directory's children. Requests that name an object by path
	// hold it for reading from building the path to the reply; Rename
	// holds it for writing, so no request sends a path a rename has made
	// stale. Ordered before stateMu and the Client's locks.
	renameMu sync.RWMutex

	// inoMu guards the inode-number mapping (virtualIno).
	inoMu    sync.Mutex
	rootDev  uint64
	devIndex map[uint64]uint64
	inoMap   map[wire.FileKey]uint64
	nextIno  uint64

	// linksMu guards links: the shared state of files known by more than
	// one name, so every name sees one set of attributes.
	linksMu sync.Mutex
	links   map[wire.FileKey]weak.Pointer[fileState]

	// seeds are attributes from listings, for Lookup (seeds.go).
	seeds seedCache
}

// anonMinor hands out device minors (major 0) for mounts without
// MountOptions.Dev, from a range apart from tmpfs's.
var anonMinor atomic.Uint32

func init() { anonMinor.Store(0x400) }

// Mount returns export number export of the gofer as a file system.
func (c *Client) Mount(export int, opts MountOptions) (*FS, error) {
	if export < 0 || uint64(export) > 1<<31 {
		return nil, fmt.Errorf("gofer: bad export %d", export)
	}
	var r wire.AttachReply
	if _, err := c.call(wire.OpAttach, uint32(export), &wire.Attach{}, &r, false); err != nil {
		return nil, fmt.Errorf("gofer: attaching export %d: %w", export, err)
	}
	if r.Root.Type() != unix.S_IFDIR {
		return nil, fmt.Errorf("gofer: export %d is not a directory", export)
	}
	dev := opts.Dev
	if dev == 0 {
		dev = unix.Mkdev(0, anonMinor.Add(1))
	}
	fs := &FS{
		c:        c,
		export:   uint32(export),
		readOnly: r.ReadOnly,
		dev:      dev,
		rootDev:  r.Root.Dev,
		devIndex: map[uint64]uint64{},
		inoMap:   map[wire.FileKey]uint64{},
		links:    map[wire.FileKey]weak.Pointer[fileState]{},
		seeds:    seedCache{max: maxSeeds},
	}
	fs.root = &inode{fs: fs, typ: unix.S_IFDIR, st: fs.newState(&r.Root)}
	fs.root.eofPos.Store(-1)
	return fs, nil
}

// Root implements vfs.FileSystem.
func (fs *FS) Root() vfs.Inode { return fs.root.vfsInode() }

// Type implements vfs.FileSystem.
func (fs *FS) Type() string { return "gofer" }

// Options implements vfs.FileSystem.
func (fs *FS) Options() string { return fmt.Sprintf("export=%d", fs.export) }

// Release implements vfs.FileSystem. The Client, shared by the gofer's
// exports, is closed by its owner.
func (fs *FS) Release() {}

// ReadOnly reports whether the gofer serves the export read-only (the
// mount should then be read-only too).
func (fs *FS) ReadOnly() bool { return fs.readOnly }

// Dev returns the device number every file of the mount reports.
func (fs *FS) Dev() uint64 { return fs.dev }

// Inode numbers. The sandbox sees one device per mount, but an export
// may span several host file systems (an export of / with /boot and
// /home mounted), whose inode numbers overlap. Numbers of the export
// root's host device pass through unchanged; those of another device
// get the device's index (1-254, in order of appearance) in the top
// byte. What does not fit (a number with its top byte set, a 255th
// device) is numbered from a counter, remembered per host file.
const (
	inoDevShift = 56
	inoDevMax   = 254
	inoCounted  = uint64(0xff) << inoDevShift
)

func (fs *FS) virtualIno(dev, ino uint64) uint64 {
	if dev == fs.rootDev && ino>>inoDevShift == 0 {
		return ino
	}
	fs.inoMu.Lock()
	defer fs.inoMu.Unlock()
	idx, ok := fs.devIndex[dev]
	if !ok && len(fs.devIndex) < inoDevMax && dev != fs.rootDev {
		idx = uint64(len(fs.devIndex) + 1)
		fs.devIndex[dev] = idx
		ok = true
	}
	if ok && ino>>inoDevShift == 0 {
		return idx<<inoDevShift | ino
	}
	k := wire.FileKey{Dev: dev, Ino: ino}
	if v, ok := fs.inoMap[k]; ok {
		return v
	}
	fs.nextIno++
	v := inoCounted | fs.nextIno
	fs.inoMap[k] = v
	return v
}

// fileState is what all names (inodes) of one host file share: its
// attributes and its open host descriptors.
type fileState struct {
	key wire.FileKey
	ino uint64 // the sandbox's inode number

	// mu guards the fields below; it is a leaf.
	mu   sync.Mutex
	attr wire.Attr
	// valid is cleared when the attributes may be stale (a change
	// whose outcome is unknown); Stat then asks the gofer again.
	valid bool
	// open are the file's open descriptions; writers among them make
	// Stat ask the host file itself, since writes change size and times
	// without the gofer seeing them.
	open []*regularFile

	// ro is the file's shared read-only descriptor, guarded by the
	// client's fdCache.mu (not mu): fdcache.go. roGone is set once the
	// file has no link left: no descriptor is kept for it then.
	ro     *sharedFD
	roGone bool

	// mf is the memory file the page cache takes its pages from; nil
	// when the client has none (files are then not mappable shared).
	mf *memfile.File
	// cacheMu and cache are the file's page cache while it is mapped
	// shared (pagecache.go). cache is set and cleared with cacheMu held
	// for writing, and read atomically by Stat for the size.
	cacheMu sync.RWMutex
	cache   atomic.Pointer[pageCache]
}

// newState returns the state of the host file a describes: the one
// already known for a file with several links, else a new one.
func (fs *FS) newState(a *wire.Attr) *fileState {
	if a.Type() == unix.S_IFDIR || a.Nlink <= 1 {
		return fs.makeState(a)
	}
	fs.linksMu.Lock()
	defer fs.linksMu.Unlock()
	if s := fs.links[a.Key()].Value(); s != nil {
		s.set(a)
		return s
	}
	s := fs.makeState(a)
	fs.links[a.Key()] = weak.Make(s)
	return s
}

func (fs *FS) makeState(a *wire.Attr) *fileState {
	return &fileState{key: a.Key(), ino: fs.virtualIno(a.Dev, a.Ino), attr: *a, valid: true, mf: fs.c.mf}
}

// shareState registers s as the state of a file that now has more than
// one link.
func (fs *FS) shareState(s *fileState) {
	fs.linksMu.Lock()
	defer fs.linksMu.Unlock()
	if cur := fs.links[s.key].Value(); cur == nil {
		fs.links[s.key] = weak.Make(s)
	}
}

// forgetState drops s from the shared states once its file is gone, so
// that a new file reusing the host inode number does not inherit it.
func (fs *FS) forgetState(s *fileState) {
	fs.linksMu.Lock()
	defer fs.linksMu.Unlock()
	if fs.links[s.key].Value() == s {
		delete(fs.links, s.key)
	}
}

// set stores attributes from the gofer, if they are of this file.
func (s *fileState) set(a *wire.Attr) {
	if a.Key() != s.key {
		return
	}
	s.mu.Lock()
	s.attr = *a
	s.valid = true
	s.mu.Unlock()
}

// invalidate makes the next Stat ask the gofer.
func (s *fileState) invalidate() {
	s.mu.Lock()
	s.valid = false
	s.mu.Unlock()
}

// statxAttrs are the statx attribute bits passed through from the host;
// STATX_ATTR_MOUNT_ROOT and the like describe the host's mounts and are
// the VFS's to set.
const statxAttrs = unix.STATX_ATTR_COMPRESSED | unix.STATX_ATTR_IMMUTABLE | unix.STATX_ATTR_APPEND |
	unix.STATX_ATTR_NODUMP | unix.STATX_ATTR_ENCRYPTED | unix.STATX_ATTR_VERITY

// statx converts attributes to the sandbox's statx record.
func (fs *FS) statx(s *fileState, a *wire.Attr) unix.Statx_t {
	ts := func(t wire.Timestamp) unix.StatxTimestamp { return unix.StatxTimestamp{Sec: t.Sec, Nsec: t.Nsec} }
	return unix.Statx_t{
		Mask:            a.Mask & (unix.STATX_BASIC_STATS | unix.STATX_BTIME),
		Blksize:         a.Blksize,
		Attributes:      a.Attributes & statxAttrs,
		Nlink:           a.Nlink,
		Uid:             fs.c.uidMap.FromHost(a.UID),
		Gid:             fs.c.gidMap.FromHost(a.GID),
		Mode:            uint16(a.Mode),
		Ino:             s.ino,
		Size:            a.Size,
		Blocks:          a.Blocks,
		Attributes_mask: a.AttributesMask & statxAttrs,
		Atime:           ts(a.Atime),
		Btime:           ts(a.Btime),
		Ctime:           ts(a.Ctime),
		Mtime:           ts(a.Mtime),
		Rdev_major:      unix.Major(a.Rdev),
		Rdev_minor:      unix.Minor(a.Rdev),
		Dev_major:       unix.Major(fs.dev),
		Dev_minor:       unix.Minor(fs.dev),
	}
}
