package proc

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"magawa/kernel/userns"
	"magawa/kernel/vfs"
)

// pidDir is /proc/[pid] (the whole process, described through its
// leader) or /proc/[pid]/task/[tid] (one thread).
// Linux: fs/proc/base.c, tgid_base_stuff and tid_base_stuff.
type pidDir struct {
	node
	noMutate
	path   string
	parent uint64
}

func (fs *FS) newPidDir(tgt *target, path string, parent uint64) *pidDir {
	return &pidDir{node: fs.newNode(path, unix.S_IFDIR|0o555, tgt, false), path: path, parent: parent}
}

// pidEntry is one entry of a process or thread directory.
type pidEntry struct {
	name   string
	mode   uint32 // S_IFMT | permission bits
	ptrace bool
	// processOnly entries are absent from task/[tid].
	processOnly bool
	make        func(d *pidDir, n node) vfs.Inode
}

// fileEntry makes an entry for a generated file.
func fileEntry(name string, perm uint32, ptrace bool,
	read func(fs *FS, g *target, r *reader) ([]byte, error),
	write func(fs *FS, g *target, r *reader, data []byte) error) pidEntry {
	return pidEntry{name: name, mode: unix.S_IFREG | perm, ptrace: ptrace, make: func(d *pidDir, n node) vfs.Inode {
		f := &fileNode{node: n}
		if read != nil {
			f.read = func(r *reader) ([]byte, error) { return read(d.fs, d.tgt, r) }
		}
		if write != nil {
			f.write = func(r *reader, data []byte) error { return write(d.fs, d.tgt, r, data) }
		}
		return f
	}}
}

// linkEntry makes an entry for a magic link (exe, cwd, root).
func linkEntry(name string, which func(t Task) vfs.Path) pidEntry {
	return pidEntry{name: name, mode: unix.S_IFLNK | 0o777, ptrace: true, make: func(d *pidDir, n node) vfs.Inode {
		path := func() (vfs.Path, error) {
			t, err := d.tgt.task()
			if err != nil {
				return vfs.Path{}, err
			}
			p := which(t)
			if p.IsZero() {
				return vfs.Path{}, unix.ENOENT
			}
			return p, nil
		}
		return &magicLink{
			node: n,
			readlink: func(ctx *vfs.Context) (string, error) {
				p, err := path()
				if err != nil {
					return "", err
				}
				name, _ := d.fs.k.VFS().PathName(ctx.Root, p)
				return name, nil
			},
			follow: func(ctx *vfs.Context) (vfs.Path, *vfs.File, error) {
				p, err := path()
				return p, nil, err
			},
		}
	}}
}

// dirEntry makes an entry for a subdirectory.
func dirEntry(name string, perm uint32, ptrace bool, make func(d *pidDir, n node) vfs.Inode) pidEntry {
	return pidEntry{name: name, mode: unix.S_IFDIR | perm, ptrace: ptrace, make: make}
}

// pidEntries are the entries of a process directory, in Linux's order.
var pidEntries []pidEntry

func init() {
	pidEntries = []pidEntry{
		func() pidEntry {
			e := dirEntry("task", 0o555, false, func(d *pidDir, n node) vfs.Inode {
				return &taskDir{node: n, path: childPath(d.path, "task"), parent: d.ino}
			})
			e.processOnly = true
			return e
		}(),
		dirEntry("fd", 0o500, true, func(d *pidDir, n node) vfs.Inode {
			return &fdDir{node: n, path: childPath(d.path, "fd"), parent: d.ino}
		}),
		dirEntry("fdinfo", 0o555, true, func(d *pidDir, n node) vfs.Inode {
			return &fdDir{node: n, path: childPath(d.path, "fdinfo"), parent: d.ino, info: true}
		}),
		dirEntry("ns", 0o511, false, func(d *pidDir, n node) vfs.Inode { return d.fs.newNSDir(d, n) }),
		dirEntry("net", 0o555, false, func(d *pidDir, n node) vfs.Inode { return d.fs.newNetDir(d) }),
		fileEntry("environ", 0o400, true, readEnviron, nil),
		fileEntry("auxv", 0o400, true, readAuxv, nil),
		fileEntry("status", 0o444, false, readStatus, nil),
		fileEntry("personality", 0o400, true, readPersonality, nil),
		fileEntry("limits", 0o444, false, readLimits, nil),
		fileEntry("comm", 0o644, false, readComm, writeComm),
		fileEntry("cmdline", 0o444, false, readCmdline, nil),
		fileEntry("stat", 0o444, false, readStat, nil),
		fileEntry("statm", 0o444, false, readStatm, nil),
		fileEntry("maps", 0o444, true, readMaps, nil),
		fileEntry("mounts", 0o444, false, readMounts, nil),
		fileEntry("mountinfo", 0o444, false, readMountinfo, nil),
		fileEntry("smaps", 0o444, true, readSmaps, nil),
		linkEntry("cwd", func(t Task) vfs.Path { _, cwd := t.Directories(); return cwd }),
		linkEntry("root", func(t Task) vfs.Path { root, _ := t.Directories(); return root }),
		linkEntry("exe", func(t Task) vfs.Path { return t.Executable() }),
		fileEntry("wchan", 0o444, false, constant("0"), nil),
		fileEntry("cgroup", 0o444, false, constant("0::/\n"), nil),
		fileEntry("oom_score", 0o444, false, readOOMScore, nil),
		fileEntry("oom_score_adj", 0o644, false, readOOMScoreAdj, writeOOMScoreAdj),
		fileEntry("uid_map", 0o644, false, readIDMap((*FS).uidMap), refuse(unix.EPERM)),
		fileEntry("gid_map", 0o644, false, readIDMap((*FS).gidMap), refuse(unix.EPERM)),
		fileEntry("setgroups", 0o644, false, constant("allow\n"), refuse(unix.EPERM)),
	}
}

// entries returns the directory's entries.
func (d *pidDir) entries() []pidEntry {
	if d.tgt.whole() {
		return pidEntries
	}
	out := make([]pidEntry, 0, len(pidEntries))
	for _, e := range pidEntries {
		if !e.processOnly {
			out = append(out, e)
		}
	}
	return out
}

func (d *pidDir) Lookup(ctx *vfs.Context, name string) (vfs.Inode, error) {
	if _, err := d.tgt.task(); err != nil {
		return nil, unix.ENOENT
	}
	for _, e := range d.entries() {
		if e.name == name {
			return e.make(d, d.fs.newNode(childPath(d.path, name), e.mode, d.tgt, e.ptrace)), nil
		}
	}
	return nil, unix.ENOENT
}

func (d *pidDir) Readdir(ctx *vfs.Context, pos int64, emit func(vfs.Dirent) bool) error {
	if _, err := d.tgt.task(); err != nil {
		return unix.ENOENT
	}
	es := d.entries()
	ents := make([]dirEnt, len(es))
	for i, e := range es {
		ents[i] = dirEnt{name: e.name, typ: vfs.DTType(e.mode), ino: ino(childPath(d.path, e.name)), pos: int64(i + 2)}
	}
	readdir(d.ino, d.parent, ents, pos, emit)
	return nil
}

// taskDir is /proc/[pid]/task: a directory per thread, at position
// 2 + TID.
type taskDir struct {
	node
	noMutate
	path   string
	parent uint64
}

func (d *taskDir) Lookup(ctx *vfs.Context, name string) (vfs.Inode, error) {
	tid, ok := parsePID(name)
	if !ok {
		return nil, unix.ENOENT
	}
	if _, err := d.tgt.task(); err != nil {
		return nil, unix.ENOENT
	}
	if d.tgt.proc.Thread(tid) == nil {
		return nil, unix.ENOENT
	}
	return d.fs.newPidDir(&target{proc: d.tgt.proc, tid: tid}, childPath(d.path, name), d.ino), nil
}

func (d *taskDir) Readdir(ctx *vfs.Context, pos int64, emit func(vfs.Dirent) bool) error {
	if _, err := d.tgt.task(); err != nil {
		return unix.ENOENT
	}
	var ents []dirEnt
	for _, t := range d.tgt.proc.Threads() {
		name := strconv.Itoa(int(t.ID()))
		ents = append(ents, dirEnt{name: name, typ: unix.DT_DIR, ino: ino(childPath(d.path, name)), pos: int64(t.ID()) + 2})
	}
	readdir(d.ino, d.parent, ents, pos, emit)
	return nil
}

// Revalidate implements vfs.Revalidator: a thread's directory goes with
// the thread.
func (d *taskDir) Revalidate(ctx *vfs.Context, name string, child vfs.Inode) bool {
	pd, ok := child.(*pidDir)
	if !ok {
		return false
	}
	_, err := pd.tgt.task()
	return err == nil
}

// Namespace identities. The sandbox has one namespace of each kind; its
// inode numbers are those of Linux's initial namespaces (fixed ones for
// ipc, uts, user, pid, cgroup and time; the first dynamic ones for net
// and mnt). Linux: include/linux/proc_ns.h.
var namespaces = []struct {
	name string
	ino  uint64
}{
	{"cgroup", 0xEFFFFFFB},
	{"ipc", 0xEFFFFFFF},
	{"mnt", 0xF0000001},
	{"net", 0xF0000000},
	{"pid", 0xEFFFFFFC},
	{"pid_for_children", 0xEFFFFFFC},
	{"time", 0xEFFFFFFA},
	{"time_for_children", 0xEFFFFFFA},
	{"user", 0xEFFFFFFD},
	{"uts", 0xEFFFFFFE},
}

// newNSDir returns /proc/[pid]/ns: magic links naming the namespaces
// ("mnt:[4026531841]"). Following them (setns targets) is not offered.
func (fs *FS) newNSDir(d *pidDir, n node) vfs.Inode {
	path := childPath(d.path, "ns")
	dir := &staticDir{node: n, parent: d.ino, path: path, children: map[string]vfs.Inode{}}
	for _, ns := range namespaces {
		kind := strings.TrimSuffix(ns.name, "_for_children")
		text := fmt.Sprintf("%s:[%d]", kind, ns.ino)
		dir.add(ns.name, &magicLink{
			node:     fs.newNode(childPath(path, ns.name), unix.S_IFLNK|0o777, d.tgt, true),
			readlink: func(*vfs.Context) (string, error) { return text, nil },
			follow:   func(*vfs.Context) (vfs.Path, *vfs.File, error) { return vfs.Path{}, nil, unix.ENOENT },
		})
	}
	return dir
}

// constant returns a reader of fixed contents.
// readIDMap reads uid_map or gid_map: the sandbox is one user namespace,
// whose map the container's configuration gives (the identity without
// one). Linux: kernel/user_namespace.c, uid_m_show().
func readIDMap(which func(*FS) *userns.Map) func(*FS, *target, *reader) ([]byte, error) {
	return func(fs *FS, g *target, r *reader) ([]byte, error) {
		if _, err := g.task(); err != nil {
			return nil, err
		}
		return []byte(which(fs).String()), nil
	}
}

func (fs *FS) uidMap() *userns.Map { return fs.k.UIDMap() }
func (fs *FS) gidMap() *userns.Map { return fs.k.GIDMap() }

func constant(s string) func(*FS, *target, *reader) ([]byte, error) {
	return func(fs *FS, g *target, r *reader) ([]byte, error) {
		if _, err := g.task(); err != nil {
			return nil, err
		}
		return []byte(s), nil
	}
}

// refuse returns a writer that fails with err.
func refuse(err error) func(*FS, *target, *reader, []byte) error {
	return func(*FS, *target, *reader, []byte) error { return err }
}

func readCmdline(fs *FS, g *target, r *reader) ([]byte, error) {
	t, err := g.task()
	if err != nil {
		return nil, err
	}
	return t.Args(false)
}

func readEnviron(fs *FS, g *target, r *reader) ([]byte, error) {
	t, err := g.task()
	if err != nil {
		return nil, err
	}
	return t.Args(true)
}

func readAuxv(fs *FS, g *target, r *reader) ([]byte, error) {
	t, err := g.task()
	if err != nil {
		return nil, err
	}
	return t.Auxv(), nil
}

func readComm(fs *FS, g *target, r *reader) ([]byte, error) {
	t, err := g.task()
	if err != nil {
		return nil, err
	}
	return []byte(t.Comm() + "\n"), nil
}

// writeComm sets the name of a thread of the writer's own process (EINVAL
// for others). The bytes are taken as they are, a newline included, cut
// to 15. Linux: fs/proc/base.c, comm_write().
func writeComm(fs *FS, g *target, r *reader, data []byte) error {
	t, err := g.task()
	if err != nil {
		return err
	}
	if r.task == nil || r.task.Process() != t.Process() {
		return unix.EINVAL
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		data = data[:i]
	}
	t.SetComm(string(data))
	return nil
}

func readPersonality(fs *FS, g *target, r *reader) ([]byte, error) {
	t, err := g.task()
	if err != nil {
		return nil, err
	}
	return []byte(fmt.Sprintf("%08x\n", t.Info(false).Personality)), nil
}

func readLimits(fs *FS, g *target, r *reader) ([]byte, error) {
	t, err := g.task()
	if err != nil {
		return nil, err
	}
	in := t.Info(false)
	return []byte(formatLimits(&in.Rlimits)), nil
}

// infoFor takes the snapshot a stat or status read shows: the whole
// process for /proc/[pid], the thread for task/[tid]; the reader sees
// itself running.
func infoFor(g *target, t Task, r *reader) statInfo {
	in := t.Info(g.whole())
	if r.task != nil && r.task == t && in.State == 'S' {
		in.State = 'R'
	}
	return statInfo{TaskInfo: in, mem: memStatsOf(t.Memory())}
}

func readStat(fs *FS, g *target, r *reader) ([]byte, error) {
	t, err := g.task()
	if err != nil {
		return nil, err
	}
	s := infoFor(g, t, r)
	s.permitted = fs.mayAccess(r.ctx, g) == nil
	return []byte(formatStat(&s)), nil
}

func readStatm(fs *FS, g *target, r *reader) ([]byte, error) {
	t, err := g.task()
	if err != nil {
		return nil, err
	}
	m := memStatsOf(t.Memory())
	return []byte(formatStatm(&m)), nil
}

func readStatus(fs *FS, g *target, r *reader) ([]byte, error) {
	t, err := g.task()
	if err != nil {
		return nil, err
	}
	s := infoFor(g, t, r)
	st := statusInfo{TaskInfo: s.TaskInfo, mem: s.mem, numCPU: fs.k.NumCPU()}
	if files := t.Files(); files != nil {
		st.fdSize = files.Capacity()
	}
	return []byte(formatStatus(&st)), nil
}

func readMaps(fs *FS, g *target, r *reader) ([]byte, error) {
	t, err := g.task()
	if err != nil {
		return nil, err
	}
	m := t.Memory()
	if m == nil {
		return nil, nil
	}
	return []byte(formatMaps(m.Mappings())), nil
}

func readSmaps(fs *FS, g *target, r *reader) ([]byte, error) {
	t, err := g.task()
	if err != nil {
		return nil, err
	}
	m := t.Memory()
	if m == nil {
		return nil, nil
	}
	return []byte(formatSmaps(m.Mappings(), m.Resident)), nil
}

// mountsOf lists the mounts of t's namespace as seen from t's root.
func mountsOf(g *target) ([]vfs.MountInfo, error) {
	t, err := g.task()
	if err != nil {
		return nil, err
	}
	ns := t.MountNamespace()
	root, _ := t.Directories()
	if ns == nil || root.IsZero() {
		return nil, nil
	}
	return ns.Mounts(root), nil
}

func readMounts(fs *FS, g *target, r *reader) ([]byte, error) {
	m, err := mountsOf(g)
	if err != nil {
		return nil, err
	}
	return []byte(formatMounts(m)), nil
}

func readMountinfo(fs *FS, g *target, r *reader) ([]byte, error) {
	m, err := mountsOf(g)
	if err != nil {
		return nil, err
	}
	return []byte(formatMountinfo(m)), nil
}

// oomScoreAdj returns the process's oom_score_adj.
func (fs *FS) oomScoreAdj(p Process) int32 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if v, ok := fs.oomAdj[p]; ok {
		return v
	}
	return fs.k.DefaultOOMScoreAdj()
}

func readOOMScoreAdj(fs *FS, g *target, r *reader) ([]byte, error) {
	if _, err := g.task(); err != nil {
		return nil, err
	}
	return []byte(fmt.Sprintf("%d\n", fs.oomScoreAdj(g.proc))), nil
}

// OOM score adjustment bounds. Linux: include/uapi/linux/oom.h.
const (
	oomScoreAdjMin = -1000
	oomScoreAdjMax = 1000
)

// writeOOMScoreAdj sets oom_score_adj: an integer in [-1000, 1000];
// lowering it needs CAP_SYS_RESOURCE. Linux: fs/proc/base.c,
// __set_oom_adj().
func writeOOMScoreAdj(fs *FS, g *target, r *reader, data []byte) error {
	if _, err := g.task(); err != nil {
		return err
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 32)
	if err != nil || v < oomScoreAdjMin || v > oomScoreAdjMax {
		return unix.EINVAL
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	current, ok := fs.oomAdj[g.proc]
	if !ok {
		current = fs.k.DefaultOOMScoreAdj()
	}
	if int32(v) < current && !r.ctx.Creds.HasCap(capSysResource) {
		return unix.EACCES
	}
	for p := range fs.oomAdj {
		if p.Reaped() {
			delete(fs.oomAdj, p)
		}
	}
	fs.oomAdj[g.proc] = int32(v)
	return nil
}

// readOOMScore estimates the badness the OOM killer would give the
// process: its share of memory in thousandths, plus its adjustment.
// Linux: mm/oom_kill.c, oom_badness().
func readOOMScore(fs *FS, g *target, r *reader) ([]byte, error) {
	t, err := g.task()
	if err != nil {
		return nil, err
	}
	var score int64
	if total := fs.opts.MemTotal; total > 0 {
		m := memStatsOf(t.Memory())
		score = int64(m.rss * 1000 / total)
	}
	score += int64(fs.oomScoreAdj(g.proc))
	score = min(max(score, 0), 2000)
	return []byte(fmt.Sprintf("%d\n", score)), nil
}

// ProcessDirectory reports the process a /proc/[pid] directory names:
// Linux accepts a descriptor of one wherever it takes a pidfd
// (pidfd_send_signal).
func (d *pidDir) ProcessDirectory() (int32, bool) {
	if d.tgt == nil || d.tgt.tid != 0 || d.tgt.proc.Reaped() {
		return 0, false
	}
	return d.tgt.proc.ID(), true
}
