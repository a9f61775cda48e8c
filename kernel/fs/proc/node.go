package proc

import (
	"sync"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// capSysPtrace and capSysAdmin are capability numbers proc checks.
const (
	capSysPtrace   = 19
	capSysAdmin    = 21
	capSysResource = 24
)

// target is what a per-process or per-thread object describes.
type target struct {
	proc Process
	// tid is the thread of a /proc/[pid]/task/[tid] object; 0 means the
	// process's leader, looked up at each use (exec may replace it).
	tid int32
}

// task returns the described thread, or ESRCH once it is gone.
func (g *target) task() (Task, error) {
	if g.proc.Reaped() {
		return nil, unix.ESRCH
	}
	var t Task
	if g.tid == 0 {
		t = g.proc.Leader()
	} else {
		t = g.proc.Thread(g.tid)
	}
	if t == nil {
		return nil, unix.ESRCH
	}
	return t, nil
}

// whole reports whether the object describes the whole process.
func (g *target) whole() bool { return g.tid == 0 }

// mayAccess checks that the caller may look into g's process as
// ptrace(PTRACE_MODE_READ_FSCREDS) allows: its own process, CAP_SYS_PTRACE,
// or the same user and group in all three IDs of a dumpable process.
// Linux: kernel/ptrace.c, __ptrace_may_access().
func (fs *FS) mayAccess(ctx *vfs.Context, g *target) error {
	t, err := g.task()
	if err != nil {
		return err
	}
	caller := fs.k.Caller(ctx)
	if caller == nil || ctx.Creds == nil {
		return nil // the kernel's own work
	}
	if caller.Process() == t.Process() {
		return nil
	}
	c := ctx.Creds
	if c.HasCap(capSysPtrace) {
		return nil
	}
	cr, dumpable := t.Identity()
	if c.UID == cr.UID && c.UID == cr.EUID && c.UID == cr.SUID &&
		c.GID == cr.GID && c.GID == cr.EGID && c.GID == cr.SGID && dumpable {
		return nil
	}
	return unix.EACCES
}

// node is what every proc inode has: its identity, mode and owner.
type node struct {
	fs   *FS
	ino  uint64
	mode uint32 // S_IFMT | permission bits
	// tgt, when set, makes the object belong to a process: its owner is
	// the process's, and ptrace requires mayAccess for every access.
	tgt    *target
	ptrace bool
}

func (fs *FS) newNode(path string, mode uint32, tgt *target, ptrace bool) node {
	return node{fs: fs, ino: ino(path), mode: mode, tgt: tgt, ptrace: ptrace}
}

// inodeNode gives access to the node inside any proc inode.
type inodeNode interface{ base() *node }

func (n *node) base() *node { return n }

// owner returns the object's owner: a dumpable process's effective IDs,
// root otherwise. Linux: fs/proc/base.c, task_dump_owner().
func (n *node) owner() (uid, gid uint32) {
	if n.tgt == nil {
		return 0, 0
	}
	t, err := n.tgt.task()
	if err != nil {
		return 0, 0
	}
	cr, dumpable := t.Identity()
	if !dumpable {
		return 0, 0
	}
	return cr.EUID, cr.EGID
}

// Stat implements vfs.Inode. Proc files have no size; every time is the
// sandbox's boot.
func (n *node) Stat(ctx *vfs.Context, mask uint32) (unix.Statx_t, error) {
	uid, gid := n.owner()
	boot := n.fs.k.Boot()
	ts := unix.StatxTimestamp{Sec: boot.Unix(), Nsec: uint32(boot.Nanosecond())}
	nlink := uint32(1)
	if n.mode&unix.S_IFMT == unix.S_IFDIR {
		nlink = 2
	}
	return unix.Statx_t{
		Mask:      unix.STATX_BASIC_STATS,
		Blksize:   1024,
		Nlink:     nlink,
		Uid:       uid,
		Gid:       gid,
		Mode:      uint16(n.mode),
		Ino:       n.ino,
		Atime:     ts,
		Mtime:     ts,
		Ctime:     ts,
		Dev_major: 0,
		Dev_minor: n.fs.dev,
	}, nil
}

// Open implements vfs.Inode for objects the VFS never opens itself
// (directories and links); files override it.
func (n *node) Open(ctx *vfs.Context, flags int) (vfs.FileImpl, error) {
	return nil, unix.ENXIO
}

// procSuperMagic is proc's f_type. Linux: include/uapi/linux/magic.h.
const procSuperMagic = 0x9fa0

// Statfs implements vfs.StatfsInode: programs check f_type to know that
// /proc is proc.
func (n *node) Statfs(ctx *vfs.Context) (unix.Statfs_t, error) {
	return unix.Statfs_t{Type: procSuperMagic, Bsize: 4096, Frsize: 4096, Namelen: 255}, nil
}

// Permission implements vfs.PermissionInode: the mode against the owner,
// and for the sensitive objects the ptrace-style check.
// Linux: fs/proc/base.c, proc_pid_permission() and the mm_access() of
// the files that read memory.
func (n *node) Permission(ctx *vfs.Context, may uint32) error {
	uid, gid := n.owner()
	if err := vfs.CheckPermission(ctx.Creds, n.mode, uid, gid, may); err != nil {
		return err
	}
	if n.ptrace && n.tgt != nil {
		return n.fs.mayAccess(ctx, n.tgt)
	}
	return nil
}

// dirType returns the d_type of a proc inode.
func dirType(in vfs.Inode) uint8 {
	if b, ok := in.(inodeNode); ok {
		return vfs.DTType(b.base().mode)
	}
	return unix.DT_UNKNOWN
}

// noMutate gives directories the errors Linux's proc gives for changes:
// creating a regular file fails with EACCES (no create operation),
// everything else with EPERM. Linux: fs/namei.c, vfs_create() and the
// other vfs_*() without an inode operation.
type noMutate struct{}

func (noMutate) Create(ctx *vfs.Context, name string, attrs vfs.NewAttrs) (vfs.Inode, error) {
	if attrs.Mode&unix.S_IFMT == unix.S_IFREG {
		return nil, unix.EACCES
	}
	return nil, unix.EPERM
}
func (noMutate) Mkdir(*vfs.Context, string, vfs.NewAttrs) (vfs.Inode, error) { return nil, unix.EPERM }
func (noMutate) Symlink(*vfs.Context, string, string, vfs.NewAttrs) (vfs.Inode, error) {
	return nil, unix.EPERM
}
func (noMutate) Link(*vfs.Context, string, vfs.Inode) error { return unix.EPERM }
func (noMutate) Unlink(*vfs.Context, string) error          { return unix.EPERM }
func (noMutate) Rmdir(*vfs.Context, string) error           { return unix.EPERM }
func (noMutate) Rename(*vfs.Context, string, vfs.DirInode, string, uint32) error {
	return unix.EPERM
}

// dirEnt is one listed entry with its stable position (2 and up: 0 and 1
// are "." and "..").
type dirEnt struct {
	name string
	typ  uint8
	ino  uint64
	pos  int64
}

// readdir lists ".", ".." and ents (sorted by position) from pos on.
func readdir(self, parent uint64, ents []dirEnt, pos int64, emit func(vfs.Dirent) bool) {
	if pos <= 0 && !emit(vfs.Dirent{Name: ".", Ino: self, Type: unix.DT_DIR, Next: 1}) {
		return
	}
	if pos <= 1 && !emit(vfs.Dirent{Name: "..", Ino: parent, Type: unix.DT_DIR, Next: 2}) {
		return
	}
	for _, e := range ents {
		if e.pos < pos {
			continue
		}
		if !emit(vfs.Dirent{Name: e.name, Ino: e.ino, Type: e.typ, Next: e.pos + 1}) {
			return
		}
	}
}

// staticDir is a directory whose entries never change (the global tree).
type staticDir struct {
	node
	noMutate
	parent   uint64
	path     string
	ents     []dirEnt
	children map[string]vfs.Inode
}

func (fs *FS) newStaticDir(path string, parent uint64) *staticDir {
	return &staticDir{
		node:     fs.newNode(path, unix.S_IFDIR|0o555, nil, false),
		parent:   parent,
		path:     path,
		children: map[string]vfs.Inode{},
	}
}

// childPath is the path of d's child name.
func childPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func (d *staticDir) add(name string, child vfs.Inode) {
	b := child.(inodeNode).base()
	d.ents = append(d.ents, dirEnt{name: name, typ: vfs.DTType(b.mode), ino: b.ino, pos: int64(len(d.ents) + 2)})
	d.children[name] = child
}

// subdir adds and returns a static subdirectory.
func (d *staticDir) subdir(name string) *staticDir {
	s := d.fs.newStaticDir(childPath(d.path, name), d.ino)
	d.add(name, s)
	return s
}

// file adds a read-only file.
func (d *staticDir) file(name string, read func(r *reader) ([]byte, error)) {
	d.add(name, d.fs.newFile(childPath(d.path, name), 0o444, nil, false, read, nil))
}

func (d *staticDir) Lookup(ctx *vfs.Context, name string) (vfs.Inode, error) {
	if c, ok := d.children[name]; ok {
		return c, nil
	}
	return nil, unix.ENOENT
}

func (d *staticDir) Readdir(ctx *vfs.Context, pos int64, emit func(vfs.Dirent) bool) error {
	readdir(d.ino, d.parent, d.ents, pos, emit)
	return nil
}

// reader is who reads or writes a file: the opener.
type reader struct {
	ctx *vfs.Context
	// task is the opener, or nil.
	task Task
}

// fileNode is a file whose contents are generated.
type fileNode struct {
	node
	read  func(r *reader) ([]byte, error)
	write func(r *reader, data []byte) error
}

func (fs *FS) newFile(path string, perm uint32, tgt *target, ptrace bool,
	read func(r *reader) ([]byte, error), write func(r *reader, data []byte) error) *fileNode {
	return &fileNode{node: fs.newNode(path, unix.S_IFREG|perm, tgt, ptrace), read: read, write: write}
}

// Open implements vfs.Inode. A file without a writer refuses write opens
// with EACCES even for a caller whose capabilities passed the mode check.
func (f *fileNode) Open(ctx *vfs.Context, flags int) (vfs.FileImpl, error) {
	acc := flags & unix.O_ACCMODE
	if (acc == unix.O_WRONLY || acc == unix.O_RDWR) && f.write == nil {
		return nil, unix.EACCES
	}
	if (acc == unix.O_RDONLY || acc == unix.O_RDWR) && f.read == nil {
		return nil, unix.EACCES
	}
	// The opener's credentials and task decide later reads, as Linux's
	// file->f_cred does, whoever reads the file then.
	creds := *ctx.Creds
	c := &vfs.Context{Creds: &creds, Root: ctx.Root, Cwd: ctx.Cwd, Task: ctx.Task}
	return &seqFile{f: f, r: &reader{ctx: c, task: f.fs.k.Caller(ctx)}}, nil
}

// SetStat implements vfs.SetStatInode for the truncation of an O_TRUNC
// open (a shell's `echo 1 >/proc/sys/...`): a generated file has no size
// to cut, so it is accepted and ignored; other changes are refused.
// Linux: fs/proc/base.c, proc_setattr(), and proc_sys_setattr().
func (f *fileNode) SetStat(ctx *vfs.Context, attr *vfs.SetAttr) error {
	if attr.Mask&^unix.STATX_SIZE != 0 {
		return unix.EPERM
	}
	return nil
}

// seqFile is an open proc file: the contents are generated on a read at
// offset 0 and served from the buffer at other offsets.
type seqFile struct {
	f *fileNode
	r *reader

	mu    sync.Mutex
	data  []byte
	valid bool
}

func (s *seqFile) ReadAt(dst []byte, off int64) (int, error) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if off == 0 || !s.valid {
		data, err := s.f.read(s.r)
		if err != nil {
			return 0, err
		}
		s.data, s.valid = data, true
	}
	if off >= int64(len(s.data)) {
		return 0, nil
	}
	return copy(dst, s.data[off:]), nil
}

func (s *seqFile) WriteAt(src []byte, off int64) (int, error) {
	if s.f.write == nil {
		return 0, unix.EBADF
	}
	if err := s.f.write(s.r, src); err != nil {
		return 0, err
	}
	return len(src), nil
}

func (s *seqFile) Stat(st *unix.Stat_t) error {
	sx, err := s.f.Stat(s.r.ctx, unix.STATX_BASIC_STATS)
	if err != nil {
		return err
	}
	*st = vfs.StatFromStatx(&sx)
	return nil
}

func (s *seqFile) Seekable() bool { return true }
func (s *seqFile) Release()       {}

// symlinkNode is an ordinary symbolic link whose target may depend on the
// caller (self, thread-self).
type symlinkNode struct {
	node
	target func(ctx *vfs.Context) (string, error)
}

func (fs *FS) newSymlink(path string, target func(ctx *vfs.Context) (string, error)) *symlinkNode {
	return &symlinkNode{node: fs.newNode(path, unix.S_IFLNK|0o777, nil, false), target: target}
}

func (l *symlinkNode) Readlink(ctx *vfs.Context) (string, error) { return l.target(ctx) }

// magicLink names a kernel object (exe, cwd, root, fd/N, ns/*): reading
// and following it need ptrace-style access to its process.
// Linux: fs/proc/base.c, proc_pid_get_link() and proc_pid_readlink().
type magicLink struct {
	node
	readlink func(ctx *vfs.Context) (string, error)
	follow   func(ctx *vfs.Context) (vfs.Path, *vfs.File, error)
	// modeOf, when set, computes the mode at each Stat: fd/N shows the
	// descriptor's access mode (and a size of 64).
	modeOf func() uint32
}

func (l *magicLink) Readlink(ctx *vfs.Context) (string, error) {
	if err := l.fs.mayAccess(ctx, l.tgt); err != nil {
		return "", err
	}
	return l.readlink(ctx)
}

func (l *magicLink) Follow(ctx *vfs.Context) (vfs.Path, *vfs.File, error) {
	if err := l.fs.mayAccess(ctx, l.tgt); err != nil {
		return vfs.Path{}, nil, err
	}
	return l.follow(ctx)
}

func (l *magicLink) Stat(ctx *vfs.Context, mask uint32) (unix.Statx_t, error) {
	st, err := l.node.Stat(ctx, mask)
	if err == nil && l.modeOf != nil {
		st.Mode = uint16(unix.S_IFLNK | l.modeOf())
		st.Size = 64 // as Linux's descriptor links
	}
	return st, err
}
