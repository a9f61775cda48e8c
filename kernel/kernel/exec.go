package kernel

import (
	"crypto/rand"
	"fmt"
	"io"
	"path"

	"golang.org/x/sys/unix"

	"magawa/kernel/loader"
	"magawa/kernel/mm"
	"magawa/kernel/platform"
	"magawa/kernel/vfs"
)

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

// image is a loaded program, ready to replace the task's.
type image struct {
	entry, sp uintptr
	execfn    string
	// exe is the executable (the interpreter's, for a script), what
	// /proc/self/exe names.
	exe vfs.Path
	// stack is where the initial stack holds the argument and
	// environment strings and the auxiliary vector.
	stack loader.Stack
	// euid and egid are the effective IDs the program runs with: the
	// file's owner and group for a set-user-ID (set-group-ID) file,
	// else the caller's; secure says they differ from the real ones
	// (AT_SECURE: the dynamic linker then ignores LD_PRELOAD and the
	// like).
	euid, egid uint32
	secure     bool
}

// Execve replaces the calling task's program with the executable at name
// (#! scripts included): the other threads of the process end, the task
// gets a new address space, stack and registers, close-on-exec
// descriptors close and caught signals reset.
// Linux: fs/exec.c, do_execveat_common() and begin_new_exec().
func (t *Task) Execve(target ExecTarget, argv, envv []string) error {
	m, img, err := t.load(target, argv, envv)
	if err != nil {
		return err
	}
	k := t.k
	// Kill the other threads; from then on exec cannot fail.
	k.mu.Lock()
	if err := t.deThreadLocked(); err != nil {
		k.mu.Unlock()
		m.Release()
		return err
	}
	tg := t.tg
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
	t.execResetLocked(img)
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
		k.mu.Lock()
		t.fds = n
		k.mu.Unlock()
	}
	t.fds.CloseOnExec()
	t.altStack = SignalStack{Flags: 2 /* SS_DISABLE */}
	return nil
}

// deThreadLocked kills the other threads of t's process and waits until
// they have exited, unlocking Kernel.mu meanwhile. It fails with
// ERESTARTNOINTR, and kills nothing, when t must not exec: its process
// is exiting, or another thread's exec has killed t. Linux: fs/exec.c,
// de_thread(), which gives up when a group exit or exec is under way.
func (t *Task) deThreadLocked() error {
	k, tg := t.k, t.tg
	if t.killedLocked() {
		// Two threads exec'ing at once would otherwise each wait for
		// the other to exit.
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
	return nil
}

// installImage makes m the task's address space and img its program.
func (t *Task) installImage(m *mm.MM, img *image) {
	t.k.mu.Lock()
	t.k.mmUsers[m]++
	// Under the lock: other tasks read these through /proc.
	t.mm = m
	t.name = commName(img.execfn)
	t.exe = img.exe
	t.stack = img.stack
	t.k.mu.Unlock()
	t.Regs = initialRegisters(img.entry, img.sp)
	t.robustList, t.clearChildTID = 0, 0
}

// load builds a new address space holding the program at name, #!
// interpreters resolved.
func (t *Task) load(target ExecTarget, argv, envv []string) (*mm.MM, *image, error) {
	// AT_EXECFN is the name as the caller gave it.
	execfn := target.ExecFn
	if execfn == "" {
		execfn = target.Name
	}
	name := target.Name
	for depth := 0; ; depth++ {
		f, err := t.openExecutable(target)
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
				img.exe = f.Path()
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
		script := name
		if script == "" {
			script = execfn
		}
		nargv = append(nargv, script)
		if len(argv) > 1 {
			nargv = append(nargv, argv[1:]...)
		}
		argv = nargv
		name = interp
		target = ExecTarget{Name: interp}
	}
}

// ExecTarget names the program execve runs: Name resolved from Start, or
// with an empty Name the file at Start itself (execveat with
// AT_EMPTY_PATH). ExecFn, if set, is AT_EXECFN ("/dev/fd/N").
type ExecTarget struct {
	Start vfs.Path
	Name  string
	// NoFollow fails with ELOOP on a final symbolic link.
	NoFollow bool
	ExecFn   string
}

// openExecutable opens name for execution: a regular file with an
// execute bit. Linux: fs/exec.c, do_open_execat().
func (t *Task) openExecutable(target ExecTarget) (*vfs.File, error) {
	ctx := t.FileContext()
	p := target.Start
	if target.Name != "" {
		var flags uint64
		if target.NoFollow {
			flags |= vfs.ResolveNoFollow
		}
		if target.Start.IsZero() {
			target.Start = ctx.Cwd
		}
		var err error
		p, err = t.k.VFS.Resolve(ctx, target.Start, target.Name, flags)
		if err != nil {
			return nil, err
		}
	}
	if p.Dentry.Type() == unix.S_IFLNK {
		return nil, unix.ELOOP
	}
	if p.Dentry.Type() != unix.S_IFREG || p.Mount.Flags()&vfs.MountNoExec != 0 {
		return nil, unix.EACCES
	}
	if err := t.k.VFS.Permission(ctx, p, vfs.MayExec); err != nil {
		return nil, err
	}
	return t.k.VFS.OpenPath(ctx, p, unix.O_RDONLY)
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
		if err := t.loadInterpreter(m, img); err != nil {
			m.Release()
			return nil, nil, err
		}
	}
	if err := loader.MapVDSO(t.k.vdsoMemory(m), img); err != nil {
		m.Release()
		return nil, nil, fmt.Errorf("mapping the vDSO: %w", err)
	}

	stackProt := unix.PROT_READ | unix.PROT_WRITE
	if img.ExecStack {
		stackProt |= unix.PROT_EXEC
	}
	if err := m.MapFixed(stackTop-stackSize, stackSize, stackProt, "[stack]"); err != nil {
		m.Release()
		return nil, nil, fmt.Errorf("mapping the stack: %w", err)
	}
	euid, egid := t.execIDs(f, &st)
	secure := euid != t.creds.UID || egid != t.creds.GID
	auxv := loader.ImageAuxv(img)
	auxv = append(auxv,
		loader.AuxEntry{Key: loader.AT_UID, Value: uint64(t.creds.UID)},
		loader.AuxEntry{Key: loader.AT_EUID, Value: uint64(euid)},
		loader.AuxEntry{Key: loader.AT_GID, Value: uint64(t.creds.GID)},
		loader.AuxEntry{Key: loader.AT_EGID, Value: uint64(egid)},
		loader.AuxEntry{Key: loader.AT_SECURE, Value: boolValue(secure)},
		loader.AuxEntry{Key: loader.AT_CLKTCK, Value: clockTicks},
		loader.AuxEntry{Key: loader.AT_HWCAP, Value: hwcap()},
		loader.AuxEntry{Key: loader.AT_MINSIGSTKSZ, Value: minSigStackSize},
	)
	var random [16]byte
	rand.Read(random[:])
	stack, err := loader.WriteStack(m, loader.StackParams{
		Top: stackTop, Argv: argv, Envv: envv, Auxv: auxv, ExecFn: execfn, Random: random,
	})
	if err != nil {
		m.Release()
		return nil, nil, err
	}
	return m, &image{entry: img.StartPC(), sp: stack.SP, execfn: execfn, stack: stack, euid: euid, egid: egid, secure: secure}, nil
}

// execIDs are the effective IDs exec of the file f (st its attributes)
// gives: its owner with the set-user-ID bit, its group with the
// set-group-ID bit and group execute (without group execute the bit
// means mandatory locking), unless the file's mount is nosuid or the
// process has no_new_privs; the caller's otherwise. Root's capabilities
// follow from the new effective ID (afterExec).
// Linux: fs/exec.c, bprm_fill_uid().
func (t *Task) execIDs(f *vfs.File, st *unix.Stat_t) (euid, egid uint32) {
	euid, egid = t.creds.EUID, t.creds.EGID
	if f.Path().Mount.Flags()&vfs.MountNoSuid != 0 || t.NoNewPrivs() {
		return euid, egid
	}
	if st.Mode&unix.S_ISUID != 0 {
		euid = st.Uid
	}
	if st.Mode&(unix.S_ISGID|unix.S_IXGRP) == unix.S_ISGID|unix.S_IXGRP {
		egid = st.Gid
	}
	return euid, egid
}

func boolValue(b bool) uint64 {
	if b {
		return 1
	}
	return 0
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

// Executable is the task's executable, what /proc/self/exe names.
func (t *Task) Executable() vfs.Path { return t.exe }

// loadInterpreter opens PT_INTERP as execve opens an executable (symbolic
// links followed; a relative path from the working directory) and loads
// it. Linux: fs/binfmt_elf.c, load_elf_binary(), open_exec(elf_interpreter).
func (t *Task) loadInterpreter(m *mm.MM, img *loader.Image) error {
	f, err := t.openExecutable(ExecTarget{Name: img.Interp})
	if err != nil {
		return fmt.Errorf("opening the interpreter %s: %w", img.Interp, err)
	}
	defer f.DecRef()
	var st unix.Stat_t
	if err := f.Impl.Stat(&st); err != nil {
		return err
	}
	return loader.LoadInterpreter(m, img, readerAt{f}, st.Size)
}
