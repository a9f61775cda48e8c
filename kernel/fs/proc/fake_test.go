package proc

import (
	"bytes"
	"encoding/binary"
	"sort"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
	"magawa/kernel/net/inet"
	"magawa/kernel/userns"
	"magawa/kernel/vfs"
)

// fakeKernel is a Kernel of processes the test makes by hand.
type fakeKernel struct {
	v    *vfs.VFS
	boot time.Time

	mu     sync.Mutex
	procs  map[int32]*fakeProc
	host   string
	domain string
	used   uint64
	ipc    kernel.IPCLimits
	net    kernel.NetTunables
	// stack is the network stack, made on first use.
	stack *fakeStack
}

// fakeStack is a real stack (its sockets, lo and counters) whose
// interfaces, addresses, routes and counters a test may replace.
type fakeStack struct {
	*inet.Stack
	ifcs   []inet.Interface
	addrs  []inet.InterfaceAddress
	routes []inet.Route
	stats  map[int32]inet.InterfaceStats
}

func (s *fakeStack) Interfaces() []inet.Interface {
	if s.ifcs != nil {
		return s.ifcs
	}
	return s.Stack.Interfaces()
}

func (s *fakeStack) InterfaceAddresses() []inet.InterfaceAddress {
	if s.addrs != nil {
		return s.addrs
	}
	return s.Stack.InterfaceAddresses()
}

func (s *fakeStack) Routes() []inet.Route {
	if s.routes != nil {
		return s.routes
	}
	return s.Stack.Routes()
}

func (s *fakeStack) InterfaceStats() map[int32]inet.InterfaceStats {
	if s.stats != nil {
		return s.stats
	}
	return s.Stack.InterfaceStats()
}

type fakeProc struct {
	k       *fakeKernel
	id      int32
	reaped  bool
	threads []*fakeTask
}

type fakeTask struct {
	p        *fakeProc
	id       int32
	info     kernel.TaskInfo
	creds    kernel.Credentials
	dumpable bool
	comm     string
	root     vfs.Path
	cwd      vfs.Path
	exe      vfs.Path
	files    *vfs.FDTable
	mem      *fakeMem
	args     []byte
	env      []byte
	ns       *vfs.MountNamespace
}

func (k *fakeKernel) Processes() []Process {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []Process
	for _, p := range k.procs {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out
}

func (k *fakeKernel) Process(id int32) Process {
	k.mu.Lock()
	defer k.mu.Unlock()
	if p, ok := k.procs[id]; ok {
		return p
	}
	return nil
}

func (k *fakeKernel) Caller(ctx *vfs.Context) Task {
	if t, ok := ctx.Task.(*fakeTask); ok {
		return t
	}
	return nil
}

func (k *fakeKernel) Boot() time.Time         { return k.boot }
func (k *fakeKernel) Uptime() time.Duration   { return 100 * time.Second }
func (k *fakeKernel) NumCPU() int             { return 4 }
func (k *fakeKernel) CPUUsage() time.Duration { return 40 * time.Second }
func (k *fakeKernel) TaskStats() kernel.TaskStats {
	return kernel.TaskStats{Threads: 3, LastTID: 9}
}
func (k *fakeKernel) MemoryUsed() uint64 { return k.used }
func (k *fakeKernel) Hostname() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.host
}
func (k *fakeKernel) SetHostname(name string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.host = name
	return nil
}
func (k *fakeKernel) DefaultOOMScoreAdj() int32 { return 0 }
func (k *fakeKernel) UIDMap() *userns.Map       { return userns.Identity }
func (k *fakeKernel) GIDMap() *userns.Map       { return userns.Identity }

func (k *fakeKernel) Domainname() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.domain
}
func (k *fakeKernel) SetDomainname(name string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.domain = name
	return nil
}
func (k *fakeKernel) VFS() *vfs.VFS { return k.v }
func (k *fakeKernel) IPCLimits() kernel.IPCLimits {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.ipc
}
func (k *fakeKernel) UpdateIPCLimits(change func(*kernel.IPCLimits) error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	l := k.ipc
	if err := change(&l); err != nil {
		return err
	}
	k.ipc = l
	return nil
}
func (k *fakeKernel) NetTunables() kernel.NetTunables {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.net
}
func (k *fakeKernel) UpdateNetTunables(change func(*kernel.NetTunables) error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := k.net
	if err := change(&n); err != nil {
		return err
	}
	k.net = n
	return nil
}

func (k *fakeKernel) Network() (NetStack, error) {
	st, err := k.network()
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (k *fakeKernel) network() (*fakeStack, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stack == nil {
		st, err := inet.NewStack()
		if err != nil {
			return nil, err
		}
		k.stack = &fakeStack{Stack: st}
	}
	return k.stack, nil
}

func (p *fakeProc) ID() int32 { return p.id }
func (p *fakeProc) Reaped() bool {
	p.k.mu.Lock()
	defer p.k.mu.Unlock()
	return p.reaped
}
func (p *fakeProc) Leader() Task {
	for _, t := range p.threads {
		if t.id == p.id {
			return t
		}
	}
	return nil
}
func (p *fakeProc) Threads() []Task {
	out := make([]Task, len(p.threads))
	for i, t := range p.threads {
		out[i] = t
	}
	return out
}
func (p *fakeProc) Thread(tid int32) Task {
	for _, t := range p.threads {
		if t.id == tid {
			return t
		}
	}
	return nil
}

func (t *fakeTask) ID() int32                            { return t.id }
func (t *fakeTask) Process() Process                     { return t.p }
func (t *fakeTask) Alive() bool                          { return !t.p.Reaped() }
func (t *fakeTask) Identity() (kernel.Credentials, bool) { return t.creds, t.dumpable }
func (t *fakeTask) Info(whole bool) kernel.TaskInfo {
	in := t.info
	in.Creds = t.creds
	in.Name = t.comm
	return in
}
func (t *fakeTask) Comm() string                        { return t.comm }
func (t *fakeTask) SetComm(name string)                 { t.comm = name }
func (t *fakeTask) Directories() (root, cwd vfs.Path)   { return t.root, t.cwd }
func (t *fakeTask) Executable() vfs.Path                { return t.exe }
func (t *fakeTask) Files() *vfs.FDTable                 { return t.files }
func (t *fakeTask) MountNamespace() *vfs.MountNamespace { return t.ns }
func (t *fakeTask) Memory() Memory {
	if t.mem == nil {
		return nil
	}
	return t.mem
}
func (t *fakeTask) Auxv() []byte { return []byte{6, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0} }
func (t *fakeTask) Args(env bool) ([]byte, error) {
	if env {
		return t.env, nil
	}
	return t.args, nil
}

type fakeMem struct{ maps []Mapping }

func (m *fakeMem) Mappings() []Mapping { return m.maps }

// Resident says half of every mapping is in memory.
func (m *fakeMem) Resident(start, end uint64) uint64 { return (end - start) / 2 }

// fakeDir is a directory of the test's root file system.
type fakeDir struct {
	noMutate
	ino      uint64
	children map[string]vfs.Inode
}

func (d *fakeDir) Stat(*vfs.Context, uint32) (unix.Statx_t, error) {
	return unix.Statx_t{Mask: unix.STATX_BASIC_STATS, Mode: unix.S_IFDIR | 0o755, Ino: d.ino, Nlink: 2, Dev_minor: 99}, nil
}
func (d *fakeDir) Open(*vfs.Context, int) (vfs.FileImpl, error) { return nil, unix.ENXIO }
func (d *fakeDir) Lookup(ctx *vfs.Context, name string) (vfs.Inode, error) {
	if c, ok := d.children[name]; ok {
		return c, nil
	}
	return nil, unix.ENOENT
}
func (d *fakeDir) Readdir(*vfs.Context, int64, func(vfs.Dirent) bool) error { return nil }

type fakeRootFS struct{ root *fakeDir }

func (f *fakeRootFS) Root() vfs.Inode { return f.root }
func (f *fakeRootFS) Type() string    { return "rootfs" }
func (f *fakeRootFS) Options() string { return "" }
func (f *fakeRootFS) Release()        {}

// fakePipe is a file without a path.
type fakePipe struct{ ino uint64 }

func (p *fakePipe) ReadAt([]byte, int64) (int, error)  { return 0, nil }
func (p *fakePipe) WriteAt([]byte, int64) (int, error) { return 0, nil }
func (p *fakePipe) Stat(st *unix.Stat_t) error {
	*st = unix.Stat_t{Mode: unix.S_IFIFO | 0o600, Ino: p.ino}
	return nil
}
func (p *fakePipe) Seekable() bool { return false }
func (p *fakePipe) Release()       {}

// fakeEventFD names itself.
type fakeEventFD struct{ fakePipe }

func (*fakeEventFD) ProcName() string { return "anon_inode:[eventfd]" }
func (*fakeEventFD) FDInfo() string   { return "eventfd-count:                0\n" }

// world is a sandbox of fake processes with proc mounted at /proc.
type world struct {
	t    *testing.T
	k    *fakeKernel
	fs   *FS
	ns   *vfs.MountNamespace
	root vfs.Path
}

func newWorld(t *testing.T) *world {
	t.Helper()
	v := vfs.New()
	rootDir := &fakeDir{ino: 1, children: map[string]vfs.Inode{"proc": &fakeDir{ino: 2}}}
	ns := v.NewMountNamespace(&fakeRootFS{rootDir}, "rootfs", 0)
	k := &fakeKernel{v: v, boot: time.Unix(1700000000, 0), procs: map[int32]*fakeProc{}, host: "magawa", domain: "(none)", used: 256 << 20,
		ipc: kernel.DefaultIPCLimits(), net: kernel.DefaultNetTunables()}
	fs := newFS(k, Options{MemTotal: 1 << 30, DevMinor: 7})
	w := &world{t: t, k: k, fs: fs, ns: ns, root: ns.Root()}
	t.Cleanup(func() {
		if k.stack != nil {
			k.stack.Close()
		}
	})
	ctx := &vfs.Context{Creds: &vfs.RootCreds, Root: w.root, Cwd: w.root}
	p, err := v.Resolve(ctx, w.root, "/proc", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Mount(ctx, p, fs, "proc", vfs.MountNoSuid|vfs.MountNoDev|vfs.MountNoExec); err != nil {
		t.Fatal(err)
	}
	return w
}

// addProcess adds a process with threads tids (the first is the leader,
// whose ID is the process's), owned by uid.
func (w *world) addProcess(uid uint32, tids ...int32) *fakeProc {
	p := &fakeProc{k: w.k, id: tids[0]}
	files := vfs.NewFDTable()
	for _, tid := range tids {
		t := &fakeTask{
			p: p, id: tid, dumpable: true, comm: "prog",
			creds: kernel.Credentials{UID: uid, EUID: uid, SUID: uid, FSUID: uid, GID: uid, EGID: uid, SGID: uid, FSGID: uid},
			root:  w.root, cwd: w.root, files: files, ns: w.ns,
			args: []byte("prog\x00-v\x00"), env: []byte("HOME=/\x00"),
			mem: &fakeMem{maps: []Mapping{
				{Start: 0x400000, End: 0x401000, Prot: unix.PROT_READ | unix.PROT_EXEC},
				{Start: 0x7ffffffde000, End: 0x7ffffffff000, Prot: unix.PROT_READ | unix.PROT_WRITE, Name: "[stack]"},
			}},
		}
		t.info = kernel.TaskInfo{TID: tid, TGID: p.id, PPID: 0, PGID: p.id, SID: p.id, State: 'S', Threads: len(tids)}
		t.info.Affinity = kernel.CPUSet{0xf}
		p.threads = append(p.threads, t)
	}
	w.k.mu.Lock()
	w.k.procs[p.id] = p
	w.k.mu.Unlock()
	return p
}

// ctxOf is the file context of task t (root's credentials when uid is 0).
func (w *world) ctxOf(t *fakeTask) *vfs.Context {
	c := &vfs.Creds{UID: t.creds.FSUID, GID: t.creds.FSGID}
	if t.creds.EUID == 0 {
		c.Caps = ^uint64(0)
	}
	return &vfs.Context{Creds: c, Root: w.root, Cwd: w.root, Task: t}
}

func (w *world) open(ctx *vfs.Context, name string, flags int) (*vfs.File, error) {
	return w.k.v.Open(ctx, ctx.Cwd, name, vfs.OpenHow{Flags: flags})
}

// read returns the contents of the file name.
func (w *world) read(ctx *vfs.Context, name string) string {
	w.t.Helper()
	s, err := w.tryRead(ctx, name)
	if err != nil {
		w.t.Fatalf("reading %s: %v", name, err)
	}
	return s
}

func (w *world) tryRead(ctx *vfs.Context, name string) (string, error) {
	f, err := w.open(ctx, name, unix.O_RDONLY)
	if err != nil {
		return "", err
	}
	defer f.DecRef()
	var out bytes.Buffer
	buf := make([]byte, 7) // small, to cross the buffer's boundaries
	for {
		n, err := f.Read(func(read func([]byte) (int, error)) (int, error) { return read(buf) })
		if err != nil {
			return "", err
		}
		if n == 0 {
			return out.String(), nil
		}
		out.Write(buf[:n])
	}
}

func (w *world) write(ctx *vfs.Context, name, data string) error {
	f, err := w.open(ctx, name, unix.O_WRONLY)
	if err != nil {
		return err
	}
	defer f.DecRef()
	_, err = f.Write(func(write func([]byte) (int, error)) (int, error) { return write([]byte(data)) })
	return err
}

func (w *world) readlink(ctx *vfs.Context, name string) (string, error) {
	p, err := w.k.v.Resolve(ctx, ctx.Cwd, name, vfs.ResolveNoFollow)
	if err != nil {
		return "", err
	}
	return w.k.v.Readlink(ctx, p)
}

// list returns the names in directory name, reading a few at a time.
func (w *world) list(ctx *vfs.Context, name string) []string {
	w.t.Helper()
	f, err := w.open(ctx, name, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		w.t.Fatalf("opening %s: %v", name, err)
	}
	defer f.DecRef()
	var names []string
	buf := make([]byte, 80)
	for {
		n, err := f.Getdents(buf)
		if err != nil {
			w.t.Fatalf("getdents %s: %v", name, err)
		}
		if n == 0 {
			return names
		}
		for off := 0; off < n; {
			reclen := int(binary.LittleEndian.Uint16(buf[off+16:]))
			nm := buf[off+19 : off+reclen]
			names = append(names, string(nm[:bytes.IndexByte(nm, 0)]))
			off += reclen
		}
	}
}
