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
	stackTop  = platform.MaxUserAddress - 0x10_0000
	stackSize = 8 << 20
	// mmapBase is where mmap's top-down search begins, below the stack
	// and a gap that leaves the stack room (Linux: mm/util.c, mmap_base()).
	mmapBase = stackTop - stackSize - 128<<20
)

// maxInterpreterDepth bounds #! chains. Linux: fs/exec.c, 4 (bprm->interp_depth... binfmt_script recursion limit).
const maxInterpreterDepth = 4

func (k *Kernel) newInitTask(spec ProcessSpec) (*Task, error) {
	tg := &ThreadGroup{rlimits: defaultRlimits()}
	t := &Task{k: k, tg: tg, fds: vfs.NewFDTable(), creds: spec.Creds, cwd: spec.Cwd}
	if t.cwd == "" {
		t.cwd = "/"
	}
	t.tid = k.allocTID()
	tg.id = t.tid
	for i, f := range spec.Stdio {
		if f == nil {
			continue
		}
		if err := t.fds.InstallAt(i, f, false, t.MaxFDs()); err != nil {
			return nil, err
		}
		f.DecRef()
	}
	ctx, err := k.Platform.NewContext()
	if err != nil {
		return nil, fmt.Errorf("creating platform context: %w", err)
	}
	t.ctx = ctx
	if err := t.Execve(spec.Path, spec.Argv, spec.Envv); err != nil {
		t.fds.RemoveAll()
		ctx.Release()
		if t.mm != nil {
			t.mm.Release()
		}
		return nil, fmt.Errorf("executing %s: %w", spec.Path, err)
	}
	k.mu.Lock()
	k.tasks[t.tid] = t
	k.mu.Unlock()
	return t, nil
}

// Execve replaces the task's program with the executable at name (#!
// scripts included): a new address space, stack and registers.
// Linux: fs/exec.c, do_execveat_common().
func (t *Task) Execve(name string, argv, envv []string) error {
	// AT_EXECFN is the name as the caller gave it; only the lookup is
	// relative to the working directory.
	execfn := name
	if !path.IsAbs(name) {
		name = path.Join(t.cwd, name)
	}
	for depth := 0; ; depth++ {
		f, err := t.openExecutable(name)
		if err != nil {
			return err
		}
		head := make([]byte, 256)
		n, err := f.Impl.ReadAt(head, 0)
		if err != nil && err != io.EOF {
			f.DecRef()
			return err
		}
		head = head[:n]
		if loader.IsELF(head) {
			err := t.loadELF(f, argv, envv, execfn)
			f.DecRef()
			return err
		}
		f.DecRef()
		if n < 2 || head[0] != '#' || head[1] != '!' {
			return unix.ENOEXEC
		}
		if depth >= maxInterpreterDepth {
			return unix.ELOOP
		}
		interp, arg, err := loader.ParseInterpreterLine(head)
		if err != nil {
			return err
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

func (t *Task) loadELF(f *vfs.File, argv, envv []string, execfn string) error {
	var st unix.Stat_t
	if err := f.Impl.Stat(&st); err != nil {
		return err
	}
	as, err := t.k.Platform.NewAddressSpace()
	if err != nil {
		return fmt.Errorf("creating address space: %w", err)
	}
	m := mm.New(t.k.MemoryFile, as, mmapBase)
	img, err := loader.LoadELF(m, readerAt{f}, st.Size)
	if err != nil {
		m.Release()
		return err
	}
	if img.Interp != "" {
		m.Release()
		t.k.Debugf("exec %s: dynamic executables (interpreter %s) are not supported yet", execfn, img.Interp)
		return fmt.Errorf("%s needs the dynamic linker %s, not supported yet: %w", execfn, img.Interp, unix.ENOEXEC)
	}
	if err := m.MapFixed(stackTop-stackSize, stackSize, unix.PROT_READ|unix.PROT_WRITE, "[stack]"); err != nil {
		m.Release()
		return fmt.Errorf("mapping the stack: %w", err)
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
		return err
	}
	if t.mm != nil {
		t.mm.Release()
	}
	t.mm = m
	t.Regs = initialRegisters(uintptr(img.Entry), sp)
	t.name = commName(execfn)
	// Handlers do not survive exec; ignored signals stay ignored.
	// Linux: kernel/signal.c, flush_signal_handlers().
	for i := range t.tg.actions {
		if t.tg.actions[i].Handler != SIG_IGN {
			t.tg.actions[i] = SigAction{}
		}
	}
	return nil
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
