package systrap

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
	"magawa/kernel/platform/internal/stubproc"
)

func init() {
	platform.Register("systrap", New)
}

// Platform runs each address space in a stub process whose application
// threads trap their system calls into a handler that hands them to the
// kernel through shared memory.
type Platform struct {
	memoryFD int
	stubFD   int
	slots    *slotPool
	zygote   *zygote

	// spare is a stub ready for the next address space (takeMaster);
	// refilling says one is being made. spareMu orders the refill's
	// send after Close's drop: closed is set under it.
	spare     chan *stubproc.Master
	refilling atomic.Bool
	spareMu   sync.Mutex
	closed    bool
}

const (
	atHWCAP2       = 26     // AT_HWCAP2
	hwcap2FSGSBase = 1 << 1 // HWCAP2_FSGSBASE: rd/wrfsbase in user mode
)

// New creates the systrap platform over the kernel's memory file. It
// must be called before the sandbox process confines itself: it starts
// the zygote, the stub every other stub is cloned from, which must not
// inherit the kernel's seccomp allowlist (that filter would kill a stub
// at the application's first system call outside it, before the stub's
// own filter could trap it).
func New(memoryFD int) (platform.Platform, error) {
	if err := checkHost(); err != nil {
		return nil, err
	}
	stubFD, err := newStubFile()
	if err != nil {
		return nil, err
	}
	slots, err := newSlotPool()
	if err != nil {
		unix.Close(stubFD)
		return nil, err
	}
	p := &Platform{memoryFD: memoryFD, stubFD: stubFD, slots: slots, spare: make(chan *stubproc.Master, 1)}
	if p.zygote, err = p.startZygote(); err != nil {
		slots.close()
		unix.Close(stubFD)
		return nil, err
	}
	// The first address space's stub is made while the sandbox sets up
	// its file systems.
	p.refillSpare()
	return p, nil
}

// checkHost refuses hosts where the handler could not run: it reads and
// writes fs_base and gs_base with the FSGSBASE instructions, which the
// host must have enabled for user mode (Linux 5.9 and later).
func checkHost() error {
	if runtime.GOARCH != "amd64" {
		return fmt.Errorf("systrap: %s is not supported", runtime.GOARCH)
	}
	auxv, err := unix.Auxv()
	if err != nil {
		return fmt.Errorf("systrap: reading the auxiliary vector: %w", err)
	}
	for _, kv := range auxv {
		if kv[0] == atHWCAP2 && kv[1]&hwcap2FSGSBase != 0 {
			return nil
		}
	}
	return errors.New("systrap: the host does not enable FSGSBASE for user mode")
}

// Name implements platform.Platform.
func (p *Platform) Name() string { return "systrap" }

// Close implements platform.Platform.
func (p *Platform) Close() error {
	stubs := []*stubproc.Master{p.zygote.m}
	if spare := p.dropSpare(); spare != nil {
		stubs = append(stubs, spare)
	}
	stopStubs(stubs...)
	p.slots.close()
	return unix.Close(p.stubFD)
}

// NewAddressSpace implements platform.Platform. The stub process is
// cloned from the zygote on first use.
func (p *Platform) NewAddressSpace() (platform.AddressSpace, error) {
	return &addressSpace{p: p}, nil
}

// NeedsOSThread implements platform.Platform: a context's stub threads
// are driven through shared memory and futexes, from any thread.
func (p *Platform) NeedsOSThread() bool { return false }

// NewContext implements platform.Platform.
func (p *Platform) NewContext() (platform.Context, error) {
	return &context{p: p, threads: map[*addressSpace]*stubThread{}}, nil
}

// zygote is the first stub, started before the sandbox process is
// confined and traced by a master goroutine locked to its own OS thread.
// It only ever clones itself into new stub processes; the master serves
// one fork at a time.
type zygote struct {
	m *stubproc.Master
}

func (p *Platform) startZygote() (*zygote, error) {
	m, err := stubproc.Start(p.execStub)
	if err != nil {
		return nil, err
	}
	return &zygote{m: m}, nil
}

// fork clones the zygote into a new stub process, a child of the
// sandbox process (CLONE_PARENT), waiting in pause() to be seized.
func (z *zygote) fork() (int, error) {
	var pid int
	err := z.m.Run(func(st *stubproc.Thread) error {
		r, err := st.Inject(processCloneSite, nil, unix.SYS_CLONE, unix.CLONE_PARENT|uintptr(unix.SIGCHLD), 0, 0, 0, 0)
		if err != nil {
			return err
		}
		if int64(r) < 0 {
			return fmt.Errorf("clone in the zygote: %w", unix.Errno(-int64(r)))
		}
		pid = int(r)
		return nil
	})
	if errors.Is(err, stubproc.ErrStopped) {
		return 0, errors.New("systrap: platform closed")
	}
	return pid, err
}

// execStub starts the zygote traced by the calling OS thread and runs it
// to its ready trap.
func (p *Platform) execStub() (*stubproc.Thread, error) {
	// The memory file at stubMemoryFD, the slot file at stubSlotFD;
	// 0-2 closed. The zygote's process group is inherited by every
	// stub.
	files := []uintptr{^uintptr(0), ^uintptr(0), ^uintptr(0), uintptr(p.memoryFD), uintptr(p.slots.fd)}
	st, err := stubproc.Exec(p.stubFD, files, syscallSite)
	if err != nil {
		return nil, fmt.Errorf("the zygote: %w", err)
	}
	return st, nil
}
