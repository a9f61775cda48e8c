package proc

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
)

// Options describe what proc reports that the kernel does not know.
type Options struct {
	// Release and Version are the kernel's identity as uname(2) gives it
	// (syscalls.KernelRelease and KernelVersion): /proc/version and
	// /proc/sys/kernel/{osrelease,version}.
	Release, Version string
	// MemTotal is the sandbox's memory in bytes (meminfo's MemTotal);
	// 0 takes the host's physical memory.
	MemTotal uint64
	// CPUInfo is the host's /proc/cpuinfo as read when the sandbox
	// started (before it was confined); proc shows its first NumCPU
	// processors. Empty: a description is generated.
	CPUInfo string
	// FileSystems are the file system types /proc/filesystems lists;
	// nil lists DefaultFileSystems.
	FileSystems []FileSystemType
	// DevMinor is the file system's device number (major 0); 0 picks
	// one.
	DevMinor uint32
}

// FileSystemType is one line of /proc/filesystems.
type FileSystemType struct {
	Name string
	// NoDev: the file system needs no block device.
	NoDev bool
}

// DefaultFileSystems are the types the sandbox offers.
var DefaultFileSystems = []FileSystemType{
	{"sysfs", true}, {"tmpfs", true}, {"proc", true}, {"devpts", true}, {"overlay", true},
}

// Default identity when Options leave it out.
const (
	defaultRelease = "6.1.0"
	defaultVersion = "#1 SMP PREEMPT_DYNAMIC magawa"
)

// anonMinor hands out device numbers to file systems without one given.
// It starts high to stay clear of the small numbers tmpfs hands out.
var anonMinor atomic.Uint32

func init() { anonMinor.Store(0x8000) }

// FS is one proc file system instance.
type FS struct {
	k      Kernel
	opts   Options
	dev    uint32 // minor; major is 0
	root   *rootDir
	bootID string
	// cpuinfo is the text of /proc/cpuinfo, fixed at creation.
	cpuinfo string

	// mu guards oomAdj: oom_score_adj per process, which the kernel
	// does not keep. Entries of reaped processes are dropped on writes.
	mu     sync.Mutex
	oomAdj map[Process]int32
}

// New returns a proc file system describing the kernel k. The caller
// mounts it at /proc (see the package's report for the wiring).
func New(k *kernel.Kernel, opts Options) *FS {
	return newFS(kernelAdapter{k}, opts)
}

func newFS(k Kernel, opts Options) *FS {
	if opts.Release == "" {
		opts.Release = defaultRelease
	}
	if opts.Version == "" {
		opts.Version = defaultVersion
	}
	if opts.FileSystems == nil {
		opts.FileSystems = DefaultFileSystems
	}
	if opts.MemTotal == 0 {
		var si unix.Sysinfo_t
		if unix.Sysinfo(&si) == nil {
			opts.MemTotal = uint64(si.Totalram) * uint64(si.Unit)
		}
	}
	fs := &FS{k: k, opts: opts, dev: opts.DevMinor, bootID: bootID(k.Boot()), oomAdj: map[Process]int32{}}
	if fs.dev == 0 {
		fs.dev = anonMinor.Add(1)
	}
	fs.cpuinfo = cpuInfo(opts.CPUInfo, k.NumCPU())
	fs.root = fs.newRoot()
	return fs
}

// Root implements vfs.FileSystem.
func (fs *FS) Root() vfs.Inode { return fs.root }

// Type implements vfs.FileSystem.
func (fs *FS) Type() string { return "proc" }

// Options implements vfs.FileSystem: proc has no options of its own.
func (fs *FS) Options() string { return "" }

// Release implements vfs.FileSystem.
func (fs *FS) Release() {}

// Dev returns the file system's device number.
func (fs *FS) Dev() uint64 { return unix.Mkdev(0, fs.dev) }

// ino returns the inode number of the object at path (relative to the
// root, "" for the root): a hash, so an object keeps its number however
// often it is looked up.
func ino(path string) uint64 {
	if path == "" {
		return 1
	}
	h := fnv.New64a()
	h.Write([]byte(path))
	return h.Sum64() | 2 // never 0 or the root's 1
}

// newUUID returns a random (version 4) UUID in its text form.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// bootSalt makes boot IDs unpredictable across host processes.
var bootSalt = func() (b [16]byte) { rand.Read(b[:]); return b }()

// bootID is /proc/sys/kernel/random/boot_id: one per sandbox (derived
// from its boot time), so every proc mount of a sandbox agrees.
func bootID(boot time.Time) string {
	h := sha256.New()
	h.Write(bootSalt[:])
	binary.Write(h, binary.LittleEndian, boot.UnixNano())
	var b [16]byte
	copy(b[:], h.Sum(nil))
	return formatUUID(b)
}
