package vfs

import (
	"time"

	"golang.org/x/sys/unix"
)

// This file holds the name-changing operations and attribute changes,
// with Linux's checks (fs/namei.c, fs/attr.c, fs/open.c). Each locks the
// directory it changes for the file system call and the dentry update.

// lockedParent resolves the parent of name and locks it, for an
// operation that creates or removes last. The caller unlocks dir.mu.
func (v *VFS) lockedParent(ctx *Context, start Path, name string, flags uint64) (dir Path, di DirInode, last string, trailing bool, err error) {
	dir, last, trailing, err = v.ResolveParent(ctx, start, name, flags)
	if err != nil {
		return
	}
	var ok bool
	if di, ok = dir.Dentry.inode.(DirInode); !ok {
		err = unix.ENOTDIR
		return
	}
	dir.Dentry.mu.Lock()
	return
}

// mayCreate checks creating a name in dir: the directory still exists,
// the mount is writable, and the caller may write and search it.
func (v *VFS) mayCreate(ctx *Context, dir Path) error {
	if dir.Dentry.Dead() {
		return unix.ENOENT
	}
	if err := v.permission(ctx, dir.Dentry, MayWrite|MayExec); err != nil {
		return err
	}
	if dir.Mount.ReadOnly() {
		return unix.EROFS
	}
	return nil
}

// create makes a new object called name with make, after Linux's checks.
func (v *VFS) create(ctx *Context, start Path, name string, allowTrailing bool, mode uint32, rdev uint64,
	make func(di DirInode, last string, attrs NewAttrs) (Inode, error)) error {
	dir, di, last, trailing, err := v.lockedParent(ctx, start, name, 0)
	if err != nil {
		return err
	}
	defer dir.Dentry.mu.Unlock()
	if last == "" || last == "." || last == ".." {
		return unix.EEXIST
	}
	child, err := v.lookupChildLocked(ctx, dir.Dentry, di, last)
	if err != nil {
		return err
	}
	if child.inode != nil {
		return unix.EEXIST
	}
	if trailing && !allowTrailing {
		return unix.ENOENT
	}
	if err := v.mayCreate(ctx, dir); err != nil {
		return err
	}
	attrs, err := v.newAttrs(ctx, dir.Dentry, mode, rdev)
	if err != nil {
		return err
	}
	inode, err := make(di, last, attrs)
	if err != nil {
		return err
	}
	c, err := newChild(ctx, dir.Dentry, last, inode)
	if err != nil {
		return err
	}
	dir.Dentry.setChildLocked(last, c)
	v.notifyCreate(dir.Dentry, last, c)
	return nil
}

// Mkdir implements mkdirat(2).
func (v *VFS) Mkdir(ctx *Context, start Path, name string, mode uint32) error {
	// Linux: fs/namei.c, vfs_mkdir(): set-ID bits are not for the
	// asking (S_ISGID comes from the parent).
	return v.create(ctx, start, name, true, unix.S_IFDIR|mode&0o1777, 0, func(di DirInode, last string, attrs NewAttrs) (Inode, error) {
		return di.Mkdir(ctx, last, attrs)
	})
}

// Mknod implements mknodat(2): regular files, FIFOs, sockets and device
// nodes (which need CAP_MKNOD; they open only if registered).
func (v *VFS) Mknod(ctx *Context, start Path, name string, mode uint32, rdev uint64) error {
	switch mode & unix.S_IFMT {
	case 0:
		mode |= unix.S_IFREG
	case unix.S_IFREG, unix.S_IFIFO, unix.S_IFSOCK:
	case unix.S_IFCHR, unix.S_IFBLK:
		if !ctx.Creds.HasCap(CapMknod) {
			return unix.EPERM
		}
	case unix.S_IFDIR:
		return unix.EPERM
	default:
		return unix.EINVAL
	}
	if mode&unix.S_IFMT != unix.S_IFCHR && mode&unix.S_IFMT != unix.S_IFBLK {
		rdev = 0
	}
	return v.create(ctx, start, name, false, mode, rdev, func(di DirInode, last string, attrs NewAttrs) (Inode, error) {
		return di.Create(ctx, last, attrs)
	})
}

// Symlink implements symlinkat(2).
func (v *VFS) Symlink(ctx *Context, target string, start Path, name string) error {
	if target == "" {
		return unix.ENOENT
	}
	return v.create(ctx, start, name, false, unix.S_IFLNK|0o777, 0, func(di DirInode, last string, attrs NewAttrs) (Inode, error) {
		return di.Symlink(ctx, last, target, attrs)
	})
}

// Link implements linkat(2): a new name for the file at old (resolved by
// the caller, which applies AT_SYMLINK_FOLLOW and AT_EMPTY_PATH).
func (v *VFS) Link(ctx *Context, old Path, start Path, name string) error {
	if old.Dentry.IsDir() {
		return unix.EPERM
	}
	dir, di, last, trailing, err := v.lockedParent(ctx, start, name, 0)
	if err != nil {
		return err
	}
	defer dir.Dentry.mu.Unlock()
	if last == "" || last == "." || last == ".." {
		return unix.EEXIST
	}
	child, err := v.lookupChildLocked(ctx, dir.Dentry, di, last)
	if err != nil {
		return err
	}
	if child.inode != nil {
		return unix.EEXIST
	}
	if trailing {
		return unix.ENOENT
	}
	if dir.Mount != old.Mount {
		return unix.EXDEV
	}
	if old.Dentry.Dead() && !old.Dentry.linkable {
		return unix.ENOENT // Linux: fs/namei.c, vfs_link(): i_nlink 0
	}
	if err := v.mayCreate(ctx, dir); err != nil {
		return err
	}
	// Linux's protected_hardlinks (on by default): a non-owner needs read
	// and write access to the file.
	st, err := old.Dentry.inode.Stat(ctx, unix.STATX_MODE|unix.STATX_UID|unix.STATX_GID)
	if err != nil {
		return err
	}
	if !isOwner(ctx.Creds, st.Uid) {
		if uint32(st.Mode)&unix.S_IFMT != unix.S_IFREG || CheckPermission(ctx.Creds, uint32(st.Mode), st.Uid, st.Gid, MayRead|MayWrite) != nil {
			return unix.EPERM
		}
	}
	if err := di.Link(ctx, last, old.Dentry.inode); err != nil {
		return err
	}
	c := &Dentry{inode: old.Dentry.inode, typ: old.Dentry.typ, name: last, parent: dir.Dentry}
	dir.Dentry.setChildLocked(last, c)
	v.notifyLink(dir.Dentry, last, old.Dentry)
	return nil
}

// Unlink implements unlinkat(2) without AT_REMOVEDIR.
func (v *VFS) Unlink(ctx *Context, start Path, name string) error {
	return v.remove(ctx, start, name, false)
}

// Rmdir implements rmdir(2) and unlinkat(AT_REMOVEDIR).
func (v *VFS) Rmdir(ctx *Context, start Path, name string) error {
	return v.remove(ctx, start, name, true)
}

func (v *VFS) remove(ctx *Context, start Path, name string, isDir bool) error {
	dir, di, last, trailing, err := v.lockedParent(ctx, start, name, 0)
	if err != nil {
		return err
	}
	defer dir.Dentry.mu.Unlock()
	switch {
	case last == "" && isDir:
		return unix.EBUSY
	case last == "" || (last == "." || last == "..") && !isDir:
		return unix.EISDIR
	case last == ".":
		return unix.EINVAL
	case last == "..":
		return unix.ENOTEMPTY
	}
	child, err := v.lookupChildLocked(ctx, dir.Dentry, di, last)
	if err != nil {
		return err
	}
	if child.inode == nil {
		return unix.ENOENT
	}
	if isDir && !child.IsDir() {
		return unix.ENOTDIR
	}
	if !isDir && child.IsDir() {
		return unix.EISDIR
	}
	if !isDir && trailing {
		return unix.ENOTDIR
	}
	if err := v.mayDelete(ctx, dir.Dentry, child); err != nil {
		return err
	}
	if dir.Mount.ReadOnly() {
		return unix.EROFS
	}
	if child.isMountpoint() {
		return unix.EBUSY
	}
	if isDir {
		err = di.Rmdir(ctx, last)
	} else {
		err = di.Unlink(ctx, last)
	}
	if err != nil {
		return err
	}
	child.dead.Store(true)
	delete(dir.Dentry.children, last)
	v.notifyRemove(ctx, dir.Dentry, last, child)
	return nil
}

// Rename implements renameat2(2). Linux: fs/namei.c, do_renameat2() and
// vfs_rename().
func (v *VFS) Rename(ctx *Context, oldStart Path, oldName string, newStart Path, newName string, flags uint32) error {
	if flags&^(unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE|unix.RENAME_WHITEOUT) != 0 ||
		flags&unix.RENAME_NOREPLACE != 0 && flags&unix.RENAME_EXCHANGE != 0 {
		return unix.EINVAL
	}
	if flags&unix.RENAME_WHITEOUT != 0 {
		return unix.EINVAL // overlay's internal operation: not offered
	}
	oldDir, oldLast, oldTrailing, err := v.ResolveParent(ctx, oldStart, oldName, 0)
	if err != nil {
		return err
	}
	newDir, newLast, newTrailing, err := v.ResolveParent(ctx, newStart, newName, 0)
	if err != nil {
		return err
	}
	if isDotName(oldLast) {
		return unix.EBUSY
	}
	if isDotName(newLast) {
		if flags&unix.RENAME_NOREPLACE != 0 {
			return unix.EEXIST
		}
		return unix.EBUSY
	}
	if oldDir.Mount != newDir.Mount {
		return unix.EXDEV
	}
	oldDI, ok1 := oldDir.Dentry.inode.(DirInode)
	newDI, ok2 := newDir.Dentry.inode.(DirInode)
	if !ok1 || !ok2 {
		return unix.ENOTDIR
	}

	v.renameMu.Lock()
	defer v.renameMu.Unlock()
	oldDir.Dentry.mu.Lock()
	defer oldDir.Dentry.mu.Unlock()
	if newDir.Dentry != oldDir.Dentry {
		newDir.Dentry.mu.Lock()
		defer newDir.Dentry.mu.Unlock()
	}
	src, err := v.lookupChildLocked(ctx, oldDir.Dentry, oldDI, oldLast)
	if err != nil {
		return err
	}
	if src.inode == nil {
		return unix.ENOENT
	}
	dst, err := v.lookupChildLocked(ctx, newDir.Dentry, newDI, newLast)
	if err != nil {
		return err
	}
	exchange := flags&unix.RENAME_EXCHANGE != 0
	if exchange && dst.inode == nil {
		return unix.ENOENT
	}
	if (oldTrailing || newTrailing) && !src.IsDir() {
		return unix.ENOTDIR
	}
	if dst.inode != nil {
		if flags&unix.RENAME_NOREPLACE != 0 {
			return unix.EEXIST
		}
		if !exchange {
			if src.IsDir() && !dst.IsDir() {
				return unix.ENOTDIR
			}
			if !src.IsDir() && dst.IsDir() {
				return unix.EISDIR
			}
		}
	}
	if src == dst || dst.inode != nil && src.inode == dst.inode {
		return nil // the same file: nothing to do
	}
	// A directory may not move below itself, nor may the target be an
	// ancestor of the source.
	if src.IsDir() && v.isAncestor(src, newDir.Dentry) {
		return unix.EINVAL
	}
	if dst.inode != nil && dst.IsDir() && v.isAncestor(dst, oldDir.Dentry) {
		if exchange {
			return unix.EINVAL
		}
		return unix.ENOTEMPTY
	}
	if err := v.mayDelete(ctx, oldDir.Dentry, src); err != nil {
		return err
	}
	if dst.inode != nil {
		if err := v.mayDelete(ctx, newDir.Dentry, dst); err != nil {
			return err
		}
	} else if err := v.permission(ctx, newDir.Dentry, MayWrite|MayExec); err != nil {
		return err
	}
	if oldDir.Dentry != newDir.Dentry {
		// Moving a directory rewrites its "..": write access to it.
		if src.IsDir() {
			if err := v.permission(ctx, src, MayWrite); err != nil {
				return err
			}
		}
		if exchange && dst.IsDir() {
			if err := v.permission(ctx, dst, MayWrite); err != nil {
				return err
			}
		}
	}
	if oldDir.Mount.ReadOnly() {
		return unix.EROFS
	}
	if src.isMountpoint() || dst.isMountpoint() {
		return unix.EBUSY
	}
	if err := oldDI.Rename(ctx, oldLast, newDI, newLast, flags); err != nil {
		return err
	}
	defer v.notifyRename(ctx, oldDir.Dentry, oldLast, newDir.Dentry, newLast, src, dst, exchange) // after treeMu's unlock

	v.treeMu.Lock()
	defer v.treeMu.Unlock()
	if exchange {
		src.name, dst.name = newLast, oldLast
		src.parent, dst.parent = newDir.Dentry, oldDir.Dentry
		oldDir.Dentry.setChildLocked(oldLast, dst)
		newDir.Dentry.setChildLocked(newLast, src)
		return nil
	}
	if dst.inode != nil {
		dst.dead.Store(true)
	}
	delete(oldDir.Dentry.children, oldLast)
	src.name, src.parent = newLast, newDir.Dentry
	newDir.Dentry.setChildLocked(newLast, src)
	return nil
}

func isDotName(name string) bool { return name == "" || name == "." || name == ".." }

// isAncestor reports whether a is d or one of d's ancestors.
func (v *VFS) isAncestor(a, d *Dentry) bool {
	v.treeMu.RLock()
	defer v.treeMu.RUnlock()
	for ; d != nil; d = d.parent {
		if d == a {
			return true
		}
	}
	return false
}

// Readlink implements readlinkat(2) on a resolved path.
func (v *VFS) Readlink(ctx *Context, p Path) (string, error) {
	sl, ok := p.Dentry.inode.(SymlinkInode)
	if !ok || p.Dentry.typ != unix.S_IFLNK {
		return "", unix.EINVAL
	}
	return sl.Readlink(ctx)
}

// setStat applies attr to the file at p after the read-only check.
func (v *VFS) setStat(ctx *Context, p Path, attr *SetAttr) error {
	if p.Mount.ReadOnly() {
		return unix.EROFS
	}
	ss, ok := p.Dentry.inode.(SetStatInode)
	if !ok {
		return unix.EPERM
	}
	return v.notified(p, attrEvents(attr.Mask), ss.SetStat(ctx, attr))
}

// Chmod implements fchmodat(2). Linux: fs/open.c, chmod_common();
// fs/attr.c, setattr_prepare().
func (v *VFS) Chmod(ctx *Context, p Path, mode uint32) error {
	st, err := p.Dentry.inode.Stat(ctx, unix.STATX_MODE|unix.STATX_UID|unix.STATX_GID)
	if err != nil {
		return err
	}
	if !isOwner(ctx.Creds, st.Uid) {
		return unix.EPERM
	}
	mode &= 0o7777
	if p.Dentry.typ == unix.S_IFLNK {
		return unix.EOPNOTSUPP
	}
	if mode&unix.S_ISGID != 0 && !ctx.Creds.InGroup(st.Gid) && !ctx.Creds.HasCap(CapFsetid) {
		mode &^= unix.S_ISGID
	}
	return v.setStat(ctx, p, &SetAttr{Mask: unix.STATX_MODE, Mode: mode})
}

// Chown implements fchownat(2); -1 (as uint32) leaves an ID unchanged.
// Linux: fs/attr.c, chown_ok() and chgrp_ok(); setuid and setgid bits
// of a non-directory clear.
func (v *VFS) Chown(ctx *Context, p Path, uid, gid uint32) error {
	st, err := p.Dentry.inode.Stat(ctx, unix.STATX_MODE|unix.STATX_UID|unix.STATX_GID)
	if err != nil {
		return err
	}
	c := ctx.Creds
	attr := &SetAttr{}
	if uid != ^uint32(0) {
		if uid != st.Uid && !c.HasCap(CapChown) {
			return unix.EPERM
		}
		attr.Mask |= unix.STATX_UID
		attr.UID = uid
	}
	if gid != ^uint32(0) {
		if gid != st.Gid && !c.HasCap(CapChown) && !(c.UID == st.Uid && c.InGroup(gid)) {
			return unix.EPERM
		}
		if gid == st.Gid && c.UID != st.Uid && !c.HasCap(CapChown) {
			return unix.EPERM
		}
		attr.Mask |= unix.STATX_GID
		attr.GID = gid
	}
	// Even an unchanged owner clears the set-ID bits of a file, for
	// every caller. Linux: fs/open.c, chown_common(), ATTR_KILL_SUID.
	mode := uint32(st.Mode)
	if mode&unix.S_IFMT != unix.S_IFDIR && mode&unix.S_IFMT != unix.S_IFLNK {
		kill := uint32(unix.S_ISUID)
		if mode&0o010 != 0 {
			kill |= unix.S_ISGID
		}
		if mode&kill != 0 {
			attr.Mask |= unix.STATX_MODE
			attr.Mode = mode & 0o7777 &^ kill
		}
	}
	return v.setStat(ctx, p, attr)
}

// Truncate implements truncate(2) on a resolved path (ftruncate checks
// the descriptor instead of permission).
func (v *VFS) Truncate(ctx *Context, p Path, size int64, checkAccess bool) error {
	if size < 0 {
		return unix.EINVAL
	}
	if p.Dentry.IsDir() {
		return unix.EISDIR
	}
	if p.Dentry.typ != unix.S_IFREG {
		return unix.EINVAL
	}
	if checkAccess {
		if err := v.permission(ctx, p.Dentry, MayWrite); err != nil {
			return err
		}
	}
	attr := &SetAttr{Mask: unix.STATX_SIZE, Size: size}
	if st, err := p.Dentry.inode.Stat(ctx, unix.STATX_MODE); err == nil {
		killPrivs(ctx, uint32(st.Mode), attr)
	}
	return v.setStat(ctx, p, attr)
}

// Utimes implements utimensat(2): times[0] is the access time,
// times[1] the modification time; nil means both now. UTIME_NOW and
// UTIME_OMIT are honoured. Linux: fs/utimes.c.
func (v *VFS) Utimes(ctx *Context, p Path, times *[2]unix.Timespec) error {
	now := unix.NsecToTimespec(time.Now().UnixNano())
	attr := &SetAttr{Mask: unix.STATX_ATIME | unix.STATX_MTIME, Atime: now, Mtime: now}
	// Only "now" for both (or no times at all) is allowed to a caller who
	// may write the file without owning it. Linux: fs/utimes.c.
	onlyNow := times == nil || times[0].Nsec == unix.UTIME_NOW && times[1].Nsec == unix.UTIME_NOW
	if times != nil {
		for i, ts := range times {
			switch ts.Nsec {
			case unix.UTIME_OMIT:
				if i == 0 {
					attr.Mask &^= unix.STATX_ATIME
				} else {
					attr.Mask &^= unix.STATX_MTIME
				}
			case unix.UTIME_NOW:
			default:
				if ts.Nsec < 0 || ts.Nsec >= 1e9 {
					return unix.EINVAL
				}
				if i == 0 {
					attr.Atime = ts
				} else {
					attr.Mtime = ts
				}
			}
		}
	}
	if attr.Mask == 0 {
		return nil
	}
	st, err := p.Dentry.inode.Stat(ctx, unix.STATX_MODE|unix.STATX_UID|unix.STATX_GID)
	if err != nil {
		return err
	}
	if !isOwner(ctx.Creds, st.Uid) {
		if !onlyNow {
			return unix.EPERM
		}
		if err := v.permission(ctx, p.Dentry, MayWrite); err != nil {
			return err
		}
	}
	return v.setStat(ctx, p, attr)
}

// Statfs implements statfs(2) for the file at p.
func (v *VFS) Statfs(ctx *Context, p Path) (unix.Statfs_t, error) {
	var st unix.Statfs_t
	if sf, ok := p.Dentry.inode.(StatfsInode); ok {
		var err error
		if st, err = sf.Statfs(ctx); err != nil {
			return st, err
		}
	} else {
		st = unix.Statfs_t{Bsize: 4096, Namelen: nameMax, Frsize: 4096}
	}
	st.Flags = int64(p.Mount.Flags()) | 0x20 // ST_VALID
	if p.Mount.Flags()&MountNoAtime == 0 {
		st.Flags |= 0x1000 // ST_RELATIME: Linux's default atime policy
	}
	return st, nil
}
