package devpts

import (
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/tty"
	"magawa/kernel/vfs"
)

// devptsMagic is devpts's f_type. Linux: include/uapi/linux/magic.h.
const devptsMagic = 0x1cd1

// Inode numbers, as Linux's: the root 1, ptmx 2, slave N is N+3.
const (
	rootIno = 1
	ptmxIno = 2
)

// anonMinor hands out the minors of the instances' anonymous device
// numbers (major 0). It starts where tmpfs's do not reach in practice;
// a VFS-wide allocator should replace both.
var anonMinor atomic.Uint32

func init() { anonMinor.Store(0x200) }

// FS is a devpts instance (a vfs.FileSystem).
type FS struct {
	v        *vfs.VFS
	kernel   tty.Kernel
	opts     Options
	devMinor uint32
	root     *rootDir
	ptmx     *node

	mu sync.Mutex
	// ptys are the pairs by number, from the opening of ptmx until both
	// sides are closed.
	ptys map[uint32]*pty
	// registered are the slave numbers registered with the VFS.
	registered map[uint32]bool
}

// pty is one pair: its terminal and, while the master is open, its node.
type pty struct {
	t    *tty.Terminal
	node *node
}

// New returns an instance whose slaves the VFS v opens (their device
// numbers are registered with v as pairs are made) and whose terminals
// signal through k (may be nil).
func New(v *vfs.VFS, k tty.Kernel, opts Options) *FS {
	if opts.Max <= 0 || opts.Max > MaxPTYs {
		opts.Max = MaxPTYs
	}
	fs := &FS{
		v:          v,
		kernel:     k,
		opts:       opts,
		devMinor:   anonMinor.Add(1),
		ptys:       map[uint32]*pty{},
		registered: map[uint32]bool{},
	}
	now := time.Now()
	fs.root = &rootDir{fs.newNode(rootIno, unix.S_IFDIR|0o755, 0, 0, 0, now)}
	fs.ptmx = fs.newNode(ptmxIno, unix.S_IFCHR|opts.PTMXMode, 0, 0, unix.Mkdev(tty.PTMXMajor, tty.PTMXMinor), now)
	return fs
}

// Root implements vfs.FileSystem.
func (fs *FS) Root() vfs.Inode { return fs.root }

// Type implements vfs.FileSystem.
func (fs *FS) Type() string { return "devpts" }

// Options implements vfs.FileSystem.
func (fs *FS) Options() string { return fs.opts.String() }

// Release implements vfs.FileSystem. Open pairs keep working; ptmx (any
// node numbered 5:2) still opens pairs here, as the instance of the VFS.
func (fs *FS) Release() {}

// Dev returns the device number every inode reports.
func (fs *FS) Dev() uint64 { return unix.Mkdev(0, fs.devMinor) }

// OpenMaster makes a new pair and returns its master (opening /dev/ptmx):
// the slave gets the smallest free number, and a node owned by uid= and
// gid= or else the caller, with mode=; it starts locked. ENOSPC when
// max= pairs exist. Linux: drivers/tty/pty.c, ptmx_open();
// fs/devpts/inode.c, devpts_new_index() and devpts_pty_new().
func (fs *FS) OpenMaster(ctx *vfs.Context, flags int) (vfs.FileImpl, error) {
	_, m, err := fs.NewPair(ctx, flags)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// NewPair is OpenMaster returning the terminal too, for the kernel's own
// use (a console for the sandbox's first process).
func (fs *FS) NewPair(ctx *vfs.Context, flags int) (*tty.Terminal, *tty.Master, error) {
	fs.mu.Lock()
	index, ok := fs.freeIndexLocked()
	if !ok {
		fs.mu.Unlock()
		return nil, nil, unix.ENOSPC
	}
	var uid, gid uint32
	if ctx != nil && ctx.Creds != nil {
		uid, gid = ctx.Creds.UID, ctx.Creds.GID
	}
	if fs.opts.SetUID {
		uid = fs.opts.UID
	}
	if fs.opts.SetGID {
		gid = fs.opts.GID
	}
	p := &pty{}
	p.node = fs.newNode(uint64(index)+3, unix.S_IFCHR|fs.opts.Mode, uid, gid, unix.Mkdev(tty.SlaveMajor, index), time.Now())
	t, m := tty.New(index, flags, fs.kernel, tty.Hooks{
		MasterClosed: func() { fs.masterClosed(index, p) },
		Released:     func() { fs.released(index, p) },
		StatSlave:    func(st *unix.Stat_t) bool { return fs.statSlave(p, st) },
	})
	p.t = t
	fs.ptys[index] = p
	register := !fs.registered[index]
	fs.registered[index] = true
	fs.mu.Unlock()
	if register && fs.v != nil {
		fs.v.RegisterCharDevice(tty.SlaveMajor, index, func(ctx *vfs.Context, flags int) (vfs.FileImpl, error) {
			return fs.openSlave(index, ctx, flags)
		})
	}
	return t, m, nil
}

// freeIndexLocked returns the smallest number no pair has.
func (fs *FS) freeIndexLocked() (uint32, bool) {
	for i := 0; i < fs.opts.Max; i++ {
		if _, used := fs.ptys[uint32(i)]; !used {
			return uint32(i), true
		}
	}
	return 0, false
}

// openSlave opens slave index (its node, or any node numbered 136:index).
// A number without a pair fails with EIO, as Linux's does when the
// master is not open.
func (fs *FS) openSlave(index uint32, ctx *vfs.Context, flags int) (vfs.FileImpl, error) {
	fs.mu.Lock()
	p := fs.ptys[index]
	fs.mu.Unlock()
	if p == nil {
		return nil, unix.EIO
	}
	s, err := p.t.OpenSlave(ctx, flags, false)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Terminal returns pair index's terminal, or nil.
func (fs *FS) Terminal(index uint32) *tty.Terminal {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if p := fs.ptys[index]; p != nil {
		return p.t
	}
	return nil
}

func (fs *FS) masterClosed(index uint32, p *pty) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.ptys[index] == p {
		p.node = nil
	}
}

func (fs *FS) released(index uint32, p *pty) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.ptys[index] == p {
		delete(fs.ptys, index)
	}
}

// statSlave describes p's node, while it has one.
func (fs *FS) statSlave(p *pty, st *unix.Stat_t) bool {
	fs.mu.Lock()
	n := p.node
	fs.mu.Unlock()
	if n == nil {
		return false
	}
	sx, _ := n.Stat(nil, unix.STATX_BASIC_STATS)
	*st = vfs.StatFromStatx(&sx)
	return true
}

// lookup returns the child name of the root: ptmx or a live slave's node.
func (fs *FS) lookup(name string) (*node, bool) {
	if name == "ptmx" {
		return fs.ptmx, true
	}
	n, err := strconv.ParseUint(name, 10, 32)
	if err != nil || strconv.FormatUint(n, 10) != name {
		return nil, false // not a number as devpts writes them
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if p := fs.ptys[uint32(n)]; p != nil && p.node != nil {
		return p.node, true
	}
	return nil, false
}

// slaves returns the numbers of the visible slave nodes, in order.
func (fs *FS) slaves() []uint32 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var ids []uint32
	for i, p := range fs.ptys {
		if p.node != nil {
			ids = append(ids, i)
		}
	}
	slices.Sort(ids)
	return ids
}

// node is an inode of the instance: the root, ptmx or a slave.
type node struct {
	fs   *FS
	ino  uint64
	rdev uint64

	mu    sync.Mutex
	mode  uint32
	uid   uint32
	gid   uint32
	atime unix.Timespec
	mtime unix.Timespec
	ctime unix.Timespec
}

func (fs *FS) newNode(ino uint64, mode, uid, gid uint32, rdev uint64, now time.Time) *node {
	ts := unix.NsecToTimespec(now.UnixNano())
	return &node{fs: fs, ino: ino, rdev: rdev, mode: mode, uid: uid, gid: gid, atime: ts, mtime: ts, ctime: ts}
}

func statxTime(ts unix.Timespec) unix.StatxTimestamp {
	return unix.StatxTimestamp{Sec: ts.Sec, Nsec: uint32(ts.Nsec)}
}

// Stat implements vfs.Inode.
func (n *node) Stat(ctx *vfs.Context, mask uint32) (unix.Statx_t, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	nlink := uint32(1)
	if n.mode&unix.S_IFMT == unix.S_IFDIR {
		nlink = 2
	}
	return unix.Statx_t{
		Mask:       unix.STATX_BASIC_STATS,
		Blksize:    1024,
		Nlink:      nlink,
		Uid:        n.uid,
		Gid:        n.gid,
		Mode:       uint16(n.mode),
		Ino:        n.ino,
		Atime:      statxTime(n.atime),
		Mtime:      statxTime(n.mtime),
		Ctime:      statxTime(n.ctime),
		Rdev_major: unix.Major(n.rdev),
		Rdev_minor: unix.Minor(n.rdev),
		Dev_major:  0,
		Dev_minor:  n.fs.devMinor,
	}, nil
}

// Open implements vfs.Inode: the VFS opens device nodes by number and
// directories itself, so it never asks.
func (n *node) Open(ctx *vfs.Context, flags int) (vfs.FileImpl, error) {
	return nil, unix.ENXIO
}

// SetStat implements vfs.SetStatInode: chmod and chown of the nodes
// (grantpt(3) of old C libraries sets the slave's owner and mode).
func (n *node) SetStat(ctx *vfs.Context, attr *vfs.SetAttr) error {
	if attr.Mask&unix.STATX_SIZE != 0 {
		return unix.EINVAL
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	now := unix.NsecToTimespec(time.Now().UnixNano())
	if attr.Mask&unix.STATX_MODE != 0 {
		n.mode = n.mode&unix.S_IFMT | attr.Mode&0o7777
		n.ctime = now
	}
	if attr.Mask&unix.STATX_UID != 0 {
		n.uid = attr.UID
		n.ctime = now
	}
	if attr.Mask&unix.STATX_GID != 0 {
		n.gid = attr.GID
		n.ctime = now
	}
	if attr.Mask&unix.STATX_ATIME != 0 {
		n.atime = attr.Atime
	}
	if attr.Mask&unix.STATX_MTIME != 0 {
		n.mtime = attr.Mtime
	}
	return nil
}

// Statfs implements vfs.StatfsInode.
func (n *node) Statfs(ctx *vfs.Context) (unix.Statfs_t, error) {
	return unix.Statfs_t{Type: devptsMagic, Bsize: 4096, Namelen: 255, Frsize: 4096}, nil
}

// rootDir is the instance's root directory.
type rootDir struct{ *node }

// Lookup implements vfs.DirInode.
func (d *rootDir) Lookup(ctx *vfs.Context, name string) (vfs.Inode, error) {
	if n, ok := d.fs.lookup(name); ok {
		return n, nil
	}
	return nil, unix.ENOENT
}

// Revalidate implements vfs.Revalidator: slave nodes come and go with
// their pairs, without the VFS knowing.
func (d *rootDir) Revalidate(ctx *vfs.Context, name string, child vfs.Inode) bool {
	n, ok := d.fs.lookup(name)
	return ok && vfs.Inode(n) == child
}

// Readdir implements vfs.DirInode: ".", "..", "ptmx", then the slaves in
// numeric order; the position of slave N is N+3, so a listing resumes
// right whatever came and went.
func (d *rootDir) Readdir(ctx *vfs.Context, pos int64, emit func(vfs.Dirent) bool) error {
	fixed := []vfs.Dirent{
		{Name: ".", Ino: rootIno, Type: unix.DT_DIR, Next: 1},
		{Name: "..", Ino: rootIno, Type: unix.DT_DIR, Next: 2},
		{Name: "ptmx", Ino: ptmxIno, Type: unix.DT_CHR, Next: 3},
	}
	for ; pos >= 0 && pos < int64(len(fixed)); pos++ {
		if !emit(fixed[pos]) {
			return nil
		}
	}
	for _, i := range d.fs.slaves() {
		if int64(i)+3 < pos {
			continue
		}
		e := vfs.Dirent{Name: strconv.FormatUint(uint64(i), 10), Ino: uint64(i) + 3, Type: unix.DT_CHR, Next: int64(i) + 4}
		if !emit(e) {
			return nil
		}
	}
	return nil
}

// The directory's contents are the pairs': nothing can be made or
// removed in it (Linux's devpts root has no such operations: EPERM).

// Create implements vfs.DirInode.
func (d *rootDir) Create(ctx *vfs.Context, name string, attrs vfs.NewAttrs) (vfs.Inode, error) {
	return nil, unix.EPERM
}

// Mkdir implements vfs.DirInode.
func (d *rootDir) Mkdir(ctx *vfs.Context, name string, attrs vfs.NewAttrs) (vfs.Inode, error) {
	return nil, unix.EPERM
}

// Symlink implements vfs.DirInode.
func (d *rootDir) Symlink(ctx *vfs.Context, name, target string, attrs vfs.NewAttrs) (vfs.Inode, error) {
	return nil, unix.EPERM
}

// Link implements vfs.DirInode.
func (d *rootDir) Link(ctx *vfs.Context, name string, target vfs.Inode) error { return unix.EPERM }

// Unlink implements vfs.DirInode.
func (d *rootDir) Unlink(ctx *vfs.Context, name string) error { return unix.EPERM }

// Rmdir implements vfs.DirInode.
func (d *rootDir) Rmdir(ctx *vfs.Context, name string) error { return unix.EPERM }

// Rename implements vfs.DirInode.
func (d *rootDir) Rename(ctx *vfs.Context, oldName string, newDir vfs.DirInode, newName string, flags uint32) error {
	return unix.EPERM
}
