package vfs

import (
	"strings"

	"golang.org/x/sys/unix"
)

// Extended attribute limits. Linux: include/uapi/linux/limits.h.
const (
	XattrNameMax = 255
	XattrSizeMax = 65536
)

// xattrAccess checks a get (write false) or set/remove (write true) of
// name on the file at p. Linux: fs/xattr.c, xattr_permission().
func (v *VFS) xattrAccess(ctx *Context, p Path, name string, write bool) (XattrInode, error) {
	if name == "" || len(name) > XattrNameMax {
		return nil, unix.ERANGE
	}
	if write && p.Mount.ReadOnly() {
		return nil, unix.EROFS
	}
	xi, ok := p.Dentry.inode.(XattrInode)
	if !ok {
		return nil, unix.EOPNOTSUPP
	}
	switch {
	case strings.HasPrefix(name, "trusted."):
		if !ctx.Creds.HasCap(CapSysAdmin) {
			if write {
				return nil, unix.EPERM
			}
			return nil, unix.ENODATA
		}
	case name == "user." || name == "trusted." || name == "security.":
		return nil, unix.EINVAL // a namespace without a name
	case strings.HasPrefix(name, "user."):
		if p.Dentry.typ != unix.S_IFREG && p.Dentry.typ != unix.S_IFDIR {
			if write {
				return nil, unix.EPERM
			}
			return nil, unix.ENODATA
		}
		may := uint32(MayRead)
		if write {
			may = MayWrite
		}
		if err := v.permission(ctx, p.Dentry, may); err != nil {
			return nil, err
		}
	case strings.HasPrefix(name, "security."):
		if write && !ctx.Creds.HasCap(CapSysAdmin) {
			return nil, unix.EPERM
		}
	default:
		// system.* (ACLs) and unknown namespaces.
		return nil, unix.EOPNOTSUPP
	}
	return xi, nil
}

// GetXattr implements getxattr(2).
func (v *VFS) GetXattr(ctx *Context, p Path, name string) ([]byte, error) {
	xi, err := v.xattrAccess(ctx, p, name, false)
	if err != nil {
		return nil, err
	}
	return xi.GetXattr(ctx, name)
}

// SetXattr implements setxattr(2).
func (v *VFS) SetXattr(ctx *Context, p Path, name string, value []byte, flags int) error {
	if flags&^(unix.XATTR_CREATE|unix.XATTR_REPLACE) != 0 {
		return unix.EINVAL
	}
	if len(value) > XattrSizeMax {
		return unix.E2BIG
	}
	xi, err := v.xattrAccess(ctx, p, name, true)
	if err != nil {
		return err
	}
	return v.notified(p, unix.IN_ATTRIB, xi.SetXattr(ctx, name, value, flags))
}

// RemoveXattr implements removexattr(2).
func (v *VFS) RemoveXattr(ctx *Context, p Path, name string) error {
	xi, err := v.xattrAccess(ctx, p, name, true)
	if err != nil {
		return err
	}
	return v.notified(p, unix.IN_ATTRIB, xi.RemoveXattr(ctx, name))
}

// ListXattr implements listxattr(2): the names the caller may see.
func (v *VFS) ListXattr(ctx *Context, p Path) ([]string, error) {
	xi, ok := p.Dentry.inode.(XattrInode)
	if !ok {
		return nil, nil
	}
	names, err := xi.ListXattr(ctx)
	if err != nil {
		return nil, err
	}
	out := names[:0]
	for _, n := range names {
		if strings.HasPrefix(n, "trusted.") && !ctx.Creds.HasCap(CapSysAdmin) {
			continue
		}
		out = append(out, n)
	}
	return out, nil
}
