package proc

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// pidPosBase is where process directories start in the root's listing:
// a process's position is pidPosBase + its ID, so a listing resumed
// after the processes changed neither repeats nor skips the survivors.
const pidPosBase = 1 << 16

// rootDir is /proc: the global entries, self, thread-self and a
// directory per process. Linux: fs/proc/root.c and proc_pid_readdir().
type rootDir struct {
	*staticDir
}

func (fs *FS) newRoot() *rootDir {
	d := &rootDir{fs.newStaticDir("", 1)}
	fs.addGlobal(d.staticDir)
	d.add("self", fs.newSymlink("self", func(ctx *vfs.Context) (string, error) {
		t := fs.k.Caller(ctx)
		if t == nil {
			return "", unix.ENOENT
		}
		return strconv.Itoa(int(t.Process().ID())), nil
	}))
	d.add("thread-self", fs.newSymlink("thread-self", func(ctx *vfs.Context) (string, error) {
		t := fs.k.Caller(ctx)
		if t == nil {
			return "", unix.ENOENT
		}
		return fmt.Sprintf("%d/task/%d", t.Process().ID(), t.ID()), nil
	}))
	return d
}

// parsePID parses a process directory's name: decimal digits without a
// leading zero. Linux: fs/proc/util.c, name_to_int().
func parsePID(name string) (int32, bool) {
	if name == "" || len(name) > 1 && name[0] == '0' {
		return 0, false
	}
	for _, c := range name {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(name, 10, 32)
	if err != nil || n <= 0 {
		return 0, false
	}
	return int32(n), true
}

func (d *rootDir) Lookup(ctx *vfs.Context, name string) (vfs.Inode, error) {
	if c, ok := d.children[name]; ok {
		return c, nil
	}
	id, ok := parsePID(name)
	if !ok {
		return nil, unix.ENOENT
	}
	p := d.fs.k.Process(id)
	if p == nil {
		return nil, unix.ENOENT
	}
	return d.fs.newPidDir(&target{proc: p}, name, d.ino), nil
}

func (d *rootDir) Readdir(ctx *vfs.Context, pos int64, emit func(vfs.Dirent) bool) error {
	ents := append([]dirEnt(nil), d.ents...)
	for _, p := range d.fs.k.Processes() {
		name := strconv.Itoa(int(p.ID()))
		ents = append(ents, dirEnt{name: name, typ: unix.DT_DIR, ino: ino(name), pos: pidPosBase + int64(p.ID())})
	}
	readdir(d.ino, d.ino, ents, pos, emit)
	return nil
}

// Revalidate implements vfs.Revalidator: a process directory stays while
// its process is not reaped (a new process with the same ID gets a new
// directory).
func (d *rootDir) Revalidate(ctx *vfs.Context, name string, child vfs.Inode) bool {
	if pd, ok := child.(*pidDir); ok {
		return !pd.tgt.proc.Reaped()
	}
	return true
}
