package proc

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// fdDir is /proc/[pid]/fd (a magic link per descriptor) or, with info
// set, /proc/[pid]/fdinfo (a file per descriptor). Descriptor n is at
// position 2 + n. Linux: fs/proc/fd.c.
type fdDir struct {
	node
	noMutate
	path   string
	parent uint64
	info   bool
}

// getFile returns the file at fd of g's table with a reference, and its
// close-on-exec flag.
func getFile(g *target, fd int) (*vfs.File, bool, error) {
	t, err := g.task()
	if err != nil {
		return nil, false, err
	}
	files := t.Files()
	if files == nil {
		return nil, false, unix.ENOENT
	}
	f, cloexec, err := files.Get(fd)
	if err != nil {
		return nil, false, unix.ENOENT
	}
	return f, cloexec, nil
}

// parseFD parses a descriptor's name.
func parseFD(name string) (int, bool) {
	if name == "" || len(name) > 1 && name[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(name)
	if err != nil || n < 0 || strconv.Itoa(n) != name {
		return 0, false
	}
	return n, true
}

func (d *fdDir) Lookup(ctx *vfs.Context, name string) (vfs.Inode, error) {
	fd, ok := parseFD(name)
	if !ok {
		return nil, unix.ENOENT
	}
	f, _, err := getFile(d.tgt, fd)
	if err != nil {
		return nil, unix.ENOENT
	}
	f.DecRef()
	return d.child(name, fd), nil
}

func (d *fdDir) child(name string, fd int) vfs.Inode {
	path := childPath(d.path, name)
	g := d.tgt
	if d.info {
		return d.fs.newFile(path, 0o444, g, true, func(r *reader) ([]byte, error) {
			return fdInfo(r.ctx, g, fd)
		}, nil)
	}
	return &magicLink{
		node: d.fs.newNode(path, unix.S_IFLNK|0o700, g, true),
		readlink: func(ctx *vfs.Context) (string, error) {
			f, _, err := getFile(g, fd)
			if err != nil {
				return "", err
			}
			defer f.DecRef()
			return d.fs.fileName(ctx, f), nil
		},
		follow: func(ctx *vfs.Context) (vfs.Path, *vfs.File, error) {
			f, _, err := getFile(g, fd)
			if err != nil {
				return vfs.Path{}, nil, err
			}
			return vfs.Path{}, f, nil
		},
		modeOf: func() uint32 {
			f, _, err := getFile(g, fd)
			if err != nil {
				return 0o700
			}
			defer f.DecRef()
			// Linux: fs/proc/fd.c, tid_fd_update_inode(): r-x for
			// reading, -wx for writing.
			var mode uint32
			if f.Readable() {
				mode |= 0o500
			}
			if f.Writable() {
				mode |= 0o300
			}
			return mode
		},
	}
}

func (d *fdDir) Readdir(ctx *vfs.Context, pos int64, emit func(vfs.Dirent) bool) error {
	t, err := d.tgt.task()
	if err != nil {
		return unix.ENOENT
	}
	files := t.Files()
	if files == nil {
		readdir(d.ino, d.parent, nil, pos, emit)
		return nil
	}
	typ := uint8(unix.DT_LNK)
	if d.info {
		typ = unix.DT_REG
	}
	var ents []dirEnt
	// The table has no listing of its own: its capacity bounds the
	// descriptors (twice the highest at most).
	for fd, n := max(int(pos)-2, 0), files.Capacity(); fd < n; fd++ {
		f, _, err := files.Get(fd)
		if err != nil {
			continue
		}
		f.DecRef()
		name := strconv.Itoa(fd)
		ents = append(ents, dirEnt{name: name, typ: typ, ino: ino(childPath(d.path, name)), pos: int64(fd) + 2})
	}
	readdir(d.ino, d.parent, ents, pos, emit)
	return nil
}

// Revalidate implements vfs.Revalidator: an entry stays while its
// descriptor is open.
func (d *fdDir) Revalidate(ctx *vfs.Context, name string, child vfs.Inode) bool {
	fd, ok := parseFD(name)
	if !ok {
		return false
	}
	f, _, err := getFile(d.tgt, fd)
	if err != nil {
		return false
	}
	f.DecRef()
	return true
}

// fileName is what /proc/[pid]/fd/N reads: the path as seen from the
// reader's root (" (deleted)" if it was removed), or for a file without
// a path its own name ("pipe:[ino]"...). Linux: fs/d_path.c, d_path()
// and the d_dname of pipefs, sockfs and anon_inodefs.
func (fs *FS) fileName(ctx *vfs.Context, f *vfs.File) string {
	if p := f.Path(); !p.IsZero() {
		name, _ := fs.k.VFS().PathName(ctx.Root, p)
		return name
	}
	if n, ok := f.Impl.(ProcNamer); ok {
		return n.ProcName()
	}
	st, err := f.Statx(ctx, unix.STATX_TYPE|unix.STATX_INO)
	if err != nil {
		return "anon_inode:[unknown]"
	}
	switch uint32(st.Mode) & unix.S_IFMT {
	case unix.S_IFIFO:
		return fmt.Sprintf("pipe:[%d]", st.Ino)
	case unix.S_IFSOCK:
		return fmt.Sprintf("socket:[%d]", st.Ino)
	}
	return "anon_inode:[unknown]"
}

// fdInfo renders /proc/[pid]/fdinfo/N. Linux: fs/proc/fd.c, seq_show().
func fdInfo(ctx *vfs.Context, g *target, fd int) ([]byte, error) {
	f, cloexec, err := getFile(g, fd)
	if err != nil {
		return nil, err
	}
	defer f.DecRef()
	var pos int64
	if f.Impl.Seekable() {
		if p, err := f.Seek(0, unix.SEEK_CUR); err == nil {
			pos = p
		}
	}
	flags := f.Flags()
	if cloexec {
		flags |= unix.O_CLOEXEC
	}
	var mntID int
	if p := f.Path(); p.Mount != nil {
		mntID = p.Mount.ID
	}
	var ino uint64
	if st, err := f.Statx(ctx, unix.STATX_INO); err == nil {
		ino = st.Ino
	}
	s := fmt.Sprintf("pos:\t%d\nflags:\t0%o\nmnt_id:\t%d\nino:\t%d\n", pos, flags, mntID, ino)
	if x, ok := f.Impl.(FDInfoer); ok {
		s += x.FDInfo()
	}
	return []byte(s), nil
}
