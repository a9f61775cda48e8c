package gofer

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/fs/gofer/wire"
	"magawa/kernel/vfs"
)

// dirInode is a directory.
type dirInode struct{ *inode }

// readdirMax is how many bytes of entries (with their attributes: some
// 150 bytes each) one request asks for.
const readdirMax = wire.MaxMessage

// checkName refuses what the gofer would: the VFS passes single
// components, but a name is checked before it becomes part of a path.
func checkName(name string) error {
	if len(name) > wire.NameMax {
		return unix.ENAMETOOLONG
	}
	if !wire.ValidName(name) {
		return unix.EINVAL
	}
	return nil
}

// Lookup implements vfs.DirInode.
func (d dirInode) Lookup(ctx *vfs.Context, name string) (vfs.Inode, error) {
	if err := checkName(name); err != nil {
		if err == unix.EINVAL {
			return nil, unix.ENOENT
		}
		return nil, err
	}
	d.fs.renameMu.RLock()
	defer d.fs.renameMu.RUnlock()
	p, err := d.pathLocked()
	if err != nil {
		return nil, unix.ENOENT
	}
	// A listing may have brought the child's attributes already.
	if a, ok := d.fs.seeds.take(d.inode, name); ok {
		child := d.fs.newInode(d.inode, name, &a)
		d.setChildLocked(name, child)
		return child.vfsInode(), nil
	}
	var a wire.Attr
	if _, err := d.fs.c.call(wire.OpStat, d.fs.export, &wire.PathReq{Path: wire.Join(p, name)}, &a, false); err != nil {
		if err == unix.ELOOP {
			// The host walk met a symbolic link where we know a
			// directory: the tree changed behind our back.
			return nil, unix.ENOENT
		}
		return nil, err
	}
	child := d.fs.newInode(d.inode, name, &a)
	d.setChildLocked(name, child)
	// A listing that raced this request must not leave a seed for a
	// name whose inode now exists.
	d.fs.seeds.forget(d.inode, name)
	return child.vfsInode(), nil
}

// changed notes a change of the directory's names: the listing's end
// and the seeds are no longer known.
func (d dirInode) changed() {
	d.eofPos.Store(noEOF)
	d.fs.seeds.invalidate(d.inode)
}

// create makes name with op (OpCreate, OpMkdir, OpSymlink).
func (d dirInode) create(op wire.Op, name string, attrs vfs.NewAttrs, target string) (vfs.Inode, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if d.fs.readOnly {
		return nil, unix.EROFS
	}
	want := attrs.Mode & unix.S_IFMT
	switch op {
	case wire.OpCreate:
		switch want {
		case unix.S_IFREG, unix.S_IFIFO, unix.S_IFSOCK:
		case unix.S_IFCHR, unix.S_IFBLK:
			// Device nodes are the sandbox's (kept in memory
			// above this file system), never the host's.
			return nil, unix.EPERM
		default:
			return nil, unix.EINVAL
		}
	case wire.OpMkdir:
		want = unix.S_IFDIR
	case wire.OpSymlink:
		want = unix.S_IFLNK
		if target == "" {
			return nil, unix.ENOENT
		}
		if len(target) > wire.PathMax {
			return nil, unix.ENAMETOOLONG
		}
	}
	uid, gid, err := d.fs.c.hostOwner(attrs.UID, attrs.GID)
	if err != nil {
		return nil, err
	}
	req := wire.CreateReq{Name: name, Mode: want | attrs.Mode&0o7777, UID: uid, GID: gid, Target: target}
	var r wire.CreateReply
	d.fs.renameMu.RLock()
	defer d.fs.renameMu.RUnlock()
	p, err := d.pathLocked()
	if err != nil {
		return nil, err
	}
	req.Dir = p
	if _, err := d.fs.c.call(op, d.fs.export, &req, &r, false); err != nil {
		if err == unix.EIO {
			d.st.invalidate()
			d.changed()
		}
		return nil, err
	}
	d.changed()
	if r.Child.Type() != want {
		return nil, unix.EIO
	}
	d.st.set(&r.Dir)
	child := d.fs.newInode(d.inode, name, &r.Child)
	if op == wire.OpSymlink {
		child.target.Store(&target)
	}
	d.setChildLocked(name, child)
	return child.vfsInode(), nil
}

// Create implements vfs.DirInode: regular files, FIFOs and sockets.
func (d dirInode) Create(ctx *vfs.Context, name string, attrs vfs.NewAttrs) (vfs.Inode, error) {
	return d.create(wire.OpCreate, name, attrs, "")
}

// Mkdir implements vfs.DirInode.
func (d dirInode) Mkdir(ctx *vfs.Context, name string, attrs vfs.NewAttrs) (vfs.Inode, error) {
	return d.create(wire.OpMkdir, name, attrs, "")
}

// Symlink implements vfs.DirInode.
func (d dirInode) Symlink(ctx *vfs.Context, name, target string, attrs vfs.NewAttrs) (vfs.Inode, error) {
	return d.create(wire.OpSymlink, name, attrs, target)
}

// Link implements vfs.DirInode. The VFS uses target itself for the new
// name, so the inode learns the name too.
func (d dirInode) Link(ctx *vfs.Context, name string, target vfs.Inode) error {
	t, ok := d.fs.own(target)
	if !ok {
		return unix.EXDEV
	}
	if t.typ == unix.S_IFDIR {
		return unix.EPERM
	}
	if err := checkName(name); err != nil {
		return err
	}
	if d.fs.readOnly {
		return unix.EROFS
	}
	var r wire.LinkReply
	err := func() error {
		d.fs.renameMu.RLock()
		defer d.fs.renameMu.RUnlock()
		dp, err := d.pathLocked()
		if err != nil {
			return err
		}
		tp, err := t.pathLocked()
		if err != nil {
			return err
		}
		req := wire.LinkReq{Dir: dp, Name: name, Target: tp, Expect: t.st.key}
		_, err = d.fs.c.call(wire.OpLink, d.fs.export, &req, &r, false)
		return err
	}()
	if err != nil {
		if err == unix.EIO {
			d.st.invalidate()
			t.st.invalidate()
			d.changed()
		}
		return notStale(err)
	}
	t.st.set(&r.Target)
	d.st.set(&r.Dir)
	d.fs.shareState(t.st)
	d.changed()
	d.fs.renameMu.Lock()
	t.extra = append(t.extra, link{d.inode, name})
	d.setChildLocked(name, t)
	d.fs.renameMu.Unlock()
	return nil
}

// Unlink implements vfs.DirInode.
func (d dirInode) Unlink(ctx *vfs.Context, name string) error { return d.remove(name, false) }

// Rmdir implements vfs.DirInode.
func (d dirInode) Rmdir(ctx *vfs.Context, name string) error { return d.remove(name, true) }

func (d dirInode) remove(name string, rmdir bool) error {
	if err := checkName(name); err != nil {
		return err
	}
	if d.fs.readOnly {
		return unix.EROFS
	}
	var r wire.UnlinkReply
	err := d.withPath(func(p string) error {
		req := wire.UnlinkReq{Dir: p, Name: name, RmDir: rmdir}
		_, err := d.fs.c.call(wire.OpUnlink, d.fs.export, &req, &r, false)
		return err
	})
	if err != nil {
		if err == unix.EIO {
			d.st.invalidate()
			d.changed()
		}
		return err
	}
	d.st.set(&r.Dir)
	d.changed()
	d.fs.renameMu.Lock()
	victim := d.childLocked(name)
	if victim != nil {
		victim.removeNameLocked(d.inode, name)
		d.deleteChildLocked(name)
	}
	d.fs.renameMu.Unlock()
	if victim != nil {
		victim.st.set(&r.Victim)
		if r.Victim.Nlink == 0 || rmdir {
			d.fs.forgetState(victim.st)
			d.fs.c.fds.forget(victim.st)
		}
		if rmdir {
			d.fs.seeds.invalidate(victim)
		}
	}
	return nil
}

// Rename implements vfs.DirInode. It holds fs.renameMu for writing
// across the request: paths below the moved object change with it.
func (d dirInode) Rename(ctx *vfs.Context, oldName string, newDir vfs.DirInode, newName string, flags uint32) error {
	nd, ok := newDir.(dirInode)
	if !ok || nd.fs != d.fs {
		return unix.EXDEV
	}
	if err := checkName(oldName); err != nil {
		return err
	}
	if err := checkName(newName); err != nil {
		return err
	}
	if flags&^(unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE) != 0 {
		return unix.EINVAL
	}
	if d.fs.readOnly {
		return unix.EROFS
	}
	fs := d.fs
	fs.renameMu.Lock()
	defer fs.renameMu.Unlock()
	op, err := d.pathLocked()
	if err != nil {
		return err
	}
	np, err := nd.pathLocked()
	if err != nil {
		return err
	}
	req := wire.RenameReq{OldDir: op, OldName: oldName, NewDir: np, NewName: newName, Flags: flags}
	var r wire.RenameReply
	if _, err := fs.c.call(wire.OpRename, fs.export, &req, &r, false); err != nil {
		if err == unix.EIO {
			d.st.invalidate()
			nd.st.invalidate()
			d.changed()
			nd.changed()
		}
		return err
	}
	d.st.set(&r.OldDir)
	nd.st.set(&r.NewDir)
	d.changed()
	nd.changed()
	if r.HasVictim && r.Victim.Key() == r.Moved.Key() {
		// Two names of one file: rename(2) does nothing.
		return nil
	}
	moved := d.childLocked(oldName)
	victim := nd.childLocked(newName)
	if moved != nil {
		moved.st.set(&r.Moved)
	}
	if victim != nil && r.HasVictim {
		victim.st.set(&r.Victim)
	}
	if flags&unix.RENAME_EXCHANGE != 0 {
		if moved != nil {
			moved.moveNameLocked(d.inode, oldName, nd.inode, newName)
		}
		if victim != nil {
			victim.moveNameLocked(nd.inode, newName, d.inode, oldName)
		}
		d.deleteChildLocked(oldName)
		nd.deleteChildLocked(newName)
		if victim != nil {
			d.setChildLocked(oldName, victim)
		}
		if moved != nil {
			nd.setChildLocked(newName, moved)
		}
		return nil
	}
	if victim != nil {
		victim.removeNameLocked(nd.inode, newName)
		if r.HasVictim && (r.Victim.Nlink == 0 || victim.typ == unix.S_IFDIR) {
			fs.forgetState(victim.st)
			fs.c.fds.forget(victim.st)
		}
		if victim.typ == unix.S_IFDIR {
			fs.seeds.invalidate(victim)
		}
	}
	d.deleteChildLocked(oldName)
	nd.deleteChildLocked(newName)
	if moved != nil {
		moved.moveNameLocked(d.inode, oldName, nd.inode, newName)
		nd.setChildLocked(newName, moved)
	}
	return nil
}

// Readdir implements vfs.DirInode. Positions are the host's directory
// cookies, so a listing resumes where it stopped whatever changed.
func (d dirInode) Readdir(ctx *vfs.Context, pos int64, emit func(vfs.Dirent) bool) error {
	if pos < 0 {
		return unix.EINVAL
	}
	if d.eofPos.Load() == pos {
		return nil
	}
	for {
		var r wire.ReaddirReply
		var parentIno uint64
		gen := d.fs.seeds.gen(d.inode)
		err := d.withPath(func(p string) error {
			parentIno = d.st.ino // the root's ".." is itself, as at any mount's root
			if d.parent != nil {
				parentIno = d.parent.st.ino
			}
			req := wire.ReaddirReq{Path: p, Off: pos, Max: readdirMax, Attrs: true}
			if _, err := d.fs.c.call(wire.OpReaddir, d.fs.export, &req, &r, false); err != nil {
				return err
			}
			// Every entry, emitted or not, seeds Lookup.
			d.fs.seeds.addLocked(d.inode, gen, r.Entries)
			return nil
		})
		if err != nil {
			if d.deleted.Load() {
				return nil // a removed directory lists nothing
			}
			return err
		}
		for _, e := range r.Entries {
			var ino uint64
			switch e.Name {
			case ".":
				ino = d.st.ino
			case "..":
				ino = parentIno
			default:
				ino = d.fs.virtualIno(r.Dev, e.Ino)
			}
			if !emit(vfs.Dirent{Name: e.Name, Ino: ino, Type: e.Type, Next: e.Next}) {
				return nil
			}
			pos = e.Next
		}
		if r.EOF {
			d.eofPos.Store(pos)
			return nil
		}
		if len(r.Entries) == 0 {
			return unix.EIO // a gofer that makes no progress
		}
	}
}
