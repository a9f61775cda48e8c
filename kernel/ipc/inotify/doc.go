// Package inotify implements inotify(7) instances: a set of watches on
// files, each with the events it wants, and a queue of the events that
// happened, read as struct inotify_event records. The VFS reports the
// events (vfs.Watch, kernel/vfs/notify.go); this package filters them by
// each watch's mask and flags, coalesces an event identical to the last
// one still queued, bounds the queue (IN_Q_OVERFLOW past
// max_queued_events) and ends watches with IN_IGNORED.
// Linux: fs/notify/inotify/inotify_user.c and inotify_fsnotify.c.
//
// Reads that find nothing return EAGAIN; the system-call layer waits on
// the instance's queue.
//
// Locking: Instance.mu guards the watches and the event queue. The VFS
// calls Watch.Event with its own locks held (never its table's), and an
// instance adds and removes its watches in the VFS with Instance.mu
// held: order VFS dentry locks → Instance.mu → the VFS's watch table.
// The waiter queue is notified after Instance.mu is released. limitsMu
// is taken alone.
package inotify
