package vfs

import (
	"strings"

	"golang.org/x/sys/unix"
)

// Resolve flags: openat2's RESOLVE_* and the walk's own.
const (
	ResolveNoXdev       = unix.RESOLVE_NO_XDEV
	ResolveNoMagiclinks = unix.RESOLVE_NO_MAGICLINKS
	ResolveNoSymlinks   = unix.RESOLVE_NO_SYMLINKS
	ResolveBeneath      = unix.RESOLVE_BENEATH
	ResolveInRoot       = unix.RESOLVE_IN_ROOT
	ResolveCached       = 0x20 // RESOLVE_CACHED

	// ResolveNoFollow leaves a final symbolic link unfollowed
	// (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW, lstat).
	ResolveNoFollow = 1 << 32
	// ResolveDirectory requires the result to be a directory.
	ResolveDirectory = 1 << 33
)

// MaxSymlinks is how many symbolic links one walk follows before ELOOP.
// Linux: include/linux/namei.h, MAXSYMLINKS.
const MaxSymlinks = 40

// nameMax is the longest component. Linux: NAME_MAX.
const nameMax = 255

// walker resolves one path name.
type walker struct {
	v     *VFS
	ctx   *Context
	flags uint64
	// root is where absolute names start and ".." stops: the caller's
	// root, or the starting directory for RESOLVE_IN_ROOT and
	// RESOLVE_BENEATH.
	root     Path
	cur      Path
	links    int
	startDev *Mount
}

func (v *VFS) newWalker(ctx *Context, start Path, flags uint64) *walker {
	w := &walker{v: v, ctx: ctx, flags: flags, root: ctx.Root, cur: start}
	if flags&(ResolveInRoot|ResolveBeneath) != 0 {
		w.root = start
	}
	w.startDev = start.Mount
	return w
}

// component splits the next component off name: the component, the
// rest, and whether the component is the last (trailing slashes ignored;
// trailingSlash reports them).
func component(name string) (first, rest string, last, trailingSlash bool) {
	name = strings.TrimLeft(name, "/")
	i := strings.IndexByte(name, '/')
	if i < 0 {
		return name, "", true, false
	}
	first, rest = name[:i], strings.TrimLeft(name[i:], "/")
	if rest == "" {
		return first, "", true, true
	}
	return first, rest, false, false
}

// Resolve walks name from start (for a relative name) and returns where
// it leads. A final symbolic link is followed unless ResolveNoFollow.
func (v *VFS) Resolve(ctx *Context, start Path, name string, flags uint64) (Path, error) {
	if name == "" {
		return Path{}, unix.ENOENT
	}
	w := v.newWalker(ctx, start, flags)
	p, err := w.walk(name, flags&ResolveNoFollow == 0)
	if err != nil {
		return Path{}, err
	}
	if p.Dentry.inode == nil {
		return Path{}, unix.ENOENT
	}
	if flags&ResolveDirectory != 0 && !p.Dentry.IsDir() {
		return Path{}, unix.ENOTDIR
	}
	return p, nil
}

// ResolveParent walks all of name but its last component and returns
// the directory, the last component, and whether name ended in a slash.
// The last component may be "." or ".." (callers refuse those where
// Linux does). A name of "/" alone has last component "".
func (v *VFS) ResolveParent(ctx *Context, start Path, name string, flags uint64) (Path, string, bool, error) {
	if name == "" {
		return Path{}, "", false, unix.ENOENT
	}
	w := v.newWalker(ctx, start, flags)
	dir, last, trailing, err := w.walkParent(name)
	if err != nil {
		return Path{}, "", false, err
	}
	return dir, last, trailing, nil
}

// walkParent walks to the directory holding name's last component.
func (w *walker) walkParent(name string) (Path, string, bool, error) {
	if err := w.begin(name); err != nil {
		return Path{}, "", false, err
	}
	rest := name
	for {
		c, r, last, trailing := component(rest)
		if last {
			if len(c) > nameMax {
				return Path{}, "", false, unix.ENAMETOOLONG
			}
			if !w.cur.Dentry.IsDir() {
				return Path{}, "", false, unix.ENOTDIR
			}
			return w.cur, c, trailing, nil
		}
		if err := w.step(c, true); err != nil {
			return Path{}, "", false, err
		}
		if w.cur.Dentry.inode == nil {
			return Path{}, "", false, unix.ENOENT
		}
		rest = r
	}
}

// begin positions the walker for name: at the root for an absolute name.
func (w *walker) begin(name string) error {
	if len(name) >= 4096 {
		return unix.ENAMETOOLONG
	}
	if name[0] == '/' {
		if w.flags&ResolveBeneath != 0 {
			return unix.EXDEV
		}
		w.cur = w.root
	}
	if w.cur.Dentry == nil {
		return unix.ENOENT
	}
	return nil
}

// walk resolves name entirely; follow says whether a final link is followed.
func (w *walker) walk(name string, follow bool) (Path, error) {
	if err := w.begin(name); err != nil {
		return Path{}, err
	}
	rest := name
	for {
		c, r, last, trailing := component(rest)
		if c == "" { // name was "/" or slashes only
			return w.cur, nil
		}
		if last {
			if err := w.step(c, follow || trailing); err != nil {
				return Path{}, err
			}
			if trailing && w.cur.Dentry.inode != nil && !w.cur.Dentry.IsDir() {
				return Path{}, unix.ENOTDIR
			}
			return w.cur, nil
		}
		if err := w.step(c, true); err != nil {
			return Path{}, err
		}
		if w.cur.Dentry.inode == nil {
			return Path{}, unix.ENOENT
		}
		rest = r
	}
}

// step moves the walker through one component, following it if it is a
// symbolic link and follow is set. A missing final component leaves the
// walker on a negative dentry.
func (w *walker) step(c string, follow bool) error {
	d := w.cur.Dentry
	if d.inode == nil {
		return unix.ENOENT
	}
	if !d.IsDir() {
		return unix.ENOTDIR
	}
	if err := w.v.permission(w.ctx, d, MayExec); err != nil {
		return err
	}
	if len(c) > nameMax {
		return unix.ENAMETOOLONG
	}
	switch c {
	case ".":
		return nil
	case "..":
		return w.dotdot()
	}
	child, err := w.v.lookupChild(w.ctx, d, c)
	if err != nil {
		return err
	}
	next := Path{w.cur.Mount, child}
	if child.inode != nil {
		next = w.crossMounts(next)
		if next.Mount != w.startDev && w.flags&ResolveNoXdev != 0 {
			return unix.EXDEV
		}
	}
	if child.inode == nil || child.typ != unix.S_IFLNK || !follow {
		w.cur = next
		return nil
	}
	return w.followLink(next)
}

// crossMounts descends into whatever is mounted on p.
func (w *walker) crossMounts(p Path) Path {
	for {
		m := p.Mount.ns.mountedOn(p.Mount, p.Dentry)
		if m == nil {
			return p
		}
		p = Path{m, m.root}
	}
}

// dotdot moves to the parent, never above the walk's root: from a
// mount's root to the place it is mounted on first.
func (w *walker) dotdot() error {
	for {
		if w.cur == w.root {
			if w.flags&ResolveBeneath != 0 {
				return unix.EXDEV
			}
			return nil
		}
		if w.cur.Dentry != w.cur.Mount.root {
			break
		}
		parent := w.cur.Mount.parentPath()
		if parent.Mount == nil {
			return nil // the namespace's root
		}
		if w.flags&ResolveNoXdev != 0 {
			return unix.EXDEV
		}
		w.cur = parent
	}
	w.v.treeMu.RLock()
	parent := w.cur.Dentry.parent
	w.v.treeMu.RUnlock()
	if parent == nil {
		return nil
	}
	if w.flags&(ResolveBeneath|ResolveInRoot) != 0 && !w.v.isBelowRoot(w.cur, w.root) {
		// The directory was moved out from under the root while we
		// walked: Linux fails such walks with EXDEV (or EAGAIN).
		return unix.EXDEV
	}
	w.cur = w.crossMounts(Path{w.cur.Mount, parent})
	return nil
}

// parentPath is where the mount is attached.
func (m *Mount) parentPath() Path {
	ns := m.ns
	if ns == nil {
		return Path{}
	}
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	if m.parent == nil {
		return Path{}
	}
	return Path{m.parent, m.point}
}

// isBelowRoot reports whether p is at or below root.
func (v *VFS) isBelowRoot(p, root Path) bool {
	ns := p.Mount.ns
	if ns == nil {
		return false
	}
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return v.reachableLocked(p, root)
}

// followLink walks to where the symbolic link at link points.
func (w *walker) followLink(link Path) error {
	w.links++
	if w.links > MaxSymlinks {
		return unix.ELOOP
	}
	if w.flags&ResolveNoSymlinks != 0 {
		return unix.ELOOP
	}
	if magic, ok := link.Dentry.inode.(MagicLinkInode); ok {
		if w.flags&(ResolveNoMagiclinks|ResolveBeneath|ResolveInRoot) != 0 {
			return unix.ELOOP
		}
		p, f, err := magic.Follow(w.ctx)
		if err != nil {
			return err
		}
		if f != nil {
			defer f.DecRef()
			if f.path.Dentry == nil {
				// A file with no name (a pipe): opening the link
				// reopens it, which the caller does from the link.
				w.cur = link
				return errNoPath
			}
			p = f.path
		}
		w.cur = p
		return nil
	}
	sl, ok := link.Dentry.inode.(SymlinkInode)
	if !ok {
		return unix.EINVAL
	}
	target, err := sl.Readlink(w.ctx)
	if err != nil {
		return err
	}
	if target == "" {
		return unix.ENOENT
	}
	// The target walks from the link's directory (w.cur) or the root.
	p, err := w.walk(target, true)
	if err != nil {
		return err
	}
	w.cur = p
	return nil
}

// errNoPath says a walk reached, through a magic link, a file that has
// no path; the open path reopens the file instead.
var errNoPath = &walkError{"magic link to a file without a path"}

type walkError struct{ s string }

func (e *walkError) Error() string { return e.s }

// PathName returns p's name as seen from root, and whether p is below
// root at all. An unlinked file's name ends in " (deleted)".
func (v *VFS) PathName(root, p Path) (string, bool) {
	if p.Dentry == nil {
		return "", false
	}
	var parts []string
	m, d := p.Mount, p.Dentry
	reachable := true
	v.treeMu.RLock()
	for {
		if m == root.Mount && d == root.Dentry {
			break
		}
		if m != nil && d == m.root {
			parent := m.parentPath()
			if parent.Mount == nil {
				reachable = root.Dentry == nil
				break
			}
			m, d = parent.Mount, parent.Dentry
			continue
		}
		if d.parent == nil {
			reachable = false
			break
		}
		parts = append(parts, d.name)
		d = d.parent
	}
	v.treeMu.RUnlock()
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	name := b.String()
	if name == "" {
		name = "/"
	}
	if p.Dentry.Dead() {
		name += " (deleted)"
	}
	return name, reachable
}
