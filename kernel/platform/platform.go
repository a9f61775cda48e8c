package platform

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Registers is the general-purpose register state of one application
// thread, in the layout of Linux's user_regs_struct.
type Registers = unix.PtraceRegs

// Application address-space bounds. The platform keeps its own machinery
// (the stub's code) above MaxUserAddress, so the kernel must never let the
// application map anything there.
const (
	MinUserAddress = 0x10000
	MaxUserAddress = 0x7ff0_0000_0000
)

// EventKind says why Switch returned.
type EventKind int

const (
	// EventSyscall: the application executed a system call instruction.
	// The number is in Registers.Orig_rax, the arguments in the usual
	// registers, and nothing has been done on the host.
	EventSyscall EventKind = iota
	// EventFault: the application caused a synchronous fault (SIGSEGV,
	// SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS). The signal was not
	// delivered on the host.
	EventFault
	// EventInterrupted: Interrupt was called.
	EventInterrupted
)

// Event describes why control came back to the kernel.
type Event struct {
	Kind  EventKind
	Signo unix.Signal // EventFault: the host signal
	Code  int32       // EventFault: si_code
	Addr  uintptr     // EventFault: si_addr
}

func (e Event) String() string {
	switch e.Kind {
	case EventSyscall:
		return "syscall"
	case EventFault:
		return fmt.Sprintf("fault %v code=%d addr=%#x", e.Signo, e.Code, e.Addr)
	case EventInterrupted:
		return "interrupted"
	}
	return fmt.Sprintf("event(%d)", int(e.Kind))
}

// ErrContextDead is returned by Switch when the host side of the context
// disappeared (the stub was killed from outside).
var ErrContextDead = errors.New("platform: application context died")

// Platform is one way of running application code so that every system
// call and fault comes to the kernel. Implementations register by name.
type Platform interface {
	// Name is the name used with --platform.
	Name() string
	// NewAddressSpace creates an empty address space whose memory is
	// backed by ranges of the memory file the platform was built over.
	NewAddressSpace() (AddressSpace, error)
	// NewContext creates an execution context. If NeedsOSThread, it
	// must be created and used on one OS thread (the caller holds
	// runtime.LockOSThread); otherwise by one goroutine at a time.
	NewContext() (Context, error)
	// NeedsOSThread reports whether a context is tied to the OS thread
	// that created it. A task goroutine locked to its thread costs a
	// host thread wake-up at every hand-off between tasks (the locked
	// thread must be woken to run its goroutine), so a platform that
	// can do without says so.
	NeedsOSThread() bool
	// Close releases platform resources.
	Close() error
}

// AddressSpace is the host side of one application address space. Its
// methods must be called from a goroutine locked to an OS thread that has
// a Context (ptrace: only a tracer may change a stub).
type AddressSpace interface {
	// MapFile maps [offset, offset+length) of the memory file at addr with
	// prot, replacing whatever was there.
	MapFile(addr, length uintptr, offset uint64, prot int) error
	// Unmap removes [addr, addr+length).
	Unmap(addr, length uintptr) error
	// Protect changes the protection of [addr, addr+length).
	Protect(addr, length uintptr, prot int) error
	// Release destroys the address space.
	Release()
}

// Context runs application threads. Register state belongs to the
// caller: Switch loads regs before running and stores them back after.
type Context interface {
	// Switch runs the application in as with regs until the next event.
	Switch(as AddressSpace, regs *Registers) (Event, error)
	// FPState returns the extended (XSAVE) state of the thread last run;
	// SetFPState replaces it. Valid between Switch calls; SetFPState
	// before the first Switch sets the state the thread starts with.
	FPState() ([]byte, error)
	SetFPState(state []byte) error
	// CPUTime is the host CPU time the application's code has used on
	// this context's address space (its stub), for CPU-time clocks.
	CPUTime() (time.Duration, error)
	// Interrupt makes a concurrent or the next Switch return
	// EventInterrupted. It may be called from any goroutine.
	Interrupt()
	// PrepareSleep tells the context that the system call the kernel
	// serves for it is about to block, so that a host thread waiting
	// actively for its answer can sleep instead. Called between
	// Switch calls, by the goroutine using the context.
	PrepareSleep()
	// Release frees the context.
	Release()
}

// Constructor builds a platform over the kernel's memory file descriptor.
type Constructor func(memoryFD int) (Platform, error)

var (
	registryMu sync.Mutex
	registry   = map[string]Constructor{}
)

// Register makes a platform available under name.
func Register(name string, c Constructor) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[name] = c
}

// Lookup returns the constructor registered as name.
func Lookup(name string) (Constructor, error) {
	registryMu.Lock()
	defer registryMu.Unlock()
	c, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown platform %q (have %v)", name, namesLocked())
	}
	return c, nil
}

// Names lists the registered platforms.
func Names() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	return namesLocked()
}

func namesLocked() []string {
	var names []string
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
