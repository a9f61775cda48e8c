package proc

import (
	"time"

	"magawa/kernel/kernel"
	"magawa/kernel/net/inet"
	"magawa/kernel/userns"
	"magawa/kernel/vfs"
)

// Kernel is what proc needs of the application kernel. Implementations
// return snapshots; proc never holds them across calls.
type Kernel interface {
	// Processes lists the processes not yet reaped (zombies included)
	// by ascending ID.
	Processes() []Process
	// Process returns the process id, or nil.
	Process(id int32) Process
	// Caller returns the task a file operation comes from (ctx.Task), or
	// nil for the kernel's own work.
	Caller(ctx *vfs.Context) Task
	// Boot is when the sandbox started; Uptime the time since.
	Boot() time.Time
	Uptime() time.Duration
	// NumCPU is the number of the sandbox's CPUs.
	NumCPU() int
	// CPUUsage is the CPU time application code has used since boot.
	CPUUsage() time.Duration
	// TaskStats counts threads and forks.
	TaskStats() kernel.TaskStats
	// MemoryUsed is the memory the sandbox's memory file holds.
	MemoryUsed() uint64
	// Hostname and SetHostname are the UTS nodename, Domainname and
	// SetDomainname the NIS domain name.
	Hostname() string
	SetHostname(name string) error
	Domainname() string
	SetDomainname(name string) error
	// DefaultOOMScoreAdj is the oom_score_adj of a process that has not
	// set its own: the container's process.oomScoreAdj.
	DefaultOOMScoreAdj() int32
	// UIDMap and GIDMap are the sandbox's user namespace's ID maps
	// (uid_map, gid_map).
	UIDMap() *userns.Map
	GIDMap() *userns.Map
	// IPCLimits and NetTunables are the sandbox's IPC and network
	// namespace tunables (/proc/sys); the Update methods change them as
	// kernel.Kernel's do: change edits a copy, kept unless it fails.
	IPCLimits() kernel.IPCLimits
	UpdateIPCLimits(change func(*kernel.IPCLimits) error) error
	NetTunables() kernel.NetTunables
	UpdateNetTunables(change func(*kernel.NetTunables) error) error
	// VFS names paths (VFS.PathName).
	VFS() *vfs.VFS
	// Network is the sandbox's network stack (/proc/net), made on first
	// use as kernel.Kernel.Network makes it.
	Network() (NetStack, error)
}

// NetStack is what /proc/net shows of the network stack (*inet.Stack).
type NetStack interface {
	Interfaces() []inet.Interface
	InterfaceAddresses() []inet.InterfaceAddress
	Routes() []inet.Route
	InterfaceStats() map[int32]inet.InterfaceStats
	// Sockets calls fn for each open Internet socket.
	Sockets(fn func(*inet.Socket))
}

// Process is one process (thread group). Values must be comparable: two
// handles of one process are equal.
type Process interface {
	ID() int32
	// Reaped reports whether the process is gone (its ID may be reused).
	Reaped() bool
	// Leader is the thread whose ID is the process's.
	Leader() Task
	// Threads lists the threads by ascending ID (see
	// kernel.ThreadGroup.Threads); Thread returns one, or nil.
	Threads() []Task
	Thread(tid int32) Task
}

// Task is one thread. Values must be comparable.
type Task interface {
	ID() int32
	Process() Process
	// Alive reports whether the thread is still in the thread table.
	Alive() bool
	// Identity returns the credentials and whether the process is
	// dumpable.
	Identity() (kernel.Credentials, bool)
	// Info takes a snapshot; whole asks for the process's CPU time.
	Info(whole bool) kernel.TaskInfo
	// Comm and SetComm are the command name.
	Comm() string
	SetComm(name string)
	Directories() (root, cwd vfs.Path)
	Executable() vfs.Path
	// Files is the descriptor table, nil once the thread exited.
	Files() *vfs.FDTable
	// Memory is the address space, nil once the thread exited.
	Memory() Memory
	// Args returns the argument strings (cmdline), or with env set the
	// environment strings (environ).
	Args(env bool) ([]byte, error)
	// Auxv returns the auxiliary vector as the process got it: pairs of
	// 64-bit words, AT_NULL included (auxv).
	Auxv() []byte
	MountNamespace() *vfs.MountNamespace
}

// Memory is an address space as /proc/[pid]/maps, smaps, statm and
// status show it.
type Memory interface {
	// Mappings lists the mappings by address.
	Mappings() []Mapping
	// Resident returns how many bytes of [start, end) (a mapping) are
	// in memory.
	Resident(start, end uint64) uint64
}

// Mapping is one line of /proc/[pid]/maps.
type Mapping struct {
	Start, End uint64
	// Prot holds PROT_READ, PROT_WRITE, PROT_EXEC.
	Prot   int
	Shared bool
	// Offset, DevMajor, DevMinor and Inode describe a file mapping's
	// file; Name is its path, or "[heap]", "[stack]", "[vdso]"..., or
	// empty for anonymous memory.
	Offset             uint64
	DevMajor, DevMinor uint32
	Inode              uint64
	Name               string
}

// ProcNamer is implemented by open files that have no path (pipes,
// sockets, event and epoll descriptors...) to name themselves in
// /proc/[pid]/fd: "pipe:[1234]", "socket:[1234]", "anon_inode:[eventfd]".
// Files without it are named from their type: a FIFO "pipe:[ino]", a
// socket "socket:[ino]", anything else "anon_inode:[unknown]".
type ProcNamer interface {
	ProcName() string
}

// FDInfoer is implemented by open files that add lines to
// /proc/[pid]/fdinfo/N after pos, flags, mnt_id and ino (eventfd-count,
// tfd lines of epoll, sigmask of signalfd...). Each line ends in "\n".
type FDInfoer interface {
	FDInfo() string
}
