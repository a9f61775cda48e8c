package overlay

import (
	"bytes"
	"io"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// chunkSize is how much data copy-up moves at a time: big enough to
// stream fast, small enough that a large file costs no memory.
const chunkSize = 1 << 20

// zeros is a chunk of zeros to compare against (never written, so it
// takes no memory).
var zeros [chunkSize]byte

// copyUp returns n's upper inode, copying n up first if it has none.
// limit < 0 copies all of a regular file's data; otherwise only the
// first limit bytes (a truncation to limit follows).
// Linux: fs/overlayfs/copy_up.c, ovl_copy_up_one().
func (n *node) copyUp(limit int64) (vfs.Inode, error) {
	if u := n.upperInode(); u != nil {
		return u, nil
	}
	n.copyMu.Lock()
	defer n.copyMu.Unlock()
	if u := n.upperInode(); u != nil {
		return u, nil
	}
	parent := n.parent.Load()
	if parent == nil || n.lower == nil {
		return nil, unix.ENOENT // cannot happen: the root and new objects have upper inodes
	}
	pu, err := parent.upperDir()
	if err != nil {
		return nil, err
	}
	ctx := kernelCtx
	st, err := n.lower.Stat(ctx, unix.STATX_BASIC_STATS)
	if err != nil {
		return nil, err
	}
	attrs := vfs.NewAttrs{
		Mode: uint32(st.Mode),
		UID:  st.Uid,
		GID:  st.Gid,
		Rdev: unix.Mkdev(st.Rdev_major, st.Rdev_minor),
	}
	size := int64(st.Size)
	if limit >= 0 && limit < size {
		size = limit
	}

	if tf, ok := pu.(vfs.TmpfileInode); ok && n.typ == unix.S_IFREG && size > 0 {
		// Stage the data in an unnamed file, with no directory locked,
		// then link it into place.
		tmp, err := tf.Tmpfile(ctx, attrs)
		if err != nil {
			return nil, err
		}
		// The open file keeps the unnamed file alive until it has a name.
		f, err := tmp.Open(ctx, unix.O_RDWR)
		if err != nil {
			return nil, err
		}
		defer f.Release()
		if err := copyData(n.lower, f, size); err != nil {
			return nil, err
		}
		if err := finishCopy(n, tmp, &st, size); err != nil {
			return nil, err
		}
		parent.mu.Lock()
		defer parent.mu.Unlock()
		if parent.children[n.name] != n {
			return nil, unix.ENOENT // removed meanwhile
		}
		pst, perr := pu.Stat(ctx, unix.STATX_ATIME|unix.STATX_MTIME)
		if err := pu.Link(ctx, n.name, tmp); err != nil {
			return nil, err
		}
		if perr == nil {
			setTimes(pu, &pst)
		}
		parent.copiedLocked(n, tmp)
		return tmp, nil
	}

	// Everything else is made in place: it is only metadata (or, for an
	// upper layer without O_TMPFILE, data copied under the lock).
	parent.mu.Lock()
	defer parent.mu.Unlock()
	if parent.children[n.name] != n {
		return nil, unix.ENOENT
	}
	pst, perr := pu.Stat(ctx, unix.STATX_ATIME|unix.STATX_MTIME)
	var up vfs.Inode
	switch n.typ {
	case unix.S_IFDIR:
		up, err = pu.Mkdir(ctx, n.name, attrs)
	case unix.S_IFLNK:
		var target string
		l, ok := n.lower.(vfs.SymlinkInode)
		if !ok {
			return nil, unix.EINVAL
		}
		if target, err = l.Readlink(ctx); err != nil {
			return nil, err
		}
		up, err = pu.Symlink(ctx, n.name, target, attrs)
	default:
		up, err = pu.Create(ctx, n.name, attrs)
	}
	if err != nil {
		return nil, err
	}
	if n.typ == unix.S_IFREG && size > 0 {
		err = copyDataTo(n.lower, up, size)
	}
	if err == nil {
		err = finishCopy(n, up, &st, size)
	}
	if err != nil {
		if n.typ == unix.S_IFDIR {
			pu.Rmdir(ctx, n.name)
		} else {
			pu.Unlink(ctx, n.name)
		}
		return nil, err
	}
	if perr == nil {
		setTimes(pu, &pst)
	}
	parent.copiedLocked(n, up)
	return up, nil
}

// copyDataTo copies size bytes of src's data into the regular file dst.
func copyDataTo(src, dst vfs.Inode, size int64) error {
	f, err := dst.Open(kernelCtx, unix.O_RDWR)
	if err != nil {
		return err
	}
	defer f.Release()
	return copyData(src, f, size)
}

// copyData copies the first size bytes of src's data into dst, a chunk
// at a time. Chunks of zeros are not written: they stay holes, read as
// zeros, and cost the upper layer nothing.
func copyData(src vfs.Inode, dst vfs.FileImpl, size int64) error {
	in, err := src.Open(kernelCtx, unix.O_RDONLY)
	if err != nil {
		return err
	}
	defer in.Release()
	buf := make([]byte, min(chunkSize, size))
	for off := int64(0); off < size; {
		want := int(min(int64(len(buf)), size-off))
		n, err := readFull(in, buf[:want], off)
		if err != nil {
			return err
		}
		if n == 0 {
			break // shorter than it said: the rest reads as zeros
		}
		if !bytes.Equal(buf[:n], zeros[:n]) {
			if err := writeFull(dst, buf[:n], off); err != nil {
				return err
			}
		}
		off += int64(n)
	}
	return nil
}

func readFull(f vfs.FileImpl, dst []byte, off int64) (int, error) {
	done := 0
	for done < len(dst) {
		n, err := f.ReadAt(dst[done:], off+int64(done))
		done += n
		if err == io.EOF || err == nil && n == 0 {
			break
		}
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func writeFull(f vfs.FileImpl, src []byte, off int64) error {
	for len(src) > 0 {
		n, err := f.WriteAt(src, off)
		if err != nil {
			return err
		}
		if n == 0 {
			return unix.EIO
		}
		src, off = src[n:], off+int64(n)
	}
	return nil
}

// finishCopy gives the upper copy up the rest of n's lower attributes
// (st): its extended attributes, its size (trailing holes were not
// written), its mode again (writing may have dropped set-ID bits), and
// last its times, which everything before changed.
func finishCopy(n *node, up vfs.Inode, st *unix.Statx_t, size int64) error {
	ctx := kernelCtx
	if err := copyXattrs(n.lower, up); err != nil {
		return err
	}
	ss, ok := up.(vfs.SetStatInode)
	if !ok {
		return nil // nothing more can be kept
	}
	if n.typ == unix.S_IFREG && size > 0 {
		if err := ss.SetStat(ctx, &vfs.SetAttr{Mask: unix.STATX_SIZE, Size: size}); err != nil {
			return err
		}
	}
	attr := vfs.SetAttr{
		Mask:  unix.STATX_ATIME | unix.STATX_MTIME,
		Atime: unix.Timespec{Sec: st.Atime.Sec, Nsec: int64(st.Atime.Nsec)},
		Mtime: unix.Timespec{Sec: st.Mtime.Sec, Nsec: int64(st.Mtime.Nsec)},
	}
	if n.typ != unix.S_IFLNK {
		attr.Mask |= unix.STATX_MODE
		attr.Mode = uint32(st.Mode) & 0o7777
	}
	return ss.SetStat(ctx, &attr)
}

// copyXattrs copies src's extended attributes to dst. Names the upper
// layer does not support are skipped, as Linux skips them.
// Linux: fs/overlayfs/copy_up.c, ovl_copy_xattr().
func copyXattrs(src, dst vfs.Inode) error {
	sx, ok := src.(vfs.XattrInode)
	if !ok {
		return nil
	}
	names, err := sx.ListXattr(kernelCtx)
	if err != nil || len(names) == 0 {
		return nil // a lower layer without xattrs has none to copy
	}
	dx, ok := dst.(vfs.XattrInode)
	if !ok {
		return nil
	}
	for _, name := range names {
		v, err := sx.GetXattr(kernelCtx, name)
		if err == unix.ENODATA {
			continue
		}
		if err != nil {
			return err
		}
		if err := dx.SetXattr(kernelCtx, name, v, 0); err != nil && err != unix.EOPNOTSUPP {
			return err
		}
	}
	return nil
}

// setTimes puts back the access and modification times of st on in (a
// directory whose entries a copy-up changed). Best effort: a directory
// whose times cannot be set keeps the new ones.
func setTimes(in vfs.Inode, st *unix.Statx_t) {
	ss, ok := in.(vfs.SetStatInode)
	if !ok {
		return
	}
	ss.SetStat(kernelCtx, &vfs.SetAttr{
		Mask:  unix.STATX_ATIME | unix.STATX_MTIME,
		Atime: unix.Timespec{Sec: st.Atime.Sec, Nsec: int64(st.Atime.Nsec)},
		Mtime: unix.Timespec{Sec: st.Mtime.Sec, Nsec: int64(st.Mtime.Nsec)},
	})
}
