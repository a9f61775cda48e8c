package sandbox

import (
	"fmt"
	"io"
	"log"

	"magawa/internal/network"
	"magawa/kernel/userns"
)

// Config is one sandbox: the file systems it sees and the process it
// runs first. `magawa do` makes one from its flags and an OCI bundle's
// config.json makes one through package oci; it crosses from the CLI to
// the sandbox process as JSON, so everything but the writers is plain
// data.
type Config struct {
	// Platform is how application code runs (package platform's
	// names); empty: DefaultPlatforms, the first that starts.
	Platform string
	// RootDir is the host directory served as the root: read-only under
	// an in-memory overlay, or written through with NoOverlay.
	RootDir   string
	NoOverlay bool
	// RootReadOnly mounts the root read-only (OCI root.readonly).
	RootReadOnly bool
	// Mounts, when not nil, are the container's mounts in the order they
	// are made (an OCI bundle's); nil gives the mounts runc's default
	// spec lists (containerMounts) followed by Volumes.
	Mounts []Mount
	// Volumes are bind-mounted host files and directories (`magawa do
	// --volume`).
	Volumes []Volume
	Process Process
	// Hostname and Domainname are the sandbox's UTS names; an empty
	// Hostname is "magawa".
	Hostname   string
	Domainname string
	// MaskedPaths are hidden (an empty read-only file or directory is
	// mounted over each that exists); ReadonlyPaths are remounted
	// read-only. Both as OCI linux.maskedPaths and linux.readonlyPaths.
	MaskedPaths   []string
	ReadonlyPaths []string
	// Devices are device nodes to make (OCI linux.devices): only of
	// devices the sandbox itself serves (null, zero, full, random,
	// urandom, tty, ptmx...) and FIFOs; anything else is an error, as a
	// host device is never passed through.
	Devices []Device
	// Sysctl are kernel parameters set before the process starts, by
	// their dotted names (net.ipv4.ip_forward).
	Sysctl map[string]string
	// TTY says whether the program runs on a terminal of the sandbox
	// whose other end is the host's stdin and stdout (see console).
	TTY TTYMode
	// OOMScoreAdj is what the sandbox's processes read in
	// /proc/PID/oom_score_adj until they set their own (OCI
	// process.oomScoreAdj).
	OOMScoreAdj int32
	// TaskLimit bounds the sandbox's tasks (threads), as a pids cgroup's
	// pids.max a container's (OCI linux.resources.pids.limit); zero or
	// less is no limit.
	TaskLimit int64
	// ProtectInit gives the first process the signal protection of a
	// PID namespace's init (containers); `magawa do` runs its program
	// as if directly.
	ProtectInit bool
	// Network is the sandbox's network: NetworkSandbox serves the
	// interfaces of the sandbox process's network namespace (handed
	// over after the sandbox is built, AttachNetwork) and loopback;
	// NetworkHost passes Internet sockets through to the host's stack
	// (kernel/net/hostinet); NetworkNone (the zero value) only
	// loopback.
	Network NetworkMode `json:",omitempty"`
	// Interfaces, when set, are interfaces handed over at launch
	// (`magawa do`'s private network), their packet sockets passed with
	// the configuration; a container's come later (AttachNetwork).
	Interfaces *network.Config `json:",omitempty"`

	// UIDMappings and GIDMappings are the user namespace the
	// container's IDs belong to (OCI linux.uidMappings and
	// gidMappings): the owners of host files are turned into the
	// container's through them and back, and /proc/PID/uid_map shows
	// them. Empty, the container's IDs are the host's.
	UIDMappings []userns.Extent `json:",omitempty"`
	GIDMappings []userns.Extent `json:",omitempty"`

	// Confine, when set, is called once everything the sandbox needs
	// from the host is open (gofer, memory file, platform, stdio) and
	// before any application code runs: the sandbox process confines
	// itself there (package confine).
	Confine func() error `json:"-"`

	Log *log.Logger `json:"-"`
	// Strace, when set, receives a line per system call.
	Strace io.Writer `json:"-"`
}

// NetworkMode is a sandbox's network (--network).
type NetworkMode string

// Network modes.
const (
	NetworkNone    NetworkMode = ""
	NetworkSandbox NetworkMode = "sandbox"
	// NetworkHost: the sandbox process stays in its launcher's network
	// namespace and the application's Internet sockets are host
	// sockets: fast, and less isolated (docs/compatibility.md).
	NetworkHost NetworkMode = "host"
)

// Process is a process started in the sandbox: the first one, or one
// `exec` adds.
type Process struct {
	// Argv[0] is looked up in the sandbox's PATH (from Env) when it has
	// no slash.
	Argv []string
	Env  []string
	// Cwd is an absolute path in the sandbox; empty is "/".
	Cwd            string
	UID, GID       uint32
	AdditionalGIDs []uint32
	// Umask, when set, replaces the default 0022.
	Umask *uint32
	// Rlimits replace the defaults a container gets, one per resource.
	Rlimits []Rlimit
	// Capabilities, when set, are the process's capability sets; nil
	// gives what exec gives its UID (all for root, none otherwise).
	Capabilities *Capabilities
	// NoNewPrivileges sets no_new_privs: exec grants nothing (setuid
	// bits, file capabilities) from then on.
	NoNewPrivileges bool
	// Terminal runs the process on a new terminal of the sandbox
	// (OCI process.terminal), its other end relayed to the console
	// socket or to the host's descriptors.
	Terminal bool
	// ConsoleRows and ConsoleColumns are the terminal's initial size
	// (OCI process.consoleSize); zero leaves it unset.
	ConsoleRows, ConsoleColumns uint16
}

// Rlimit is one resource limit, Resource a RLIMIT_* number.
type Rlimit struct {
	Resource   int
	Soft, Hard uint64
}

// Capabilities are capability sets as bit masks (bit N is capability N,
// as in capget's words).
type Capabilities struct {
	Bounding, Effective, Inheritable, Permitted, Ambient uint64
}

// Mount is one mount of the container, as an OCI bundle lists it.
type Mount struct {
	// Target is the absolute path in the sandbox.
	Target string
	// Type is a file system type the sandbox serves (tmpfs, proc, sysfs,
	// devpts, mqueue, cgroup, cgroup2) or "bind": Source, a host file or
	// directory, served by the gofer.
	Type   string
	Source string
	// Flags are vfs.Mount* flags (read-only, nosuid, nodev, noexec...).
	Flags uint32
	// Data are the file system's options (mode=755,size=65536k).
	Data string
	// Recursive bind-mounts the mounts below Source too (rbind).
	Recursive bool
	// SourceIsFile says a bind mount's source is a file, not a
	// directory: the runtime sets it for a container joining a running
	// sandbox, which cannot look at the host's paths once confined.
	SourceIsFile bool `json:",omitempty"`
}

// Device is a device node in the container.
type Device struct {
	Path string
	// Type is "c" (or "u") for a character device, "b" for a block
	// device, "p" for a FIFO.
	Type         string
	Major, Minor int64
	// Mode holds the permission bits (zero: 0666).
	Mode     uint32
	UID, GID uint32
}

// idMaps returns the sandbox's user and group ID maps; nil for the
// identity.
func (cfg *Config) idMaps() (uids, gids *userns.Map, err error) {
	if len(cfg.UIDMappings) > 0 {
		if uids, err = userns.New(cfg.UIDMappings); err != nil {
			return nil, nil, fmt.Errorf("uid mappings: %w", err)
		}
	}
	if len(cfg.GIDMappings) > 0 {
		if gids, err = userns.New(cfg.GIDMappings); err != nil {
			return nil, nil, fmt.Errorf("gid mappings: %w", err)
		}
	}
	return uids, gids, nil
}
