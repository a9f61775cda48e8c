package kernel

import "golang.org/x/sys/unix"

// SyscallArguments are the six argument registers of a system call, in
// order: rdi, rsi, rdx, r10, r8, r9.
type SyscallArguments [6]uintptr

// SyscallFn serves one system call. It returns the value for rax, or an
// error: a unix.Errno (returned to the application as -errno) or one of the
// kernel's control errors (ErrExit, ...).
type SyscallFn func(t *Task, args *SyscallArguments) (uintptr, error)

// Support is how much of a system call the kernel implements.
type Support int

const (
	// Unsupported: the call fails with Syscall.Err (ENOSYS unless set).
	Unsupported Support = iota
	// Partial: implemented, but some flags or modes are not.
	Partial
	// Supported: implemented with Linux semantics.
	Supported
)

func (s Support) String() string {
	switch s {
	case Supported:
		return "supported"
	case Partial:
		return "partial"
	}
	return "unsupported"
}

// Syscall is one row of the system-call table.
type Syscall struct {
	Nr      uintptr
	Name    string
	Fn      SyscallFn
	Support Support
	// Err is returned when Fn is nil; zero means ENOSYS.
	Err unix.Errno
	// Note explains a partial or unsupported row (shown in docs/syscalls.md).
	Note string
}

// MaxSyscall bounds system-call numbers; anything at or above it is ENOSYS.
const MaxSyscall = 512

// SyscallTable maps system-call numbers to rows.
type SyscallTable struct {
	// Arch names the ABI ("x86_64").
	Arch  string
	Table [MaxSyscall]Syscall
}

// Lookup returns the row for nr, or nil for a number outside the table.
func (st *SyscallTable) Lookup(nr uintptr) *Syscall {
	if nr >= MaxSyscall || st.Table[nr].Name == "" {
		return nil
	}
	return &st.Table[nr]
}

// Int is argument i as a C int.
func (a *SyscallArguments) Int(i int) int32 { return int32(a[i]) }

// Uint is argument i as a C unsigned int.
func (a *SyscallArguments) Uint(i int) uint32 { return uint32(a[i]) }

// Int64 is argument i as a signed 64-bit value (off_t, long).
func (a *SyscallArguments) Int64(i int) int64 { return int64(a[i]) }

// Pointer is argument i as an application address.
func (a *SyscallArguments) Pointer(i int) uintptr { return a[i] }

// Size is argument i as a size_t.
func (a *SyscallArguments) Size(i int) uint64 { return uint64(a[i]) }
