package vfs

import (
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Mount flags, as the MS_* per-mount flags.
const (
	MountReadOnly = unix.MS_RDONLY
	MountNoSuid   = unix.MS_NOSUID
	MountNoDev    = unix.MS_NODEV
	MountNoExec   = unix.MS_NOEXEC
	MountNoAtime  = unix.MS_NOATIME

	mountFlagsMask = MountReadOnly | MountNoSuid | MountNoDev | MountNoExec | MountNoAtime
)

// Mount is a file system (or a subtree of one, for bind mounts) attached
// at a place in a mount namespace.
type Mount struct {
	ID     int
	fs     FileSystem
	root   *Dentry
	source string
	flags  atomic.Uint32

	// parent and point are where the mount is attached; nil for a
	// namespace's root. Guarded by the namespace's mu.
	parent *Mount
	point  *Dentry
	ns     *MountNamespace

	// vfs is the VFS the mount belongs to, for its files' inotify events.
	vfs *VFS

	// rootName, when set, is what mountinfo shows as the root of the
	// mount's file system: a gofer export is a host directory, which
	// Linux would show as a bind of that directory (SetRootName).
	rootName string
}

// SetRootName makes mountinfo show name as the root of the mounted file
// system (the host path a gofer export serves). Call it before the
// mount is visible.
func (m *Mount) SetRootName(name string) { m.rootName = name }

// Flags returns the mount's MS_* flags.
func (m *Mount) Flags() uint32 { return m.flags.Load() }

// FileSystem returns the mounted file system.
func (m *Mount) FileSystem() FileSystem { return m.fs }

// Root returns the mount's root dentry.
func (m *Mount) Root() *Dentry { return m.root }

// Source is the mount's source as mount(2) got it ("tmpfs", "proc", a path).
func (m *Mount) Source() string { return m.source }

// ReadOnly reports whether writes through the mount fail with EROFS.
func (m *Mount) ReadOnly() bool { return m.flags.Load()&MountReadOnly != 0 }

type mountKey struct {
	parent *Mount
	point  *Dentry
}

// MountNamespace is a tree of mounts.
type MountNamespace struct {
	vfs *VFS

	mu   sync.RWMutex
	root *Mount
	// mounts maps a mount point to the mount on it; mounting again on the
	// same place mounts on the top mount's root, so stacks are chains.
	mounts map[mountKey]*Mount
}

// Root returns the namespace's root: the root mount's root directory.
func (ns *MountNamespace) Root() Path {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return Path{ns.root, ns.root.root}
}

// VFS is the kernel's virtual file system: the mount namespaces, the
// registries of devices and special files, and the tree lock.
type VFS struct {
	// treeMu guards every Dentry's name and parent: rename holds it to
	// move a dentry, path names read under it.
	treeMu sync.RWMutex
	// renameMu serializes renames, so a rename's two directories can be
	// locked in any order and a directory cannot move below itself
	// between the check and the move.
	renameMu sync.Mutex

	lastMountID atomic.Int64
	// fsMounts counts the mounts of each file system, to release it on
	// the last unmount.
	fsMu     sync.Mutex
	fsMounts map[FileSystem]int

	devMu      sync.RWMutex
	devices    map[deviceKey]DeviceOpener
	fifoOpener FIFOOpener
	fsTypes    map[string]FileSystemType

	// notify holds the inotify watches (notify.go).
	notify notifyTable
}

// New returns an empty VFS.
func New() *VFS {
	return &VFS{fsMounts: map[FileSystem]int{}, devices: map[deviceKey]DeviceOpener{}}
}

func (v *VFS) newMount(fs FileSystem, root *Dentry, source string, flags uint32) *Mount {
	m := &Mount{ID: int(v.lastMountID.Add(1)), fs: fs, root: root, source: source, vfs: v}
	m.flags.Store(flags & mountFlagsMask)
	v.fsMu.Lock()
	v.fsMounts[fs]++
	v.fsMu.Unlock()
	return m
}

func (v *VFS) dropMount(m *Mount) {
	v.fsMu.Lock()
	v.fsMounts[m.fs]--
	last := v.fsMounts[m.fs] == 0
	if last {
		delete(v.fsMounts, m.fs)
	}
	v.fsMu.Unlock()
	if last {
		v.notifyUnmount(m.fs)
		m.fs.Release()
	}
}

// NewMountNamespace returns a namespace whose root is fs.
func (v *VFS) NewMountNamespace(fs FileSystem, source string, flags uint32) *MountNamespace {
	ns := &MountNamespace{vfs: v, mounts: map[mountKey]*Mount{}}
	root := NewRootDentry(fs.Root())
	ns.root = v.newMount(fs, root, source, flags)
	ns.root.ns = ns
	return ns
}

// NewFileSystemRoot returns the root dentry for mounting fs.
func NewFileSystemRoot(fs FileSystem) *Dentry { return NewRootDentry(fs.Root()) }

// Mount attaches fs at target (already resolved, following links, to a
// directory). Mounting where something is mounted covers it.
func (v *VFS) Mount(ctx *Context, target Path, fs FileSystem, source string, flags uint32) (*Mount, error) {
	return v.attach(target, NewRootDentry(fs.Root()), fs, source, flags)
}

// BindMount attaches the subtree at source to target. Without recursive,
// mounts below source are not carried over (MS_BIND without MS_REC).
func (v *VFS) BindMount(ctx *Context, source, target Path, flags uint32, recursive bool) error {
	if source.Dentry.Dead() {
		return unix.ENOENT
	}
	if source.Dentry.IsDir() != target.Dentry.IsDir() {
		return unix.ENOTDIR // Linux: fs/namespace.c, graft_tree()
	}
	// The mounts below source are those before the bind: binding a
	// tree onto itself (or below itself) must not copy the new mount.
	var below []*Mount
	ns := target.Mount.ns
	if recursive {
		ns.mu.Lock()
		below = ns.sortedLocked()
		ns.mu.Unlock()
	}
	m, err := v.attach(target, source.Dentry, source.Mount.fs, source.Mount.source, flags)
	if err != nil || !recursive {
		return err
	}
	// Copy the mounts below source, each onto the copy of its parent.
	ns.mu.Lock()
	defer ns.mu.Unlock()
	copies := map[*Mount]*Mount{source.Mount: m}
	for _, child := range below {
		if child.parent == nil {
			continue
		}
		parentCopy, ok := copies[child.parent]
		if !ok || !v.isBelow(child.point, child.parent, source) {
			continue
		}
		c := v.newMount(child.fs, child.root, child.source, child.Flags())
		c.parent, c.point, c.ns = parentCopy, child.point, ns
		child.point.mounts.Add(1)
		ns.mounts[mountKey{parentCopy, child.point}] = c
		copies[child] = c
	}
	return nil
}

// isBelow reports whether dentry d of mount m lies at or below p, within p's mount.
func (v *VFS) isBelow(d *Dentry, m *Mount, p Path) bool {
	if m != p.Mount {
		return true // a mount below a mount below p
	}
	v.treeMu.RLock()
	defer v.treeMu.RUnlock()
	for ; d != nil; d = d.parent {
		if d == p.Dentry {
			return true
		}
	}
	return false
}

func (v *VFS) attach(target Path, root *Dentry, fs FileSystem, source string, flags uint32) (*Mount, error) {
	if target.Dentry.Dead() {
		return nil, unix.ENOENT
	}
	ns := target.Mount.ns
	ns.mu.Lock()
	defer ns.mu.Unlock()
	// Mounting on a covered place mounts on the top of the stack.
	for {
		top, ok := ns.mounts[mountKey{target.Mount, target.Dentry}]
		if !ok {
			break
		}
		target = Path{top, top.root}
	}
	m := v.newMount(fs, root, source, flags)
	m.parent, m.point, m.ns = target.Mount, target.Dentry, ns
	target.Dentry.mounts.Add(1)
	ns.mounts[mountKey{target.Mount, target.Dentry}] = m
	return m, nil
}

// Remount changes the flags of the mount at p's root.
func (v *VFS) Remount(p Path, flags uint32) error {
	if p.Dentry != p.Mount.root {
		return unix.EINVAL
	}
	p.Mount.flags.Store(flags & mountFlagsMask)
	return nil
}

// Umount detaches the mount whose root p is, with everything mounted
// below it (Linux's lazy MNT_DETACH; open files keep working).
func (v *VFS) Umount(p Path) error {
	m := p.Mount
	if p.Dentry != m.root {
		return unix.EINVAL
	}
	ns := m.ns
	ns.mu.Lock()
	if m.parent == nil {
		ns.mu.Unlock()
		return unix.EINVAL // the namespace's root
	}
	gone := []*Mount{m}
	for i := 0; i < len(gone); i++ {
		for k, c := range ns.mounts {
			if k.parent == gone[i] {
				gone = append(gone, c)
			}
		}
	}
	for _, g := range gone {
		delete(ns.mounts, mountKey{g.parent, g.point})
		g.point.mounts.Add(-1)
		g.ns = nil
	}
	// A mount stacked on m's root now sits on m's place.
	ns.mu.Unlock()
	for _, g := range gone {
		v.dropMount(g)
	}
	return nil
}

// PivotRoot makes newRoot the namespace's root and attaches the old root
// at putOld (below newRoot). Linux: fs/namespace.c, pivot_root(2).
func (v *VFS) PivotRoot(root, newRoot, putOld Path) error {
	ns := newRoot.Mount.ns
	if ns == nil || putOld.Mount.ns != ns {
		return unix.EINVAL
	}
	if newRoot.Dentry.Dead() {
		return unix.ENOENT
	}
	if newRoot.Mount == root.Mount || putOld.Mount == root.Mount {
		return unix.EBUSY // on the same mount as the current root
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if newRoot.Dentry != newRoot.Mount.root || newRoot.Mount == ns.root {
		return unix.EINVAL
	}
	if !v.reachableLocked(putOld, newRoot) {
		return unix.EINVAL
	}
	oldRoot := ns.root
	// Detach newRoot from its place...
	delete(ns.mounts, mountKey{newRoot.Mount.parent, newRoot.Mount.point})
	newRoot.Mount.point.mounts.Add(-1)
	// ...attach the old root at putOld...
	oldRoot.parent, oldRoot.point = putOld.Mount, putOld.Dentry
	putOld.Dentry.mounts.Add(1)
	ns.mounts[mountKey{putOld.Mount, putOld.Dentry}] = oldRoot
	// ...and make newRoot the root.
	newRoot.Mount.parent, newRoot.Mount.point = nil, nil
	ns.root = newRoot.Mount
	return nil
}

// reachableLocked reports whether p is at or below top through the mount tree.
func (v *VFS) reachableLocked(p, top Path) bool {
	v.treeMu.RLock()
	defer v.treeMu.RUnlock()
	m, d := p.Mount, p.Dentry
	for {
		if m == top.Mount {
			for ; d != nil; d = d.parent {
				if d == top.Dentry {
					return true
				}
			}
			return false
		}
		if m.parent == nil {
			return false
		}
		m, d = m.parent, m.point
	}
}

// mountedOn returns the mount on (m, d), or nil.
func (ns *MountNamespace) mountedOn(m *Mount, d *Dentry) *Mount {
	if ns == nil || !d.isMountpoint() {
		return nil
	}
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return ns.mounts[mountKey{m, d}]
}

// sortedLocked returns the mounts parents first, in mount order.
func (ns *MountNamespace) sortedLocked() []*Mount {
	all := []*Mount{ns.root}
	for _, m := range ns.mounts {
		all = append(all, m)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	return all
}

// MountInfo describes one mount for /proc/[pid]/mounts and mountinfo.
type MountInfo struct {
	ID, ParentID int
	// Root is the mount's root inside its file system ("/" unless a
	// bind mount of a subtree); MountPoint is where it is attached,
	// relative to the reader's root.
	Root       string
	MountPoint string
	Flags      uint32
	Type       string
	Source     string
	Options    string
}

// Mounts lists the mounts visible from root, in mount order.
func (ns *MountNamespace) Mounts(root Path) []MountInfo {
	ns.mu.RLock()
	all := ns.sortedLocked()
	ns.mu.RUnlock()
	var out []MountInfo
	for _, m := range all {
		point, ok := ns.vfs.PathName(root, Path{m, m.root})
		if !ok {
			continue
		}
		parentID := m.ID
		if m.parent != nil {
			parentID = m.parent.ID
		}
		fsRoot := ns.vfs.pathInFileSystem(m.root)
		if m.rootName != "" {
			if fsRoot == "/" {
				fsRoot = m.rootName
			} else {
				fsRoot = path.Join(m.rootName, fsRoot)
			}
		}
		out = append(out, MountInfo{
			ID: m.ID, ParentID: parentID, Root: fsRoot, MountPoint: point,
			Flags: m.Flags(), Type: m.fs.Type(), Source: m.source, Options: m.fs.Options(),
		})
	}
	return out
}

// pathInFileSystem is d's name from its file system's root, mounts
// ignored: the root of a bind mount as mountinfo shows it.
func (v *VFS) pathInFileSystem(d *Dentry) string {
	v.treeMu.RLock()
	defer v.treeMu.RUnlock()
	name := ""
	for ; d.parent != nil; d = d.parent {
		name = "/" + d.name + name
	}
	if name == "" {
		return "/"
	}
	return name
}

// Move moves the mount whose root is source to target (MS_MOVE).
// Linux: fs/namespace.c, do_move_mount().
func (v *VFS) Move(source, target Path) error {
	m := source.Mount
	if source.Dentry != m.root {
		return unix.EINVAL
	}
	ns := m.ns
	if ns == nil || target.Mount.ns != ns {
		return unix.EINVAL
	}
	if source.Dentry.IsDir() != target.Dentry.IsDir() {
		return unix.ENOTDIR
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if m.parent == nil {
		return unix.EINVAL // the namespace's root
	}
	// The target may not lie inside the tree being moved.
	for p := target.Mount; p != nil; p = p.parent {
		if p == m {
			return unix.ELOOP
		}
	}
	for {
		top, ok := ns.mounts[mountKey{target.Mount, target.Dentry}]
		if !ok {
			break
		}
		target = Path{top, top.root}
	}
	delete(ns.mounts, mountKey{m.parent, m.point})
	m.point.mounts.Add(-1)
	m.parent, m.point = target.Mount, target.Dentry
	target.Dentry.mounts.Add(1)
	ns.mounts[mountKey{target.Mount, target.Dentry}] = m
	return nil
}

// FlagsString renders mount flags as /proc/mounts does ("rw,nosuid").
func FlagsString(flags uint32) string {
	var b strings.Builder
	if flags&MountReadOnly != 0 {
		b.WriteString("ro")
	} else {
		b.WriteString("rw")
	}
	for _, f := range []struct {
		bit  uint32
		name string
	}{{MountNoSuid, "nosuid"}, {MountNoDev, "nodev"}, {MountNoExec, "noexec"}, {MountNoAtime, "noatime"}} {
		if flags&f.bit != 0 {
			b.WriteString("," + f.name)
		}
	}
	if flags&MountNoAtime == 0 {
		b.WriteString(",relatime") // the default atime policy
	}
	return b.String()
}
