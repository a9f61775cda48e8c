package vfs

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// This file is the VFS's side of inotify(7): watches on files, and the
// events the VFS reports to them as names and files change (Linux's
// fsnotify hooks, include/linux/fsnotify.h). A watch is on an inode, as
// Linux's are: every name of a hard-linked file reaches it (for file
// systems that return one Inode per file; the gofer's path-based inodes
// are one per name). An event about a file goes to its own watches and,
// with the file's name, to those of the directory holding it.
//
// The VFS calls the hooks where the changes happen: after a create,
// link, unlink, rmdir or rename (ops.go, open.go), an attribute change
// or extended attribute change (ops.go, xattr.go), an open, a read, a
// write, a directory read and the last close of a file (file.go,
// open.go), and the release of an unmounted file system (mount.go).
// Each hook first asks whether anything is watched in this VFS at all,
// one atomic load, so that the paths cost nothing while nobody uses
// inotify.
//
// Locking: notifyTable.mu guards the table; it is never held while
// events are delivered. Hooks run with the callers' locks held (a
// directory's Dentry.mu for name changes, never treeMu: hooks that need
// a file's name take treeMu for reading themselves), so a Watch must not
// call back into the VFS's name operations from Event. Watches take
// their own locks (an inotify instance's) and then the table's, when
// they add or remove themselves: order Dentry.mu → watch locks →
// notifyTable.mu.

// Watch is one watch on a file: an inotify watch.
type Watch interface {
	// Event reports ev. IN_DELETE_SELF and IN_UNMOUNT end the watch:
	// they are reported whatever it asked for, and the VFS forgets it
	// after.
	Event(ev NotifyEvent)
}

// NotifyEvent is one event about a file.
type NotifyEvent struct {
	// Mask holds the IN_* events (an attribute change may be several),
	// with IN_ISDIR when the file is a directory.
	Mask uint32
	// Name is empty for an event about the watched file itself, and the
	// file's name for one reported to the directory holding it.
	Name string
	// Cookie pairs IN_MOVED_FROM with IN_MOVED_TO.
	Cookie uint32
	// Unlinked says an I/O event (open, read, write, close) is about a
	// file whose name was removed, which IN_EXCL_UNLINK watches ignore.
	Unlinked bool
}

// notifyTable is a VFS's watches and the state of the files they watch.
type notifyTable struct {
	// active counts the watches: the hooks' cheap test.
	active atomic.Int64
	cookie atomic.Uint32

	mu     sync.Mutex
	inodes map[Inode]*inodeNotify
}

// inodeNotify is the notification state of one watched file.
type inodeNotify struct {
	fs FileSystem
	// watches is replaced, never changed in place, so that a copy of it
	// can be delivered to without the lock.
	watches []Watch
	// opens counts the open files of the inode opened while something
	// was watched (File.notifyOpen): Linux reports IN_DELETE_SELF when
	// the last of them closes, not at the unlink.
	opens int
	// deleted says the inode lost its last link while open.
	deleted bool
}

// notifying reports whether anything is watched: the hooks' first test.
func (v *VFS) notifying() bool { return v.notify.active.Load() != 0 }

// notifying reports whether events about f may have a watch to go to.
func (f *File) notifying() bool {
	m := f.path.Mount
	return m != nil && m.vfs != nil && m.vfs.notifying()
}

// AddWatch makes w a watch on the file at p.
func (v *VFS) AddWatch(p Path, w Watch) {
	t := &v.notify
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entryLocked(p.Dentry.inode)
	e.fs = p.Mount.fs
	e.watches = append(e.watches[:len(e.watches):len(e.watches)], w)
	t.active.Add(1)
}

// RemoveWatch ends w's watch on the file at p, if it is still there.
func (v *VFS) RemoveWatch(p Path, w Watch) {
	t := &v.notify
	t.mu.Lock()
	defer t.mu.Unlock()
	in := p.Dentry.inode
	e := t.inodes[in]
	if e == nil {
		return
	}
	for i, o := range e.watches {
		if o == w {
			e.watches = append(e.watches[:i:i], e.watches[i+1:]...)
			t.active.Add(-1)
			t.dropIfIdleLocked(in, e)
			return
		}
	}
}

func (t *notifyTable) entryLocked(in Inode) *inodeNotify {
	if t.inodes == nil {
		t.inodes = map[Inode]*inodeNotify{}
	}
	e := t.inodes[in]
	if e == nil {
		e = &inodeNotify{}
		t.inodes[in] = e
	}
	return e
}

func (t *notifyTable) dropIfIdleLocked(in Inode, e *inodeNotify) {
	if len(e.watches) == 0 && e.opens == 0 {
		delete(t.inodes, in)
	}
}

// watchesOf returns the watches on in.
func (t *notifyTable) watchesOf(in Inode) []Watch {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.inodes[in]; e != nil {
		return e.watches
	}
	return nil
}

// endLocked forgets every watch on in (the file is gone) and returns
// them, for the caller to tell once the lock is released.
func (t *notifyTable) endLocked(in Inode, e *inodeNotify) []Watch {
	ws := e.watches
	e.watches = nil
	e.deleted = false
	t.active.Add(-int64(len(ws)))
	t.dropIfIdleLocked(in, e)
	return ws
}

func deliver(ws []Watch, ev NotifyEvent) {
	for _, w := range ws {
		w.Event(ev)
	}
}

// isDirBit is IN_ISDIR for a directory.
func isDirBit(d *Dentry) uint32 {
	if d.typ == unix.S_IFDIR {
		return unix.IN_ISDIR
	}
	return 0
}

// notifyFile reports mask about the file at d: to the watches of its
// directory, with its name, then to its own, as Linux reports an event
// on a child. unlinked marks I/O events (IN_EXCL_UNLINK).
func (v *VFS) notifyFile(d *Dentry, mask uint32, io bool) {
	mask |= isDirBit(d)
	unlinked := io && d.Dead()
	v.treeMu.RLock()
	parent, name := d.parent, d.name
	v.treeMu.RUnlock()
	if parent != nil && parent.inode != nil {
		if ws := v.notify.watchesOf(parent.inode); ws != nil {
			deliver(ws, NotifyEvent{Mask: mask, Name: name, Unlinked: unlinked})
		}
	}
	v.notifySelf(d, mask, unlinked)
}

// notifySelf reports mask to the watches of the file at d alone (a
// change of its link count, its move).
func (v *VFS) notifySelf(d *Dentry, mask uint32, unlinked bool) {
	if ws := v.notify.watchesOf(d.inode); ws != nil {
		deliver(ws, NotifyEvent{Mask: mask | isDirBit(d), Unlinked: unlinked})
	}
}

// notifyDir reports an event about dir's entry name to dir's watches.
func (v *VFS) notifyDir(dir *Dentry, name string, mask, cookie uint32) {
	if ws := v.notify.watchesOf(dir.inode); ws != nil {
		deliver(ws, NotifyEvent{Mask: mask, Name: name, Cookie: cookie})
	}
}

// notifyIO reports a read (IN_ACCESS) or write (IN_MODIFY) through f.
// Linux: fs/read_write.c, vfs_read() and vfs_write().
func (f *File) notifyIO(mask uint32) {
	if f.path.Dentry == nil {
		return
	}
	f.path.Mount.vfs.notifyFile(f.path.Dentry, mask, true)
}

// notifyOpen reports the open of f (IN_OPEN, and IN_MODIFY after it when
// the open truncated the file), and counts the open, so that
// IN_DELETE_SELF waits for the last close. Linux: fs/open.c,
// do_dentry_open(); fs/namei.c, handle_truncate().
func (v *VFS) notifyOpen(f *File, truncated bool) {
	if !v.notifying() || f.flags&unix.O_PATH != 0 {
		return
	}
	d := f.path.Dentry
	t := &v.notify
	t.mu.Lock()
	t.entryLocked(d.inode).opens++
	t.mu.Unlock()
	f.notifyCounted = true
	v.notifyFile(d, unix.IN_OPEN, true)
	if truncated {
		v.notifyFile(d, unix.IN_MODIFY, true)
	}
}

// notifyClose reports the last close of f (IN_CLOSE_WRITE or
// IN_CLOSE_NOWRITE) and, when it was the last counted open of a file
// that lost its last link, the file's IN_DELETE_SELF.
// Linux: fs/file_table.c, __fput().
func (f *File) notifyClose() {
	if f.flags&unix.O_PATH != 0 || f.path.Dentry == nil {
		return
	}
	v, d := f.path.Mount.vfs, f.path.Dentry
	mask := uint32(unix.IN_CLOSE_NOWRITE)
	if acc := f.flags & unix.O_ACCMODE; acc == unix.O_WRONLY || acc == unix.O_RDWR {
		mask = unix.IN_CLOSE_WRITE
	}
	if v.notifying() {
		v.notifyFile(d, mask, true)
	}
	if !f.notifyCounted {
		return
	}
	t := &v.notify
	t.mu.Lock()
	e := t.inodes[d.inode]
	if e == nil {
		t.mu.Unlock()
		return
	}
	e.opens--
	var gone []Watch
	if e.opens == 0 && e.deleted {
		gone = t.endLocked(d.inode, e)
	} else {
		t.dropIfIdleLocked(d.inode, e)
	}
	t.mu.Unlock()
	deliver(gone, NotifyEvent{Mask: unix.IN_DELETE_SELF | isDirBit(d)})
}

// notifyCreate reports a new entry name in dir (IN_CREATE).
// Linux: include/linux/fsnotify.h, fsnotify_create() and fsnotify_mkdir().
func (v *VFS) notifyCreate(dir *Dentry, name string, child *Dentry) {
	if v.notifying() {
		v.notifyDir(dir, name, unix.IN_CREATE|isDirBit(child), 0)
	}
}

// notifyLink reports a new link name in dir to the file at target: its
// link count changed (IN_ATTRIB), then the entry (IN_CREATE).
// Linux: include/linux/fsnotify.h, fsnotify_link().
func (v *VFS) notifyLink(dir *Dentry, name string, target *Dentry) {
	if !v.notifying() {
		return
	}
	v.notifySelf(target, unix.IN_ATTRIB, false)
	v.notifyDir(dir, name, unix.IN_CREATE, 0)
}

// notifyRemove reports the removal of dir's entry name, the file child:
// for a non-directory its link count changed (IN_ATTRIB); a file left
// without links is gone (IN_DELETE_SELF, once its last open file
// closes); then the entry (IN_DELETE). Linux: fs/namei.c, vfs_unlink()
// and vfs_rmdir(); fs/dcache.c, dentry_unlink_inode().
func (v *VFS) notifyRemove(ctx *Context, dir *Dentry, name string, child *Dentry) {
	if !v.notifying() {
		return
	}
	if !child.IsDir() {
		v.notifySelf(child, unix.IN_ATTRIB, false)
	}
	v.notifyUnlinked(ctx, child)
	v.notifyDir(dir, name, unix.IN_DELETE|isDirBit(child), 0)
}

// notifyUnlinked reports IN_DELETE_SELF to the watches of child, whose
// name went, if that was its last link (a directory's only one); while
// files opened under watch are open, it waits for the last of them.
func (v *VFS) notifyUnlinked(ctx *Context, child *Dentry) {
	if !child.IsDir() {
		st, err := child.inode.Stat(ctx, unix.STATX_NLINK)
		if err == nil && st.Nlink > 0 {
			return
		}
	}
	t := &v.notify
	t.mu.Lock()
	e := t.inodes[child.inode]
	if e == nil {
		t.mu.Unlock()
		return
	}
	if e.opens > 0 {
		e.deleted = true
		t.mu.Unlock()
		return
	}
	gone := t.endLocked(child.inode, e)
	t.mu.Unlock()
	deliver(gone, NotifyEvent{Mask: unix.IN_DELETE_SELF | isDirBit(child)})
}

// notifyRename reports a rename: IN_MOVED_FROM and IN_MOVED_TO with one
// cookie, the replaced file's link count (IN_ATTRIB) and the moved
// file's IN_MOVE_SELF, then the replaced file's end if that was its last
// link; an exchange is two moves. Linux: include/linux/fsnotify.h,
// fsnotify_move(); fs/namei.c, vfs_rename().
func (v *VFS) notifyRename(ctx *Context, oldDir *Dentry, oldName string, newDir *Dentry, newName string, src, dst *Dentry, exchange bool) {
	if !v.notifying() {
		return
	}
	move := func(fromDir *Dentry, from string, toDir *Dentry, to string, moved, replaced *Dentry) {
		cookie := v.notify.cookie.Add(1)
		if cookie == 0 {
			cookie = v.notify.cookie.Add(1)
		}
		isDir := isDirBit(moved)
		v.notifyDir(fromDir, from, unix.IN_MOVED_FROM|isDir, cookie)
		v.notifyDir(toDir, to, unix.IN_MOVED_TO|isDir, cookie)
		if replaced != nil {
			v.notifySelf(replaced, unix.IN_ATTRIB, false)
		}
		v.notifySelf(moved, unix.IN_MOVE_SELF, false)
	}
	if exchange {
		move(oldDir, oldName, newDir, newName, src, nil)
		move(newDir, newName, oldDir, oldName, dst, nil)
		return
	}
	var replaced *Dentry
	if dst.inode != nil {
		replaced = dst
	}
	move(oldDir, oldName, newDir, newName, src, replaced)
	if replaced != nil {
		v.notifyUnlinked(ctx, replaced)
	}
}

// attrEvents are the events of an attribute change: a new owner or mode
// is IN_ATTRIB, a new size IN_MODIFY; new times are IN_ATTRIB for both
// (utimes), else IN_ACCESS or IN_MODIFY for the one that changed.
// Linux: include/linux/fsnotify.h, fsnotify_change().
func attrEvents(mask uint32) uint32 {
	var ev uint32
	if mask&(unix.STATX_UID|unix.STATX_GID|unix.STATX_MODE) != 0 {
		ev |= unix.IN_ATTRIB
	}
	if mask&unix.STATX_SIZE != 0 {
		ev |= unix.IN_MODIFY
	}
	switch mask & (unix.STATX_ATIME | unix.STATX_MTIME) {
	case unix.STATX_ATIME | unix.STATX_MTIME:
		ev |= unix.IN_ATTRIB
	case unix.STATX_ATIME:
		ev |= unix.IN_ACCESS
	case unix.STATX_MTIME:
		ev |= unix.IN_MODIFY
	}
	return ev
}

// notified reports events about the file at p after a change that
// returned err, and returns err: nothing is reported for a failure.
func (v *VFS) notified(p Path, events uint32, err error) error {
	if err == nil && events != 0 && v.notifying() {
		v.notifyFile(p.Dentry, events, false)
	}
	return err
}

// notifyUnmount ends the watches on the files of fs, which is going:
// each gets IN_UNMOUNT. Linux: fs/notify/fsnotify.c, fsnotify_sb_delete().
func (v *VFS) notifyUnmount(fs FileSystem) {
	if !v.notifying() {
		return
	}
	t := &v.notify
	var gone [][]Watch
	t.mu.Lock()
	for in, e := range t.inodes {
		if e.fs == fs && len(e.watches) > 0 {
			gone = append(gone, t.endLocked(in, e))
		}
	}
	t.mu.Unlock()
	for _, ws := range gone {
		deliver(ws, NotifyEvent{Mask: unix.IN_UNMOUNT})
	}
}

// NotifyModify reports a change of f's data made without Write
// (fallocate: IN_MODIFY) after it returned err, and returns err.
// Linux: fs/open.c, vfs_fallocate().
func (f *File) NotifyModify(err error) error {
	if err == nil && f.notifying() {
		f.notifyIO(unix.IN_MODIFY)
	}
	return err
}
