package vfs

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// OpenHow is openat2's struct open_how: open(2) flags, the mode for a
// created file, and RESOLVE_* flags.
type OpenHow struct {
	Flags   int
	Mode    uint32
	Resolve uint64
}

// fileFlagsKept are the open flags a file description remembers.
const fileFlagsKept = unix.O_ACCMODE | unix.O_APPEND | unix.O_NONBLOCK | unix.O_DIRECT |
	unix.O_NOATIME | unix.O_ASYNC | unix.O_PATH | unix.O_DIRECTORY | OLargefile |
	unix.O_DSYNC | unix.O_SYNC | unix.O_NOFOLLOW

// OLargefile is the kernel's O_LARGEFILE, which 64-bit Linux sets on
// every file it opens by name (x/sys/unix has the C library's 0 on
// amd64). Linux: include/uapi/asm-generic/fcntl.h, force_o_largefile().
const OLargefile = 0o100000

// ReopenImpl is implemented by files without a path that can be opened
// again through /proc/[pid]/fd/N (a pipe opens a new description of the
// same pipe).
type ReopenImpl interface {
	Reopen(ctx *Context, flags int) (FileImpl, error)
}

// Open opens name (relative to start) as open(2) and openat2(2) do.
// Linux: fs/namei.c, path_openat() and do_open(). A file system that
// finds the inode gone between the lookup and the open (a rename over
// it) answers ESTALE, and the lookup is done again, as Linux retries
// with LOOKUP_REVAL.
func (v *VFS) Open(ctx *Context, start Path, name string, how OpenHow) (*File, error) {
	for try := 0; ; try++ {
		f, err := v.open(ctx, start, name, how)
		if err != unix.ESTALE || try == 3 {
			return f, err
		}
	}
}

func (v *VFS) open(ctx *Context, start Path, name string, how OpenHow) (*File, error) {
	flags := how.Flags
	resolve := how.Resolve
	tmpfile := flags&unix.O_TMPFILE == unix.O_TMPFILE
	creat := flags&unix.O_CREAT != 0 && !tmpfile
	if flags&unix.O_NOFOLLOW != 0 || creat && flags&unix.O_EXCL != 0 {
		resolve |= ResolveNoFollow
	}
	if flags&unix.O_PATH != 0 {
		flags &= unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		creat, tmpfile = false, false
	}
	if tmpfile {
		return v.openTmpfile(ctx, start, name, flags, how.Mode, resolve)
	}

	var p Path
	created := false
	var err error
	if creat {
		p, created, err = v.openCreate(ctx, start, name, flags, how.Mode, resolve)
	} else {
		p, err = v.Resolve(ctx, start, name, resolve)
		if err == errNoPath {
			return v.reopen(ctx, start, name, flags, resolve)
		}
	}
	if err != nil {
		return nil, err
	}
	return v.openPath(ctx, p, flags, created)
}

// OpenPath opens the file at p (already resolved) as Open would.
func (v *VFS) OpenPath(ctx *Context, p Path, flags int) (*File, error) {
	return v.openPath(ctx, p, flags, false)
}

func (v *VFS) openPath(ctx *Context, p Path, flags int, created bool) (*File, error) {
	d := p.Dentry
	typ := d.typ
	kept := flags & fileFlagsKept
	if flags&unix.O_PATH != 0 {
		if flags&unix.O_DIRECTORY != 0 && typ != unix.S_IFDIR {
			return nil, unix.ENOTDIR
		}
		return NewFileAt(pathFile{p}, kept, p), nil
	}
	acc := flags & unix.O_ACCMODE
	write := acc == unix.O_WRONLY || acc == unix.O_RDWR
	switch {
	case flags&unix.O_DIRECTORY != 0 && typ != unix.S_IFDIR:
		return nil, unix.ENOTDIR
	case typ == unix.S_IFLNK:
		return nil, unix.ELOOP
	case typ == unix.S_IFDIR && (write || flags&unix.O_CREAT != 0):
		return nil, unix.EISDIR
	case acc == 3: // O_WRONLY|O_RDWR: Linux allows it for ioctl-only opens of devices
		if typ != unix.S_IFCHR {
			return nil, unix.EINVAL
		}
	}
	if !created {
		var may uint32
		if acc == unix.O_RDONLY || acc == unix.O_RDWR {
			may |= MayRead
		}
		if write || flags&unix.O_TRUNC != 0 {
			may |= MayWrite
		}
		if err := v.permission(ctx, d, may); err != nil {
			return nil, err
		}
	}
	special := typ == unix.S_IFCHR || typ == unix.S_IFBLK || typ == unix.S_IFIFO || typ == unix.S_IFSOCK
	if (write || flags&unix.O_TRUNC != 0) && !special && p.Mount.ReadOnly() {
		return nil, unix.EROFS
	}
	st, err := d.inode.Stat(ctx, unix.STATX_BASIC_STATS)
	if err != nil {
		return nil, err
	}
	if flags&unix.O_NOATIME != 0 && !isOwner(ctx.Creds, st.Uid) {
		return nil, unix.EPERM
	}
	if flags&unix.O_TRUNC != 0 && typ == unix.S_IFREG && !created {
		ss, ok := d.inode.(SetStatInode)
		if !ok {
			return nil, unix.EROFS
		}
		attr := &SetAttr{Mask: unix.STATX_SIZE}
		killPrivs(ctx, uint32(st.Mode), attr)
		if err := ss.SetStat(ctx, attr); err != nil {
			return nil, err
		}
	}
	var impl FileImpl
	switch {
	case typ == unix.S_IFDIR:
		dir, ok := d.inode.(DirInode)
		if !ok {
			return nil, unix.ENOTDIR
		}
		impl = &dirFile{ctx: ctx.forFile(), dir: dir, path: p}
	case special:
		impl, err = v.openSpecial(ctx, p, &st, flags)
	default:
		impl, err = d.inode.Open(ctx, flags)
	}
	if err != nil {
		return nil, err
	}
	f := NewFileAt(impl, kept|OLargefile, p)
	if typ == unix.S_IFREG && st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
		f.setIDBits.Store(true)
	}
	v.notifyOpen(f, flags&unix.O_TRUNC != 0 && typ == unix.S_IFREG && !created)
	return f, nil
}

// killPrivs adds to attr the clearing of set-user-ID (and set-group-ID
// with group execute) that a write or truncate by a caller without
// CAP_FSETID does. Linux: fs/inode.c, should_remove_suid().
func killPrivs(ctx *Context, mode uint32, attr *SetAttr) bool {
	if ctx.Creds.HasCap(CapFsetid) || mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	kill := mode & unix.S_ISUID
	if mode&(unix.S_ISGID|0o010) == unix.S_ISGID|0o010 {
		kill |= unix.S_ISGID
	}
	if kill == 0 {
		return false
	}
	attr.Mask |= unix.STATX_MODE
	attr.Mode = mode & 0o7777 &^ kill
	return true
}

// RemovePrivs clears the set-ID bits of the file f was written through,
// as a write by a caller without CAP_FSETID does; files opened without
// those bits cost nothing.
func (v *VFS) RemovePrivs(ctx *Context, f *File) {
	if !f.setIDBits.Load() || ctx.Creds.HasCap(CapFsetid) {
		return
	}
	p := f.path
	st, err := p.Dentry.inode.Stat(ctx, unix.STATX_MODE)
	if err != nil {
		return
	}
	attr := &SetAttr{}
	if killPrivs(ctx, uint32(st.Mode), attr) {
		if ss, ok := p.Dentry.inode.(SetStatInode); ok {
			ss.SetStat(ctx, attr)
		}
	}
	f.setIDBits.Store(false)
}

// openCreate resolves name for O_CREAT, creating the file if it does
// not exist. Linux: fs/namei.c, open_last_lookups() and lookup_open().
func (v *VFS) openCreate(ctx *Context, start Path, name string, flags int, mode uint32, resolve uint64) (Path, bool, error) {
	dir, last, trailing, err := v.ResolveParent(ctx, start, name, resolve)
	if err != nil {
		return Path{}, false, err
	}
	if trailing || last == "" || last == "." || last == ".." {
		return Path{}, false, unix.EISDIR
	}
	w := v.newWalker(ctx, start, resolve)
	for {
		p, created, err := v.createChild(ctx, dir, last, flags, mode)
		if err != nil || created || p.Dentry.typ != unix.S_IFLNK || resolve&ResolveNoFollow != 0 {
			return p, created, err
		}
		// An existing symbolic link: follow it; a dangling one creates
		// its target.
		w.cur = dir
		if err := w.followLink(p); err != nil {
			if err == errNoPath {
				return Path{}, false, unix.ENXIO
			}
			return Path{}, false, err
		}
		if w.cur.Dentry.inode != nil {
			return w.cur, false, nil
		}
		parent := w.cur.Dentry.parent
		if parent == nil {
			return Path{}, false, unix.ENOENT
		}
		dir, last = Path{w.cur.Mount, parent}, w.cur.Dentry.name
	}
}

// createChild returns dir's child last, creating a regular file if it
// does not exist.
func (v *VFS) createChild(ctx *Context, dir Path, last string, flags int, mode uint32) (Path, bool, error) {
	d := dir.Dentry
	di, ok := d.inode.(DirInode)
	if !ok {
		return Path{}, false, unix.ENOTDIR
	}
	if err := v.permission(ctx, d, MayExec); err != nil {
		return Path{}, false, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	child, err := v.lookupChildLocked(ctx, d, di, last)
	if err != nil {
		return Path{}, false, err
	}
	if child.inode != nil {
		if flags&unix.O_EXCL != 0 {
			return Path{}, false, unix.EEXIST
		}
		p := Path{dir.Mount, child}
		if child.typ != unix.S_IFLNK {
			p = (&walker{}).crossMountsOf(p)
		}
		return p, false, nil
	}
	if d.Dead() {
		return Path{}, false, unix.ENOENT
	}
	if dir.Mount.ReadOnly() {
		return Path{}, false, unix.EROFS
	}
	if err := v.permission(ctx, d, MayWrite|MayExec); err != nil {
		return Path{}, false, err
	}
	attrs, err := v.newAttrs(ctx, d, unix.S_IFREG|mode&0o7777, 0)
	if err != nil {
		return Path{}, false, err
	}
	inode, err := di.Create(ctx, last, attrs)
	if err != nil {
		return Path{}, false, err
	}
	c, err := newChild(ctx, d, last, inode)
	if err != nil {
		return Path{}, false, err
	}
	d.setChildLocked(last, c)
	v.notifyCreate(d, last, c)
	return Path{dir.Mount, c}, true, nil
}

func (w *walker) crossMountsOf(p Path) Path {
	for {
		m := p.Mount.ns.mountedOn(p.Mount, p.Dentry)
		if m == nil {
			return p
		}
		p = Path{m, m.root}
	}
}

// newAttrs computes a new object's attributes in directory d.
// Linux: fs/inode.c, inode_init_owner(); fs/namei.c, the umask.
func (v *VFS) newAttrs(ctx *Context, d *Dentry, mode uint32, rdev uint64) (NewAttrs, error) {
	typ := mode & unix.S_IFMT
	perm := mode & 0o7777
	if typ != unix.S_IFLNK {
		perm &^= ctx.Umask
	}
	a := NewAttrs{UID: ctx.Creds.UID, GID: ctx.Creds.GID, Rdev: rdev}
	st, err := d.inode.Stat(ctx, unix.STATX_MODE|unix.STATX_GID)
	if err != nil {
		return a, err
	}
	if st.Mode&unix.S_ISGID != 0 {
		a.GID = st.Gid
		if typ == unix.S_IFDIR {
			perm |= unix.S_ISGID
		}
	}
	if typ != unix.S_IFDIR && perm&unix.S_ISGID != 0 && perm&0o010 != 0 && !ctx.Creds.InGroup(a.GID) && !ctx.Creds.HasCap(CapFsetid) {
		perm &^= unix.S_ISGID
	}
	a.Mode = typ | perm
	return a, nil
}

// openTmpfile makes an unnamed regular file in the directory name
// (O_TMPFILE). File systems that can hold unnamed files implement
// TmpfileInode; others fail with EOPNOTSUPP, as Linux's do.
func (v *VFS) openTmpfile(ctx *Context, start Path, name string, flags int, mode uint32, resolve uint64) (*File, error) {
	acc := flags & unix.O_ACCMODE
	if acc != unix.O_WRONLY && acc != unix.O_RDWR {
		return nil, unix.EINVAL
	}
	dir, err := v.Resolve(ctx, start, name, resolve|ResolveDirectory)
	if err != nil {
		return nil, err
	}
	if dir.Mount.ReadOnly() {
		return nil, unix.EROFS
	}
	tf, ok := dir.Dentry.inode.(TmpfileInode)
	if !ok {
		return nil, unix.EOPNOTSUPP
	}
	if err := v.permission(ctx, dir.Dentry, MayWrite|MayExec); err != nil {
		return nil, err
	}
	attrs, err := v.newAttrs(ctx, dir.Dentry, unix.S_IFREG|mode&0o7777, 0)
	if err != nil {
		return nil, err
	}
	inode, err := tf.Tmpfile(ctx, attrs)
	if err != nil {
		return nil, err
	}
	// Linux names an unnamed file "#" and its inode number.
	unnamed := "#tmpfile"
	if st, err := inode.Stat(ctx, unix.STATX_INO); err == nil {
		unnamed = "#" + strconv.FormatUint(st.Ino, 10)
	}
	d := &Dentry{inode: inode, typ: unix.S_IFREG, name: unnamed, parent: dir.Dentry}
	d.dead.Store(true)
	d.linkable = flags&unix.O_EXCL == 0
	p := Path{dir.Mount, d}
	impl, err := inode.Open(ctx, flags)
	if err != nil {
		return nil, err
	}
	return NewFileAt(impl, flags&fileFlagsKept|unix.O_TMPFILE|OLargefile, p), nil
}

// OpenUnlinked opens inode, a regular file without a link made by the
// file system mounted at dir (TmpfileInode), as a file whose name is
// already gone: memfd_create's files, which /proc/[pid]/fd shows as
// "/memfd:NAME (deleted)". name is never entered in dir, so any string
// will do, and linkat cannot name the file.
func (v *VFS) OpenUnlinked(ctx *Context, dir Path, name string, inode Inode, flags int) (*File, error) {
	d := &Dentry{inode: inode, typ: unix.S_IFREG, name: name, parent: dir.Dentry}
	d.dead.Store(true)
	impl, err := inode.Open(ctx, flags)
	if err != nil {
		return nil, err
	}
	return NewFileAt(impl, flags&fileFlagsKept|OLargefile, Path{dir.Mount, d}), nil
}

// TmpfileInode is implemented by directories that can make unnamed
// files (O_TMPFILE); linkat(AT_EMPTY_PATH) may name them later.
type TmpfileInode interface {
	Tmpfile(ctx *Context, attrs NewAttrs) (Inode, error)
}

// reopen opens, through a magic link, a file that has no path.
func (v *VFS) reopen(ctx *Context, start Path, name string, flags int, resolve uint64) (*File, error) {
	w := v.newWalker(ctx, start, resolve)
	_, err := w.walk(name, true)
	if err != errNoPath {
		return nil, err
	}
	magic, ok := w.cur.Dentry.inode.(MagicLinkInode)
	if !ok {
		return nil, unix.ENXIO
	}
	_, f, err := magic.Follow(ctx)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, unix.ENXIO
	}
	defer f.DecRef()
	if flags&unix.O_PATH != 0 {
		f.IncRef()
		return f, nil
	}
	r, ok := f.Impl.(ReopenImpl)
	if !ok {
		return nil, unix.ENXIO
	}
	impl, err := r.Reopen(ctx, flags)
	if err != nil {
		return nil, err
	}
	return NewFile(impl, flags&fileFlagsKept), nil
}

// forFile returns the context an open file keeps for later calls
// (directory listings): the credentials at open time, no task.
func (ctx *Context) forFile() *Context {
	c := *ctx
	creds := *ctx.Creds
	c.Creds = &creds
	c.Task = nil
	c.Block = nil
	return &c
}
