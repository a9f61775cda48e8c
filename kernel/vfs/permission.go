package vfs

import (
	"golang.org/x/sys/unix"
)

// permission checks whether the caller may access d's inode with may
// (MayRead|MayWrite|MayExec). Linux: fs/namei.c, generic_permission().
func (v *VFS) permission(ctx *Context, d *Dentry, may uint32) error {
	if d.inode == nil {
		return unix.ENOENT
	}
	if p, ok := d.inode.(PermissionInode); ok {
		return p.Permission(ctx, may)
	}
	c := ctx.Creds
	// A directory search by a capable caller needs no attributes: the
	// common case of root walking a path costs no Stat.
	if d.typ == unix.S_IFDIR && may&MayWrite == 0 && (c.HasCap(CapDACOverride) || c.HasCap(CapDACReadSearch) && may == MayExec) {
		return nil
	}
	st, err := d.inode.Stat(ctx, unix.STATX_MODE|unix.STATX_UID|unix.STATX_GID)
	if err != nil {
		return err
	}
	return CheckPermission(c, uint32(st.Mode), st.Uid, st.Gid, may)
}

// CheckPermission is generic_permission() over explicit attributes.
func CheckPermission(c *Creds, mode, uid, gid, may uint32) error {
	var bits uint32
	switch {
	case c.UID == uid:
		bits = mode >> 6
	case c.InGroup(gid):
		bits = mode >> 3
	default:
		bits = mode
	}
	if may&^bits&7 == 0 {
		return nil
	}
	isDir := mode&unix.S_IFMT == unix.S_IFDIR
	if c.HasCap(CapDACOverride) {
		// Execute needs some x bit on a non-directory even for root.
		if isDir || may&MayExec == 0 || mode&0o111 != 0 {
			return nil
		}
	}
	if c.HasCap(CapDACReadSearch) && (may == MayRead || isDir && may&MayWrite == 0) {
		return nil
	}
	return unix.EACCES
}

// isOwner reports whether the caller owns the inode or has CAP_FOWNER
// (Linux's inode_owner_or_capable).
func isOwner(c *Creds, uid uint32) bool {
	return c.UID == uid || c.HasCap(CapFowner)
}

// mayDelete checks that the caller may remove or replace child in dir:
// write and search on dir, and the sticky bit's ownership rule.
// Linux: fs/namei.c, may_delete().
func (v *VFS) mayDelete(ctx *Context, dir, child *Dentry) error {
	if err := v.permission(ctx, dir, MayWrite|MayExec); err != nil {
		return err
	}
	dst, err := dir.inode.Stat(ctx, unix.STATX_MODE|unix.STATX_UID)
	if err != nil {
		return err
	}
	if dst.Mode&unix.S_ISVTX == 0 {
		return nil
	}
	cst, err := child.inode.Stat(ctx, unix.STATX_UID)
	if err != nil {
		return err
	}
	c := ctx.Creds
	if c.UID == cst.Uid || c.UID == dst.Uid || c.HasCap(CapFowner) {
		return nil
	}
	return unix.EPERM
}

// Permission checks the caller's access to the file at p, as
// inode_permission() with the mount's read-only flag: MayWrite on a
// read-only mount fails with EROFS for files that live on it.
func (v *VFS) Permission(ctx *Context, p Path, may uint32) error {
	if may&MayWrite != 0 && p.Mount.ReadOnly() {
		switch p.Dentry.typ {
		case unix.S_IFREG, unix.S_IFDIR, unix.S_IFLNK:
			return unix.EROFS
		}
	}
	return v.permission(ctx, p.Dentry, may)
}
