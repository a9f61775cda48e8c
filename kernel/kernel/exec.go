package kernel

import (
	"crypto/rand"
	"fmt"
	"io"
	"path"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/loader"
	"magawa/kernel/mm"
	"magawa/kernel/platform"
	"magawa/kernel/vfs"
)

// ProcessSpec describes the sandbox's first process.
type ProcessSpec struct {
	// Path is the executable, an absolute path in the sandbox's root.
	Path string
	Argv []string
	Envv []string
	// Stdio become descriptors 0, 1 and 2 (the kernel takes the
	// references).
	Stdio [3]*vfs.File
	Creds Credentials
	Cwd   string
}

// Address-space layout of a new process.
const (
	// stackTop leaves a gap below the platform's reserved range.
	stackTop = platform.MaxUserAddress - 0x10_0000
	// The stack is one vma of RLIMIT_STACK's size, kept within these
	// bounds (an unlimited stack gets the maximum). Its pages cost
	// nothing until touched.
	minStackSize = 128 << 10
	maxStackSize = 1 << 30
	// mmapGap separates the stack from mmap's top-down area, as Linux's
	// mm/util.c, mmap_base(), keeps at least 128 MiB.
	mmapGap = 128 << 20
)

// stackSizeFor returns the stack vma's size for an RLIMIT_STACK value.
func stackSizeFor(limit uint64) uintptr {
	size := min(max(limit, minStackSize), maxStackSize)
	return uintptr(size) &^ (mm.PageSize - 1)
}

// maxInterpreterDepth bounds #! chains. Linux: fs/exec.c, exec_binprm().
const maxInterpreterDepth = 5

// startInit creates the sandbox's first task, loads its program and
// starts it.
func (k *Kernel) startInit(spec ProcessSpec) error {
	t := &Task{
		k:           k,
		fds:         vfs.NewFDTable(),
		creds:       spec.Creds,
		fs:          &FSContext{cwd: spec.Cwd, umask: 0o022},
		interruptCh: make(chan struct{}, 1),
		exitSignal:  unix.SIGCHLD,
		startTime:   time.Now(),
	}
	if t.fs.cwd == "" {
		t.fs.cwd = "/"
	}
	k.mu.Lock()
	tid, err := k.allocTIDLocked()
	if err != nil {
		k.mu.Unlock()
		return err
	}
	t.tid = tid
	t.tg = k.newThreadGroupLocked(t, nil, &SignalHandlers{})
	k.initTG = t.tg
	k.tasks[tid] = t
	k.mu.Unlock()
	fail := func(err error) error {
		t.fds.DecRef()
		k.mu.Lock()
		k.reapLocked(t.tg)
		k.mu.Unlock()
		return err
	}
	for i, f := range spec.Stdio {
		if f == nil {
			continue
		}
		if err := t.fds.InstallAt(i, f, false, t.MaxFDs()); err != nil {
			return fail(err)
		}
		f.DecRef()
	}
	m, img, err := t.load(spec.Path, spec.Argv, spec.Envv)
	if err != nil {
		return fail(fmt.Errorf("executing %s: %w", spec.Path, err))
	}
	t.installImage(m, img)
	t.start()
	return nil
}

// image is a loaded program, ready to replace the task's.
type image struct {
	entry, sp uintptr
	execfn    string
	// exe is the executable's absolute path (the interpreter's, for a
	// script), what /proc/self/exe names.
	exe string
}

// Execve replaces the calling task's program with the executable at name
// (#! scripts included): the other threads of the process end, the task
// gets a new address space, stack and registers, close-on-exec
// descriptors close and caught signals reset.
// Linux: fs/exec.c, do_execveat_common() and begin_new_exec().
func (t *Task) Execve(name string, argv, envv []string) error {
	m, img, err := t.load(name, argv, envv)
	if err != nil {
		return err
	}
	k := t.k
	// From here on exec cannot fail: kill the other threads and wait
	// for them. Linux: fs/exec.c, de_thread().
	k.mu.Lock()
	tg := t.tg
	if tg.exiting {
		k.mu.Unlock()
		m.Release()
		return ERESTARTNOINTR
	}
	if len(tg.tasks) > 1 {
		done := make(chan struct{})
		tg.execWaiter = done
		tg.execing = t
		for o := range tg.tasks {
			if o != t {
				o.exitSelf = true
				o.interruptLocked()
			}
		}
		k.mu.Unlock()
		<-done
		k.mu.Lock()
		tg.execing = nil
	}
	if old := tg.leader; old != t {
		// The exec'ing thread takes over the leader's ID.
		delete(k.tasks, t.tid)
		t.tid = old.tid
		k.tasks[t.tid] = t
		t.exitSignal = old.exitSignal
		tg.leader = t
	}
	// Handlers shared with another process are copied; caught ones
	// reset, ignored ones stay ignored.
	shared := false
	for _, o := range k.threadGroups {
		if o != tg && o.handler == tg.handler {
			shared = true
		}
	}
	if shared {
		tg.handler = tg.handler.copy()
	}
	for i := range tg.handler.actions {
		if tg.handler.actions[i].Handler != SIG_IGN {
			tg.handler.actions[i] = SigAction{}
		}
	}
	tg.didExec = true
	t.execResetLocked()
	vfork := t.vforkDone
	t.vforkDone = nil
	if t.fs.shared() {
		c := *t.fs
		t.fs = &c
	}
	k.mu.Unlock()
	if vfork != nil {
		close(vfork)
	}

	t.exitMemory()
	t.futexExited.Store(false)
	old := t.mm
	t.installImage(m, img)
	k.releaseMM(old)
	if t.fds.Shared() {
		n := t.fds.Fork()
		t.fds.DecRef()
		t.fds = n
	}
	t.fds.CloseOnExec()
	t.altStack = SignalStack{Flags: 2 /* SS_DISABLE */}
	return nil
}

// installImage makes m the task's address space and img its program.
func (t *Task) installImage(m *mm.MM, img *image) {
	t.k.mu.Lock()
	t.k.mmUsers[m]++
	t.k.mu.Unlock()
	t.mm = m
	t.Regs = initialRegisters(img.entry, img.sp)
	t.SetName(commName(img.execfn))
	t.exe = img.exe
	t.robustList, t.clearChildTID = 0, 0
}

// load builds a new address space holding the program at name, #!
// interpreters resolved.
func (t *Task) load(name string, argv, envv []string) (*mm.MM, *image, error) {
	// AT_EXECFN is the name as the caller gave it; only the lookup is
	// relative to the working directory.
	execfn := name
	if !path.IsAbs(name) {
		name = path.Join(t.Cwd(), name)
	}
	for depth := 0; ; depth++ {
		f, err := t.openExecutable(name)
		if err != nil {
			return nil, nil, err
		}
		head := make([]byte, loader.BinprmBufSize)
		n, err := f.Impl.ReadAt(head, 0)
		if err != nil && err != io.EOF {
			f.DecRef()
			return nil, nil, err
		}
		head = head[:n]
		if loader.IsELF(head) {
			m, img, err := t.loadELF(f, argv, envv, execfn)
			if img != nil {
				img.exe = name
				if rp, ok := f.Impl.(interface{ RealPath() (string, error) }); ok {
					if real, err := rp.RealPath(); err == nil {
						img.exe = real
					}
				}
			}
			f.DecRef()
			return m, img, err
		}
		f.DecRef()
		if n < 2 || head[0] != '#' || head[1] != '!' {
			return nil, nil, unix.ENOEXEC
		}
		if depth >= maxInterpreterDepth {
			return nil, nil, unix.ELOOP
		}
		interp, arg, err := loader.ParseInterpreterLine(head)
		if err != nil {
			return nil, nil, err
		}
		// argv becomes: interpreter [arg] script-path original-argv[1:].
		nargv := []string{interp}
		if arg != "" {
			nargv = append(nargv, arg)
		}
		nargv = append(nargv, name)
		if len(argv) > 1 {
			nargv = append(nargv, argv[1:]...)
		}
		argv = nargv
		name = interp
	}
}

// openExecutable opens name for execution: a regular file with an
// execute bit. Linux: fs/exec.c, do_open_execat().
func (t *Task) openExecutable(name string) (*vfs.File, error) {
	if exe, ok := t.MagicLink(name); ok {
		name = exe
	}
	f, err := t.k.Root.Open(name, unix.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := f.Impl.Stat(&st); err != nil {
		f.DecRef()
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o111 == 0 {
		f.DecRef()
		return nil, unix.EACCES
	}
	return f, nil
}

// readerAt adapts a file to io.ReaderAt.
type readerAt struct{ f *vfs.File }

func (r readerAt) ReadAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		n, err := r.f.Impl.ReadAt(p[done:], off+int64(done))
		done += n
		if err != nil {
			return done, err
		}
		if n == 0 {
			return done, io.EOF
		}
	}
	return done, nil
}

func (t *Task) loadELF(f *vfs.File, argv, envv []string, execfn string) (*mm.MM, *image, error) {
	var st unix.Stat_t
	if err := f.Impl.Stat(&st); err != nil {
		return nil, nil, err
	}
	as, err := t.k.Platform.NewAddressSpace()
	if err != nil {
		return nil, nil, fmt.Errorf("creating address space: %w", err)
	}
	lim, _ := t.Rlimit(unix.RLIMIT_STACK)
	stackSize := stackSizeFor(lim.Cur)
	m := mm.New(t.k.MemoryFile, as, stackTop-stackSize-mmapGap)
	img, err := loader.LoadELF(m, readerAt{f}, st.Size)
	if err != nil {
		m.Release()
		return nil, nil, err
	}
	if img.Interp != "" {
		m.Release()
		t.k.Debugf("exec %s: dynamic executables (interpreter %s) are not supported yet", execfn, img.Interp)
		// As Linux does when the interpreter cannot be opened: ENOENT.
		// ENOEXEC would make shells run the binary as a script.
		return nil, nil, fmt.Errorf("%s needs the dynamic linker %s, not supported yet: %w", execfn, img.Interp, unix.ENOENT)
	}
	stackProt := unix.PROT_READ | unix.PROT_WRITE
	if img.ExecStack {
		stackProt |= unix.PROT_EXEC
	}
	if err := m.MapFixed(stackTop-stackSize, stackSize, stackProt, "[stack]"); err != nil {
		m.Release()
		return nil, nil, fmt.Errorf("mapping the stack: %w", err)
	}
	auxv := loader.ImageAuxv(img)
	auxv = append(auxv,
		loader.AuxEntry{Key: loader.AT_UID, Value: uint64(t.creds.UID)},
		loader.AuxEntry{Key: loader.AT_EUID, Value: uint64(t.creds.EUID)},
		loader.AuxEntry{Key: loader.AT_GID, Value: uint64(t.creds.GID)},
		loader.AuxEntry{Key: loader.AT_EGID, Value: uint64(t.creds.EGID)},
		loader.AuxEntry{Key: loader.AT_SECURE, Value: 0},
		loader.AuxEntry{Key: loader.AT_CLKTCK, Value: clockTicks},
		loader.AuxEntry{Key: loader.AT_HWCAP, Value: hwcap()},
		loader.AuxEntry{Key: loader.AT_MINSIGSTKSZ, Value: minSigStackSize},
	)
	var random [16]byte
	rand.Read(random[:])
	sp, err := loader.SetupStack(m, stackTop, argv, envv, auxv, execfn, random)
	if err != nil {
		m.Release()
		return nil, nil, err
	}
	return m, &image{entry: img.Entry, sp: sp, execfn: execfn}, nil
}

// commName is the command name of an executable: its base name, cut to
// 15 bytes (TASK_COMM_LEN - 1).
func commName(p string) string {
	b := path.Base(p)
	if len(b) > 15 {
		b = b[:15]
	}
	return b
}

// ExePath is the task's executable, as /proc/self/exe names it.
func (t *Task) ExePath() string { return t.exe }

// MagicLink resolves the /proc links to the task's own executable
// (/proc/self/exe, /proc/thread-self/exe, /proc/<pid>/exe), which programs
// such as busybox execute to run themselves. The rest of /proc arrives
// with the file-system work.
func (t *Task) MagicLink(name string) (string, bool) {
	p := path.Clean(name)
	switch p {
	case "/proc/self/exe", "/proc/thread-self/exe", fmt.Sprintf("/proc/%d/exe", t.TGID()):
		if t.exe != "" {
			return t.exe, true
		}
	}
	return "", false
}
