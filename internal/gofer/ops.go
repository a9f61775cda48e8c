package gofer

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/gofer/wire"
)

// export is one served tree.
type export struct {
	// root is the tree's root directory (O_PATH); every path is
	// resolved beneath it.
	root     int
	readOnly bool
}

// resolveFlags confine every walk from an export's root: ".." and
// absolute names stop at the root (which the paths the client sends
// never hold anyway: wire.ValidPath), and no symbolic link is followed,
// since the client's VFS walks and follows links itself, one component
// at a time. A symbolic link swapped in for a directory by a concurrent
// host rename fails the walk with ELOOP instead of leading elsewhere.
const resolveFlags = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// statxMask is what the gofer asks the host for.
const statxMask = unix.STATX_BASIC_STATS | unix.STATX_BTIME

// openAt opens path beneath the export's root with flags; a final
// symbolic link is opened itself with O_PATH and refused (ELOOP)
// otherwise.
func (x *export) openAt(path string, flags int) (int, error) {
	if path == "" {
		path = "."
	}
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW | unix.O_NOCTTY),
		Resolve: resolveFlags,
	}
	if flags&unix.O_PATH != 0 {
		how.Flags &^= unix.O_NOCTTY // openat2 refuses O_PATH with other flags
	}
	for tries := 0; ; tries++ {
		fd, err := unix.Openat2(x.root, path, &how)
		// EAGAIN: a rename somewhere on the host raced the walk, and
		// RESOLVE_IN_ROOT asks us to retry rather than guess.
		if (err == unix.EAGAIN && tries < 100) || err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

// openDir opens the directory at path (O_PATH), for *at calls.
func (x *export) openDir(path string) (int, error) {
	return x.openAt(path, unix.O_PATH|unix.O_DIRECTORY)
}

// statFD returns the attributes of the file fd refers to.
func statFD(fd int) (wire.Attr, error) {
	var sx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, statxMask, &sx); err != nil {
		return wire.Attr{}, err
	}
	return wire.AttrFromStatx(&sx), nil
}

// statAt returns the attributes of name in the directory dfd, a link
// itself rather than its target.
func statAt(dfd int, name string) (wire.Attr, error) {
	var sx unix.Statx_t
	if err := unix.Statx(dfd, name, unix.AT_SYMLINK_NOFOLLOW, statxMask, &sx); err != nil {
		return wire.Attr{}, err
	}
	return wire.AttrFromStatx(&sx), nil
}

// checkKey fails with ESTALE when the client expected another file.
func checkKey(a *wire.Attr, expect wire.FileKey) error {
	if expect != (wire.FileKey{}) && a.Key() != expect {
		return unix.ESTALE
	}
	return nil
}

func (x *export) stat(path string) (wire.Attr, error) {
	fd, err := x.openAt(path, unix.O_PATH)
	if err != nil {
		return wire.Attr{}, err
	}
	defer unix.Close(fd)
	return statFD(fd)
}

// readdir lists a directory from the host cookie req.Off on: as many
// entries as fit req.Max bytes of reply, with req.Attrs each one's
// attributes, as stat would give them (statx of the name in the opened
// directory, a symbolic link itself). The listing reaches its end (EOF)
// only when the host says so, never by guessing.
func (x *export) readdir(req *wire.ReaddirReq) (*wire.ReaddirReply, error) {
	limit := int(min(req.Max, wire.MaxMessage))
	attrSize := 0
	if req.Attrs {
		attrSize = wire.AttrSize
	}
	if limit < wire.ReaddirHeaderSize+wire.DirentSize(string(make([]byte, wire.NameMax)))+attrSize {
		return nil, unix.EINVAL
	}
	if req.Off < 0 {
		return nil, unix.EINVAL
	}
	fd, err := x.openAt(req.Path, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if _, err := unix.Seek(fd, req.Off, unix.SEEK_SET); err != nil {
		return nil, err
	}
	r := &wire.ReaddirReply{Dev: st.Dev}
	size := wire.ReaddirHeaderSize
	buf := make([]byte, min(limit, 32<<10))
	for {
		n, err := getdents(fd, buf)
		if err != nil {
			if len(r.Entries) > 0 {
				return r, nil // report what we have; the error comes again
			}
			return nil, err
		}
		if n == 0 {
			r.EOF = true
			return r, nil
		}
		for off := 0; off < n; {
			rec := buf[off:n]
			if len(rec) < 19 {
				return nil, unix.EIO
			}
			reclen := int(binary.LittleEndian.Uint16(rec[16:]))
			if reclen < 19 || reclen > len(rec) {
				return nil, unix.EIO
			}
			name := rec[19:reclen]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			ent := wire.Dirent{
				Ino:  binary.LittleEndian.Uint64(rec[0:]),
				Next: int64(binary.LittleEndian.Uint64(rec[8:])),
				Type: rec[18],
				Name: string(name),
			}
			if size+wire.DirentSize(ent.Name)+attrSize > limit {
				// Full: the client resumes after the last entry
				// sent.
				return r, nil
			}
			size += wire.DirentSize(ent.Name) + attrSize
			if req.Attrs && ent.Name != "." && ent.Name != ".." {
				// An entry gone meanwhile is listed without.
				if a, err := statAt(fd, ent.Name); err == nil {
					ent.Attr, ent.HasAttr = a, true
				}
			}
			r.Entries = append(r.Entries, ent)
			off += reclen
		}
	}
}

func getdents(fd int, buf []byte) (int, error) {
	for {
		n, err := unix.Getdents(fd, buf)
		if err != unix.EINTR {
			return n, err
		}
	}
}

func (x *export) readlink(path string) (string, error) {
	fd, err := x.openAt(path, unix.O_PATH)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	a, err := statFD(fd)
	if err != nil {
		return "", err
	}
	if a.Type() != unix.S_IFLNK {
		return "", unix.EINVAL
	}
	buf := make([]byte, wire.PathMax+1)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", err
	}
	if n > wire.PathMax {
		return "", unix.ENAMETOOLONG
	}
	if n == 0 {
		return "", unix.ENOENT
	}
	return string(buf[:n]), nil
}

// openFlags are the open(2) flags the client may pass on. O_APPEND is
// not among them: the VFS keeps the file offset and writes at explicit
// offsets, which a host O_APPEND would ignore. O_TRUNC comes as a
// SetAttr of the size.
const openFlags = unix.O_ACCMODE | unix.O_SYNC | unix.O_DSYNC | unix.O_NOATIME

// open opens a regular file for the client, who gets the host
// descriptor and reads and writes it directly.
func (x *export) open(req *wire.OpenReq) (int, wire.Attr, error) {
	acc := int(req.Flags) & unix.O_ACCMODE
	if int(req.Flags)&^openFlags != 0 || acc == unix.O_ACCMODE {
		return -1, wire.Attr{}, unix.EINVAL
	}
	if acc != unix.O_RDONLY && x.readOnly {
		return -1, wire.Attr{}, unix.EROFS
	}
	// Look before opening: only a regular file is opened for real, so
	// a FIFO never blocks us and a device (which the gofer's mounts
	// refuse anyway: nodev) is never touched.
	pfd, err := x.openAt(req.Path, unix.O_PATH)
	if err != nil {
		return -1, wire.Attr{}, err
	}
	defer unix.Close(pfd)
	a, err := statFD(pfd)
	if err != nil {
		return -1, wire.Attr{}, err
	}
	if err := checkKey(&a, req.Expect); err != nil {
		return -1, wire.Attr{}, err
	}
	switch a.Type() {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		return -1, wire.Attr{}, unix.EISDIR
	case unix.S_IFLNK:
		return -1, wire.Attr{}, unix.ELOOP
	default:
		return -1, wire.Attr{}, unix.ENXIO
	}
	fd, err := x.openAt(req.Path, int(req.Flags)|unix.O_NONBLOCK)
	if err != nil {
		return -1, wire.Attr{}, err
	}
	b, err := statFD(fd)
	if err == nil && (b.Key() != a.Key() || b.Type() != unix.S_IFREG) {
		err = unix.ESTALE // replaced between the look and the open
	}
	if err == nil {
		// O_NONBLOCK was only for the open.
		_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, int(req.Flags)&(unix.O_NOATIME))
	}
	if err != nil {
		unix.Close(fd)
		return -1, wire.Attr{}, err
	}
	return fd, b, nil
}

// create makes a regular file, FIFO, socket, directory or symbolic link
// and gives it the owner and mode the client computed. The owner is set
// before the mode, since a change of owner clears set-user-ID bits; the
// mode is always set explicitly, so that neither the gofer's umask nor a
// host directory's default ACL or set-group-ID bit changes it.
func (x *export) create(op wire.Op, req *wire.CreateReq) (wire.CreateReply, error) {
	var r wire.CreateReply
	if x.readOnly {
		return r, unix.EROFS
	}
	typ := req.Mode & unix.S_IFMT
	perm := req.Mode & 0o7777
	switch op {
	case wire.OpCreate:
		switch typ {
		case unix.S_IFREG, unix.S_IFIFO, unix.S_IFSOCK:
		case unix.S_IFCHR, unix.S_IFBLK:
			// Device nodes live in the sandbox's memory, never on
			// the host.
			return r, unix.EPERM
		default:
			return r, unix.EINVAL
		}
	case wire.OpMkdir:
		if typ != unix.S_IFDIR && typ != 0 {
			return r, unix.EINVAL
		}
	case wire.OpSymlink:
		if req.Target == "" {
			return r, unix.ENOENT
		}
	}
	if op != wire.OpSymlink && req.Target != "" {
		return r, unix.EINVAL
	}
	dfd, err := x.openDir(req.Dir)
	if err != nil {
		return r, err
	}
	defer unix.Close(dfd)

	var fd int
	rmdir := false
	switch {
	case op == wire.OpCreate && typ == unix.S_IFREG:
		fd, err = unix.Openat(dfd, req.Name, unix.O_RDONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	case op == wire.OpCreate:
		if err = unix.Mknodat(dfd, req.Name, typ|perm, 0); err == nil {
			fd, err = unix.Openat(dfd, req.Name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		}
	case op == wire.OpMkdir:
		rmdir = true
		if err = unix.Mkdirat(dfd, req.Name, perm); err == nil {
			fd, err = unix.Openat(dfd, req.Name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		}
	default:
		if err = unix.Symlinkat(req.Target, dfd, req.Name); err == nil {
			fd, err = unix.Openat(dfd, req.Name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		}
	}
	if err != nil {
		if err != unix.EEXIST {
			// Made but not opened: take it back.
			removeCreated(dfd, req.Name, rmdir)
		}
		return r, err
	}
	defer unix.Close(fd)
	err = unix.Fchownat(fd, "", int(req.UID), int(req.GID), unix.AT_EMPTY_PATH)
	if err == nil && op != wire.OpSymlink {
		err = unix.Fchmodat(fd, "", perm, unix.AT_EMPTY_PATH)
		if err == unix.EOPNOTSUPP || err == unix.ENOSYS {
			// Linux before 6.6 (no fchmodat2): through the open
			// file, or by the name we just made.
			if err = unix.Fchmod(fd, perm); err == unix.EBADF {
				err = unix.Fchmodat(dfd, req.Name, perm, 0)
			}
		}
	}
	if err == nil {
		r.Child, err = statFD(fd)
	}
	if err == nil {
		r.Dir, err = statFD(dfd)
	}
	if err != nil {
		removeCreated(dfd, req.Name, rmdir)
		return r, err
	}
	return r, nil
}

func removeCreated(dfd int, name string, dir bool) {
	flags := 0
	if dir {
		flags = unix.AT_REMOVEDIR
	}
	unix.Unlinkat(dfd, name, flags)
}

func (x *export) link(req *wire.LinkReq) (wire.LinkReply, error) {
	var r wire.LinkReply
	if x.readOnly {
		return r, unix.EROFS
	}
	tdir, tname := wire.Split(req.Target)
	tdfd, err := x.openDir(tdir)
	if err != nil {
		return r, err
	}
	defer unix.Close(tdfd)
	a, err := statAt(tdfd, tname)
	if err != nil {
		return r, err
	}
	if err := checkKey(&a, req.Expect); err != nil {
		return r, err
	}
	if a.Type() == unix.S_IFDIR {
		return r, unix.EPERM
	}
	dfd, err := x.openDir(req.Dir)
	if err != nil {
		return r, err
	}
	defer unix.Close(dfd)
	// Without AT_SYMLINK_FOLLOW: a link to a symbolic link links the
	// link itself.
	if err := unix.Linkat(tdfd, tname, dfd, req.Name, 0); err != nil {
		return r, err
	}
	if r.Target, err = statAt(dfd, req.Name); err != nil {
		return r, err
	}
	r.Dir, err = statFD(dfd)
	return r, err
}

func (x *export) unlink(req *wire.UnlinkReq) (wire.UnlinkReply, error) {
	var r wire.UnlinkReply
	if x.readOnly {
		return r, unix.EROFS
	}
	dfd, err := x.openDir(req.Dir)
	if err != nil {
		return r, err
	}
	defer unix.Close(dfd)
	// Hold the victim, to report its attributes after the removal.
	vfd, err := unix.Openat(dfd, req.Name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return r, err
	}
	defer unix.Close(vfd)
	a, err := statFD(vfd)
	if err != nil {
		return r, err
	}
	if err := checkKey(&a, req.Expect); err != nil {
		return r, err
	}
	flags := 0
	switch {
	case req.RmDir && a.Type() != unix.S_IFDIR:
		return r, unix.ENOTDIR
	case req.RmDir:
		flags = unix.AT_REMOVEDIR
	case a.Type() == unix.S_IFDIR:
		return r, unix.EISDIR
	}
	if err := unix.Unlinkat(dfd, req.Name, flags); err != nil {
		return r, err
	}
	if r.Victim, err = statFD(vfd); err != nil {
		return r, err
	}
	r.Dir, err = statFD(dfd)
	return r, err
}

func (x *export) rename(req *wire.RenameReq) (wire.RenameReply, error) {
	var r wire.RenameReply
	if x.readOnly {
		return r, unix.EROFS
	}
	switch req.Flags {
	case 0, unix.RENAME_NOREPLACE, unix.RENAME_EXCHANGE:
	default:
		// RENAME_WHITEOUT would make a device node on the host.
		return r, unix.EINVAL
	}
	odfd, err := x.openDir(req.OldDir)
	if err != nil {
		return r, err
	}
	defer unix.Close(odfd)
	ndfd, err := x.openDir(req.NewDir)
	if err != nil {
		return r, err
	}
	defer unix.Close(ndfd)
	mfd, err := unix.Openat(odfd, req.OldName, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return r, err
	}
	defer unix.Close(mfd)
	vfd, err := unix.Openat(ndfd, req.NewName, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == nil {
		defer unix.Close(vfd)
	} else if err != unix.ENOENT {
		return r, err
	}
	if err := unix.Renameat2(odfd, req.OldName, ndfd, req.NewName, uint(req.Flags)); err != nil {
		return r, err
	}
	if r.OldDir, err = statFD(odfd); err != nil {
		return r, err
	}
	if r.NewDir, err = statFD(ndfd); err != nil {
		return r, err
	}
	if r.Moved, err = statFD(mfd); err != nil {
		return r, err
	}
	if vfd >= 0 {
		r.HasVictim = true
		if r.Victim, err = statFD(vfd); err != nil {
			return r, err
		}
	}
	return r, nil
}

// setAttr changes attributes in the order Linux's notify_change()
// would leave them: owner (which clears set-user-ID bits), then mode,
// then size, then the times (so that times set explicitly survive the
// truncation's update).
func (x *export) setAttr(req *wire.SetAttrReq) (wire.Attr, error) {
	if x.readOnly {
		return wire.Attr{}, unix.EROFS
	}
	fd, err := x.openAt(req.Path, unix.O_PATH)
	if err != nil {
		return wire.Attr{}, err
	}
	defer unix.Close(fd)
	a, err := statFD(fd)
	if err != nil {
		return wire.Attr{}, err
	}
	if err := checkKey(&a, req.Expect); err != nil {
		return wire.Attr{}, err
	}
	if req.Mask&(unix.STATX_UID|unix.STATX_GID) != 0 {
		uid, gid := -1, -1
		if req.Mask&unix.STATX_UID != 0 {
			uid = int(req.UID)
		}
		if req.Mask&unix.STATX_GID != 0 {
			gid = int(req.GID)
		}
		if err := unix.Fchownat(fd, "", uid, gid, unix.AT_EMPTY_PATH); err != nil {
			return wire.Attr{}, err
		}
	}
	if req.Mask&unix.STATX_MODE != 0 {
		if a.Type() == unix.S_IFLNK {
			return wire.Attr{}, unix.EOPNOTSUPP
		}
		err := unix.Fchmodat(fd, "", req.Mode, unix.AT_EMPTY_PATH)
		if err == unix.EOPNOTSUPP || err == unix.ENOSYS {
			err = x.chmodByName(req.Path, &a, req.Mode)
		}
		if err != nil {
			return wire.Attr{}, err
		}
	}
	if req.Mask&unix.STATX_SIZE != 0 {
		if err := x.truncate(req.Path, &a, req.Size); err != nil {
			return wire.Attr{}, err
		}
	}
	if req.Mask&(unix.STATX_ATIME|unix.STATX_MTIME) != 0 {
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
		if req.Mask&unix.STATX_ATIME != 0 {
			ts[0] = unix.Timespec{Sec: req.Atime.Sec, Nsec: int64(req.Atime.Nsec)}
		}
		if req.Mask&unix.STATX_MTIME != 0 {
			ts[1] = unix.Timespec{Sec: req.Mtime.Sec, Nsec: int64(req.Mtime.Nsec)}
		}
		if err := unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH); err != nil {
			return wire.Attr{}, err
		}
	}
	return statFD(fd)
}

// chmodByName changes the mode of the object at path (which a
// describes, not a symbolic link) on Linux before 6.6, which cannot
// change it through an O_PATH descriptor: through an opened descriptor
// for a regular file or directory, else by name in its directory.
func (x *export) chmodByName(path string, a *wire.Attr, mode uint32) error {
	if a.Type() == unix.S_IFREG || a.Type() == unix.S_IFDIR {
		fd, err := x.openAt(path, unix.O_RDONLY|unix.O_NONBLOCK)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		b, err := statFD(fd)
		if err != nil {
			return err
		}
		if b.Key() != a.Key() {
			return unix.ESTALE
		}
		return unix.Fchmod(fd, mode)
	}
	dir, name := wire.Split(path)
	dfd, err := x.openDir(dir)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	b, err := statAt(dfd, name)
	if err != nil {
		return err
	}
	if b.Key() != a.Key() || b.Type() == unix.S_IFLNK {
		return unix.ESTALE
	}
	return unix.Fchmodat(dfd, name, mode, 0)
}

// truncate sets the size of the regular file at path, which must still
// be the file a describes.
func (x *export) truncate(path string, a *wire.Attr, size int64) error {
	switch a.Type() {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		return unix.EISDIR
	default:
		return unix.EINVAL
	}
	fd, err := x.openAt(path, unix.O_WRONLY|unix.O_NONBLOCK)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	b, err := statFD(fd)
	if err != nil {
		return err
	}
	if b.Key() != a.Key() {
		return unix.ESTALE
	}
	for {
		err := unix.Ftruncate(fd, size)
		if err != unix.EINTR {
			return err
		}
	}
}

func (x *export) statfs(path string) (wire.Statfs, error) {
	fd, err := x.openAt(path, unix.O_PATH)
	if err != nil {
		return wire.Statfs{}, err
	}
	defer unix.Close(fd)
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return wire.Statfs{}, err
	}
	return wire.Statfs{
		Type: st.Type, Bsize: st.Bsize, Blocks: st.Blocks, Bfree: st.Bfree, Bavail: st.Bavail,
		Files: st.Files, Ffree: st.Ffree, Fsid: st.Fsid.Val, Namelen: st.Namelen,
		Frsize: st.Frsize, Flags: st.Flags,
	}, nil
}
