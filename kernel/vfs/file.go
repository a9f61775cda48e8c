package vfs

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"magawa/kernel/waiter"
)

// FileImpl is what a file system provides for an open file.
type FileImpl interface {
	// ReadAt reads into dst from offset off (ignored by streams).
	ReadAt(dst []byte, off int64) (int, error)
	// WriteAt writes src at offset off (ignored by streams).
	WriteAt(src []byte, off int64) (int, error)
	// Stat describes the file.
	Stat(st *unix.Stat_t) error
	// Seekable reports whether the file has offsets (ESPIPE otherwise).
	Seekable() bool
	// Release is called when the last descriptor of the file is closed.
	Release()
}

// DirectoryImpl is implemented by files that are directories.
type DirectoryImpl interface {
	// Getdents fills dst with linux_dirent64 records from the directory
	// position pos, and returns the bytes filled and the next position.
	Getdents(dst []byte, pos int64) (n int, next int64, err error)
}

// IoctlImpl is implemented by files that take ioctls.
type IoctlImpl interface {
	// Ioctl performs request with the argument arg (a value or an
	// application address, depending on the request); io copies memory.
	Ioctl(io IO, request uint32, arg uintptr) (uintptr, error)
}

// IO copies to and from the calling task's memory.
type IO interface {
	CopyIn(addr uintptr, dst []byte) (int, error)
	CopyOut(addr uintptr, src []byte) (int, error)
}

// ReadlinkImpl is implemented by files that may be symbolic links opened
// with O_PATH|O_NOFOLLOW.
type ReadlinkImpl interface {
	Readlink() (string, error)
}

// SeekImpl is implemented by files whose offset lives outside the kernel:
// host descriptors shared with the world outside the sandbox (standard
// streams redirected to files). Their ReadAt and WriteAt take -1 for "at
// the offset" and a position for pread and pwrite.
type SeekImpl interface {
	Seek(offset int64, whence int) (int64, error)
	// Positional reports whether pread and pwrite work (regular files).
	Positional() bool
}

// File is an open file description: shared by duplicated descriptors and
// (with processes) across fork.
type File struct {
	Impl FileImpl
	refs atomic.Int64
	// path is where the file was opened; zero for files with no name
	// (pipes, sockets, event descriptors).
	path Path

	// setIDBits is set when the file was opened with set-ID bits, which
	// a write may have to clear.
	setIDBits atomic.Bool

	// locks, once set, tells the lock layer about closes.
	locks atomic.Pointer[LockHooks]

	// notifyCounted says the open was counted for inotify (notify.go),
	// so that its last close is too.
	notifyCounted bool

	// releaseMu guards onRelease: what is to be told when the file is
	// released (epoll instances watching it). A leaf lock: the
	// functions run after it is dropped.
	releaseMu sync.Mutex
	onRelease map[any]func()

	// mu guards offset and flags.
	mu     sync.Mutex
	offset int64
	flags  int // O_ACCMODE | status flags (O_APPEND, O_NONBLOCK, ...)
}

// NewFile returns a file description holding one reference.
func NewFile(impl FileImpl, flags int) *File {
	f := &File{Impl: impl, flags: flags}
	f.refs.Store(1)
	return f
}

// NewFileAt returns a file description opened at p, holding one reference.
func NewFileAt(impl FileImpl, flags int, p Path) *File {
	f := NewFile(impl, flags)
	f.path = p
	return f
}

// HasSetIDBits reports whether the file was opened with set-ID bits that
// a write may have to clear (see VFS.RemovePrivs).
func (f *File) HasSetIDBits() bool { return f.setIDBits.Load() }

// Path returns where the file was opened (zero for a file with no name).
func (f *File) Path() Path { return f.path }

// Statx describes the file: through its inode when it has a path, else
// through the implementation.
func (f *File) Statx(ctx *Context, mask uint32) (unix.Statx_t, error) {
	if f.path.Dentry != nil && f.path.Dentry.inode != nil {
		return f.path.Stat(ctx, mask)
	}
	if sx, ok := f.Impl.(StatxImpl); ok {
		return sx.Statx(mask, 0)
	}
	var st unix.Stat_t
	if err := f.Impl.Stat(&st); err != nil {
		return unix.Statx_t{}, err
	}
	return StatxFromStat(&st), nil
}

// OnRelease has fn called once when the file is released (its last
// reference dropped), unless RemoveOnRelease(key) comes first: an epoll
// instance forgets a file that is closed, as Linux's eventpoll_release()
// makes it, without holding a reference that would keep it open.
func (f *File) OnRelease(key any, fn func()) {
	f.releaseMu.Lock()
	defer f.releaseMu.Unlock()
	if f.onRelease == nil {
		f.onRelease = map[any]func(){}
	}
	f.onRelease[key] = fn
}

// RemoveOnRelease undoes OnRelease(key).
func (f *File) RemoveOnRelease(key any) {
	f.releaseMu.Lock()
	defer f.releaseMu.Unlock()
	delete(f.onRelease, key)
}

// IncRef takes a reference.
func (f *File) IncRef() { f.refs.Add(1) }

// DecRef drops a reference, releasing the file on the last one.
func (f *File) DecRef() {
	if f.refs.Add(-1) == 0 {
		f.releaseMu.Lock()
		hooks := f.onRelease
		f.onRelease = nil
		f.releaseMu.Unlock()
		for _, fn := range hooks {
			fn()
		}
		if f.notifyCounted || f.notifying() {
			f.notifyClose()
		}
		if h := f.locks.Load(); h != nil {
			h.Released()
		}
		f.Impl.Release()
	}
}

// Flags returns the access mode and status flags.
func (f *File) Flags() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.flags
}

// settableFlags are the status flags F_SETFL may change.
// Linux: fs/fcntl.c, SETFL_MASK.
const settableFlags = unix.O_APPEND | unix.O_NONBLOCK | unix.O_DIRECT | unix.O_NOATIME | unix.O_ASYNC

// SetFlags replaces the settable status flags.
func (f *File) SetFlags(flags int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flags = f.flags&^settableFlags | flags&settableFlags
}

// Readable and Writable report the access mode.
func (f *File) Readable() bool {
	m := f.Flags() & unix.O_ACCMODE
	return m == unix.O_RDONLY || m == unix.O_RDWR
}

func (f *File) Writable() bool {
	m := f.Flags() & unix.O_ACCMODE
	return m == unix.O_WRONLY || m == unix.O_RDWR
}

// Read reads at the file offset, advancing it. fill is called with the
// implementation's reader and does the copying (so reads can go straight
// into application memory).
func (f *File) Read(fill func(read func(dst []byte) (int, error)) (int, error)) (int, error) {
	return f.accessed(f.read(fill))
}

func (f *File) read(fill func(read func(dst []byte) (int, error)) (int, error)) (int, error) {
	if !f.Readable() || f.Flags()&unix.O_PATH != 0 {
		return 0, unix.EBADF
	}
	if _, ok := f.Impl.(DirectoryImpl); ok {
		return 0, unix.EISDIR
	}
	if !f.Impl.Seekable() {
		return fill(func(dst []byte) (int, error) { return f.Impl.ReadAt(dst, -1) })
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := fill(func(dst []byte) (int, error) {
		k, err := f.Impl.ReadAt(dst, f.offset)
		f.offset += int64(k)
		return k, err
	})
	return n, err
}

// Pread reads at off without moving the file offset.
// Linux: fs/read_write.c, ksys_pread64(): ESPIPE before EBADF.
func (f *File) Pread(off int64, fill func(read func(dst []byte) (int, error)) (int, error)) (int, error) {
	return f.accessed(f.pread(off, fill))
}

func (f *File) pread(off int64, fill func(read func(dst []byte) (int, error)) (int, error)) (int, error) {
	if f.Flags()&unix.O_PATH != 0 {
		return 0, unix.EBADF
	}
	if _, ok := f.Impl.(DirectoryImpl); ok {
		return 0, unix.EISDIR
	}
	if !f.positional() {
		return 0, unix.ESPIPE
	}
	if !f.Readable() {
		return 0, unix.EBADF
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	return fill(func(dst []byte) (int, error) {
		k, err := f.Impl.ReadAt(dst, off)
		off += int64(k)
		return k, err
	})
}

// Write writes at the file offset (or the end with O_APPEND), advancing it.
func (f *File) Write(drain func(write func(src []byte) (int, error)) (int, error)) (int, error) {
	return f.modified(f.write(drain))
}

func (f *File) write(drain func(write func(src []byte) (int, error)) (int, error)) (int, error) {
	if !f.Writable() || f.Flags()&unix.O_PATH != 0 {
		return 0, unix.EBADF
	}
	if !f.Impl.Seekable() {
		return drain(func(src []byte) (int, error) { return f.Impl.WriteAt(src, -1) })
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.flags&unix.O_APPEND != 0 {
		if a, ok := f.Impl.(AppendImpl); ok {
			return drain(func(src []byte) (int, error) {
				n, end, err := a.Append(src)
				f.offset = end
				return n, err
			})
		}
		var st unix.Stat_t
		if err := f.Impl.Stat(&st); err != nil {
			return 0, err
		}
		f.offset = st.Size
	}
	return drain(func(src []byte) (int, error) {
		if f.offset+int64(len(src)) < 0 {
			return 0, unix.EINVAL // the end would overflow
		}
		k, err := f.Impl.WriteAt(src, f.offset)
		f.offset += int64(k)
		return k, err
	})
}

// Pwrite writes at off without moving the file offset.
func (f *File) Pwrite(off int64, drain func(write func(src []byte) (int, error)) (int, error)) (int, error) {
	return f.modified(f.pwrite(off, drain))
}

func (f *File) pwrite(off int64, drain func(write func(src []byte) (int, error)) (int, error)) (int, error) {
	if f.Flags()&unix.O_PATH != 0 {
		return 0, unix.EBADF
	}
	if !f.positional() {
		return 0, unix.ESPIPE
	}
	if !f.Writable() {
		return 0, unix.EBADF
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	if f.Flags()&unix.O_APPEND != 0 {
		// Linux appends whatever offset pwrite names; the file offset
		// stays.
		return f.appendAtEnd(drain)
	}
	return drain(func(src []byte) (int, error) {
		if off+int64(len(src)) < 0 {
			return 0, unix.EINVAL // the end would overflow
		}
		k, err := f.Impl.WriteAt(src, off)
		off += int64(k)
		return k, err
	})
}

// AppendImpl is implemented by files that can write at their end
// atomically (O_APPEND from several descriptions at once); end is the
// size after the write.
type AppendImpl interface {
	Append(src []byte) (n int, end int64, err error)
}

// AppendAt writes at the end of the file without moving the offset
// (pwritev2 with RWF_APPEND, pwrite on an O_APPEND description).
func (f *File) AppendAt(drain func(write func(src []byte) (int, error)) (int, error)) (int, error) {
	if f.Flags()&unix.O_PATH != 0 || !f.Writable() {
		return 0, unix.EBADF
	}
	if !f.positional() {
		return 0, unix.ESPIPE
	}
	return f.modified(f.appendAtEnd(drain))
}

func (f *File) appendAtEnd(drain func(write func(src []byte) (int, error)) (int, error)) (int, error) {
	if a, ok := f.Impl.(AppendImpl); ok {
		return drain(func(src []byte) (int, error) {
			n, _, err := a.Append(src)
			return n, err
		})
	}
	return drain(func(src []byte) (int, error) {
		var st unix.Stat_t
		if err := f.Impl.Stat(&st); err != nil {
			return 0, err
		}
		return f.Impl.WriteAt(src, st.Size)
	})
}

// positional reports whether pread and pwrite work on the file.
func (f *File) positional() bool {
	if f.Impl.Seekable() {
		return true
	}
	s, ok := f.Impl.(SeekImpl)
	return ok && s.Positional()
}

// Seek implements lseek. Linux: fs/read_write.c, generic_file_llseek().
func (f *File) Seek(offset int64, whence int) (int64, error) {
	if f.Flags()&unix.O_PATH != 0 {
		return 0, unix.EBADF
	}
	if s, ok := f.Impl.(SeekImpl); ok {
		return s.Seek(offset, whence)
	}
	if !f.Impl.Seekable() {
		return 0, unix.ESPIPE
	}
	if _, isDir := f.Impl.(DirectoryImpl); isDir && whence != unix.SEEK_SET && whence != unix.SEEK_CUR {
		return 0, unix.EINVAL // Linux: fs/libfs.c, dcache_dir_lseek()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var base int64
	switch whence {
	case unix.SEEK_SET:
	case unix.SEEK_CUR:
		base = f.offset
	case unix.SEEK_END:
		var st unix.Stat_t
		if err := f.Impl.Stat(&st); err != nil {
			return 0, err
		}
		base = st.Size
	case unix.SEEK_DATA, unix.SEEK_HOLE:
		if sd, ok := f.Impl.(SeekDataImpl); ok {
			n, err := sd.SeekData(offset, whence)
			if err != nil {
				return 0, err
			}
			f.offset = n
			return n, nil
		}
		// Files without holes: data runs to the end.
		var st unix.Stat_t
		if err := f.Impl.Stat(&st); err != nil {
			return 0, err
		}
		if offset < 0 || offset >= st.Size {
			return 0, unix.ENXIO
		}
		if whence == unix.SEEK_HOLE {
			offset = st.Size
		}
	default:
		return 0, unix.EINVAL
	}
	n := base + offset
	if (offset > 0 && n < base) || n < 0 {
		return 0, unix.EINVAL
	}
	f.offset = n
	return n, nil
}

// Getdents reads directory entries at the file offset.
func (f *File) Getdents(dst []byte) (int, error) {
	n, err := f.getdents(dst)
	if err == nil && f.notifying() {
		f.notifyIO(unix.IN_ACCESS) // every call, as Linux's iterate_dir()
	}
	return n, err
}

func (f *File) getdents(dst []byte) (int, error) {
	if f.Flags()&unix.O_PATH != 0 {
		return 0, unix.EBADF
	}
	d, ok := f.Impl.(DirectoryImpl)
	if !ok {
		return 0, unix.ENOTDIR
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n, next, err := d.Getdents(dst, f.offset)
	if err != nil {
		return 0, err
	}
	f.offset = next
	return n, nil
}

// PathImpl is implemented by files that know their path in the
// sandbox's root, so names can be resolved relative to them.
type PathImpl interface {
	Path() string
}

// StatxImpl is implemented by files that can answer statx(2) with more
// than Stat gives.
type StatxImpl interface {
	Statx(mask uint32, syncFlags int) (unix.Statx_t, error)
}

// Waitable is implemented by files whose readiness changes over time
// (pipes, sockets, event descriptors). Their reads and writes return
// EAGAIN instead of blocking; the system-call layer waits on their queue.
type Waitable interface {
	// Readiness returns which of mask (waiter.Event* bits) hold now.
	Readiness(mask uint32) uint32
	EventRegister(e *waiter.Entry)
	EventUnregister(e *waiter.Entry)
}

// NonBlocking reports whether O_NONBLOCK is set.
func (f *File) NonBlocking() bool { return f.Flags()&unix.O_NONBLOCK != 0 }

// HostBlocking marks files whose reads may wait on the host for long (the
// standard streams): they are read through a kernel buffer, never
// straight into locked application memory.
type HostBlocking interface {
	HostBlocking()
}

// LockHooks are what the lock layer runs when a file that took locks is
// closed: Closed when any descriptor of it is closed by a descriptor
// table (POSIX locks belong to the table's users and go on any close),
// Released when the description's last reference goes (OFD locks and
// flock belong to the description).
type LockHooks struct {
	Closed   func(table *FDTable)
	Released func()
}

// SetLockHooks installs h unless hooks are already installed.
func (f *File) SetLockHooks(h *LockHooks) { f.locks.CompareAndSwap(nil, h) }

func (f *File) closedBy(t *FDTable) {
	if h := f.locks.Load(); h != nil {
		h.Closed(t)
	}
}

// FallocateImpl is implemented by regular files that take fallocate(2):
// mode is FALLOC_FL_* (0 allocates and may grow the file).
type FallocateImpl interface {
	Fallocate(mode uint32, off, length int64) error
}

// SeekDataImpl is implemented by files with holes: it answers SEEK_DATA
// and SEEK_HOLE from off.
type SeekDataImpl interface {
	SeekData(off int64, whence int) (int64, error)
}

// accessed and modified report a read (IN_ACCESS) or write (IN_MODIFY)
// that moved bytes to inotify (notify.go), and pass its result on.
func (f *File) accessed(n int, err error) (int, error) {
	if n > 0 && f.notifying() {
		f.notifyIO(unix.IN_ACCESS)
	}
	return n, err
}

func (f *File) modified(n int, err error) (int, error) {
	if n > 0 && f.notifying() {
		f.notifyIO(unix.IN_MODIFY)
	}
	return n, err
}
