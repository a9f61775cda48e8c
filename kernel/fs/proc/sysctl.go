package proc

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
)

// This file is /proc/sys. Most of the sandbox's tunables are fixed:
// their files are read-only (0444) and refuse write opens with EACCES.
// Those container runtimes set are writable (0644) by root, as on
// Linux, and kept by the kernel for the whole sandbox, so that every
// proc mount shows the same values: the UTS names; the IPC namespace's
// limits (kernel/shm*, msg*, sem, fs/mqueue/*), which System V IPC and
// POSIX message queues enforce; the network namespace's tunables
// (net/...), which the kernel keeps for a network stack that is not
// there yet (only somaxconn is used today, by listen(2)). A write is
// parsed and checked as Linux's handler for the file does it
// (sysctl_parse.go): a value out of range, or anything but numbers, is
// EINVAL and changes nothing.

// sysctl is one /proc/sys file.
type sysctl struct {
	path  string // below /proc/sys
	value func(fs *FS) string
	// write, when present, makes the file writable (0644): it takes one
	// write(2) of data at offset off and returns the bytes it took.
	write sysctlWriter
	// net marks the network namespace's files, which a writer with
	// CAP_NET_ADMIN may change as root does.
	net bool
}

type sysctlWriter func(fs *FS, data []byte, off int64) (int, error)

func fixed(v string) func(*FS) string { return func(*FS) string { return v } }

// sysctls are Linux's defaults (or the sandbox's values) for the files
// programs commonly read. Multi-valued files separate values with tabs,
// as Linux's proc_dointvec does.
var sysctls = []sysctl{
	{path: "fs/file-max", value: fixed("9223372036854775807")},
	{path: "fs/inotify/max_queued_events", value: fixed("16384")},
	{path: "fs/inotify/max_user_instances", value: fixed("128")},
	{path: "fs/inotify/max_user_watches", value: fixed("8192")},
	// Linux: ipc/mq_sysctl.c.
	mqInt("fs/mqueue/msg_default", 1, hardMsgMax, func(l *kernel.MQLimits) *int32 { return &l.MsgDefault }),
	mqInt("fs/mqueue/msg_max", 1, hardMsgMax, func(l *kernel.MQLimits) *int32 { return &l.MsgMax }),
	mqInt("fs/mqueue/msgsize_default", minMsgsizeMax, hardMsgsizeMax, func(l *kernel.MQLimits) *int32 { return &l.MsgsizeDefault }),
	mqInt("fs/mqueue/msgsize_max", minMsgsizeMax, hardMsgsizeMax, func(l *kernel.MQLimits) *int32 { return &l.MsgsizeMax }),
	mqInt("fs/mqueue/queues_max", math.MinInt32, math.MaxInt32, func(l *kernel.MQLimits) *int32 { return &l.QueuesMax }),
	{path: "fs/nr_open", value: fixed(fmt.Sprint(kernel.NrOpen))},
	{path: "fs/pipe-max-size", value: fixed("1048576")},
	{path: "kernel/cap_last_cap", value: fixed(fmt.Sprint(kernel.CapLastCap))},
	{path: "kernel/domainname", value: func(fs *FS) string { return fs.k.Domainname() }, write: utsWriter(Kernel.Domainname, Kernel.SetDomainname)},
	{path: "kernel/hostname", value: func(fs *FS) string { return fs.k.Hostname() }, write: utsWriter(Kernel.Hostname, Kernel.SetHostname)},
	// Linux: ipc/ipc_sysctl.c.
	sysvInt("kernel/msgmax", 0, math.MaxInt32, func(l *kernel.SysVLimits) *int32 { return &l.MsgMax }),
	sysvInt("kernel/msgmnb", 0, math.MaxInt32, func(l *kernel.SysVLimits) *int32 { return &l.MsgMNB }),
	sysvInt("kernel/msgmni", 0, kernel.IPCMNI, func(l *kernel.SysVLimits) *int32 { return &l.MsgMNI }),
	{path: "kernel/ngroups_max", value: fixed(fmt.Sprint(kernel.NgroupsMax))},
	{path: "kernel/osrelease", value: func(fs *FS) string { return fs.opts.Release }},
	{path: "kernel/ostype", value: fixed("Linux")},
	{path: "kernel/overflowgid", value: fixed("65534")},
	{path: "kernel/overflowuid", value: fixed("65534")},
	{path: "kernel/pid_max", value: fixed(fmt.Sprint(kernel.PIDMax))},
	{path: "kernel/random/boot_id", value: func(fs *FS) string { return fs.bootID }},
	{path: "kernel/random/entropy_avail", value: fixed("256")},
	{path: "kernel/random/poolsize", value: fixed("256")},
	{path: "kernel/random/uuid", value: func(*FS) string { return newUUID() }},
	semSysctl,
	sysvInt("kernel/shm_rmid_forced", 0, 1, func(l *kernel.SysVLimits) *int32 { return &l.ShmRmidForced }),
	sysvUlong("kernel/shmall", func(l *kernel.SysVLimits) *uint64 { return &l.ShmAll }),
	sysvUlong("kernel/shmmax", func(l *kernel.SysVLimits) *uint64 { return &l.ShmMax }),
	sysvInt("kernel/shmmni", 0, kernel.IPCMNI, func(l *kernel.SysVLimits) *int32 { return &l.ShmMNI }),
	{path: "kernel/threads-max", value: fixed("126956")},
	{path: "kernel/version", value: func(fs *FS) string { return fs.opts.Version }},
	{path: "kernel/yama/ptrace_scope", value: fixed("1")},
	// Linux: net/core/sysctl_net_core.c, net/ipv4/sysctl_net_ipv4.c,
	// net/ipv4/devinet.c (ip_forward).
	netInt("net/core/somaxconn", 0, math.MaxInt32, func(n *kernel.NetTunables) *int32 { return &n.Somaxconn }),
	netInt("net/ipv4/ip_forward", math.MinInt32, math.MaxInt32, func(n *kernel.NetTunables) *int32 { return &n.IPForward }),
	localPortRangeSysctl,
	reservedPortsSysctl,
	unprivilegedPortStartSysctl,
	pingGroupRangeSysctl,
	netSeconds("net/ipv4/tcp_fin_timeout", func(n *kernel.NetTunables) *int32 { return &n.TCPFinTimeout }),
	netSeconds("net/ipv4/tcp_keepalive_intvl", func(n *kernel.NetTunables) *int32 { return &n.TCPKeepaliveIntvl }),
	netU8("net/ipv4/tcp_keepalive_probes", func(n *kernel.NetTunables) *uint8 { return &n.TCPKeepaliveProbes }),
	netSeconds("net/ipv4/tcp_keepalive_time", func(n *kernel.NetTunables) *int32 { return &n.TCPKeepaliveTime }),
	netU8("net/ipv4/tcp_syncookies", func(n *kernel.NetTunables) *uint8 { return &n.TCPSyncookies }),
	{path: "vm/max_map_count", value: fixed("65530")},
	{path: "vm/mmap_min_addr", value: fixed("65536")},
	{path: "vm/overcommit_memory", value: fixed("0")},
	{path: "vm/overcommit_ratio", value: fixed("50")},
}

// Bounds of the message queue limits. Linux: include/linux/ipc_namespace.h.
const (
	minMsgsizeMax  = 128
	hardMsgMax     = 65536
	hardMsgsizeMax = 16 << 20
)

// numeric makes the writer of a file of numbers: a write at an offset
// other than 0 is taken and ignored (Linux's default
// kernel.sysctl_writes_strict), an empty one takes nothing, and parse
// takes the rest. Linux: kernel/sysctl.c, proc_first_pos_non_zero_ignore().
func numeric(parse func(fs *FS, in *sysctlInput) error) sysctlWriter {
	return func(fs *FS, data []byte, off int64) (int, error) {
		if len(data) == 0 {
			return 0, nil
		}
		if off != 0 {
			return len(data), nil
		}
		in := newSysctlInput(data)
		if err := parse(fs, in); err != nil {
			return 0, err
		}
		return in.taken(), nil
	}
}

// sysvInt is a System V IPC limit that is an int within [lo, hi].
// Linux: proc_dointvec_minmax().
func sysvInt(path string, lo, hi int64, field func(*kernel.SysVLimits) *int32) sysctl {
	return ipcInt(path, lo, hi, func(l *kernel.IPCLimits) *int32 { return field(&l.SysV) })
}

// mqInt is a message queue limit that is an int within [lo, hi].
func mqInt(path string, lo, hi int64, field func(*kernel.MQLimits) *int32) sysctl {
	return ipcInt(path, lo, hi, func(l *kernel.IPCLimits) *int32 { return field(&l.MQ) })
}

func ipcInt(path string, lo, hi int64, field func(*kernel.IPCLimits) *int32) sysctl {
	return intTunable(ipcStore, path, lo, hi, field)
}

// tunableStore is one of the kernel's sets of tunables as /proc/sys
// reads and changes it: a snapshot, and an update that keeps its change
// unless it fails.
type tunableStore[T any] struct {
	net    bool // net.*: the network namespace's (see sysctl.net)
	get    func(Kernel) T
	update func(Kernel, func(*T) error) error
}

var (
	ipcStore = tunableStore[kernel.IPCLimits]{get: Kernel.IPCLimits, update: Kernel.UpdateIPCLimits}
	netStore = tunableStore[kernel.NetTunables]{net: true, get: Kernel.NetTunables, update: Kernel.UpdateNetTunables}
)

// tunable is the file of one value of store: format shows it, parse
// reads a write into it.
func tunable[T any](store tunableStore[T], path string, format func(*T) string, parse func(*sysctlInput, *T) error) sysctl {
	return sysctl{
		path: path,
		net:  store.net,
		value: func(fs *FS) string {
			t := store.get(fs.k)
			return format(&t)
		},
		write: numeric(func(fs *FS, in *sysctlInput) error {
			return store.update(fs.k, func(t *T) error { return parse(in, t) })
		}),
	}
}

// intTunable is a tunable that is an int within [lo, hi].
// Linux: proc_dointvec_minmax().
func intTunable[T any](store tunableStore[T], path string, lo, hi int64, field func(*T) *int32) sysctl {
	return tunable(store, path,
		func(t *T) string { return formatInts(*field(t)) },
		func(in *sysctlInput, t *T) error {
			return in.vector(1, func(_ int, v uint64, neg bool) error {
				x, err := toInt(v, neg, lo, hi)
				*field(t) = x
				return err
			})
		})
}

// sysvUlong is a System V IPC limit that is an unsigned long, any
// value. Linux: proc_doulongvec_minmax() without bounds.
func sysvUlong(path string, field func(*kernel.SysVLimits) *uint64) sysctl {
	return tunable(ipcStore, path,
		func(l *kernel.IPCLimits) string { return formatUlongs(*field(&l.SysV)) },
		func(in *sysctlInput, l *kernel.IPCLimits) error {
			return in.vector(1, func(_ int, v uint64, neg bool) error {
				x, err := toUlong(v, neg, 0, math.MaxUint64)
				*field(&l.SysV) = x
				return err
			})
		})
}

// semSysctl is kernel/sem: semmsl, semmns, semopm and semmni, any ints
// but a semmni above IPCMNI. As on Linux, the values a failing write
// gave before the failure stay, but for semmni. Linux: ipc/ipc_sysctl.c,
// proc_ipc_sem_dointvec().
var semSysctl = sysctl{
	path: "kernel/sem",
	value: func(fs *FS) string {
		l := fs.k.IPCLimits().SysV
		return formatInts(l.SemMSL, l.SemMNS, l.SemOPM, l.SemMNI)
	},
	write: numeric(func(fs *FS, in *sysctlInput) error {
		var err error
		fs.k.UpdateIPCLimits(func(l *kernel.IPCLimits) error {
			s := &l.SysV
			semmni := s.SemMNI
			vals := []*int32{&s.SemMSL, &s.SemMNS, &s.SemOPM, &s.SemMNI}
			err = in.vector(len(vals), func(i int, v uint64, neg bool) error {
				x, err := toInt(v, neg, math.MinInt32, math.MaxInt32)
				if err == nil {
					*vals[i] = x
				}
				return err
			})
			if err == nil && s.SemMNI > kernel.IPCMNI {
				err = unix.EINVAL
			}
			if err != nil {
				s.SemMNI = semmni
			}
			return nil
		})
		return err
	}),
}

// netInt is a network tunable that is an int within [lo, hi].
func netInt(path string, lo, hi int64, field func(*kernel.NetTunables) *int32) sysctl {
	return intTunable(netStore, path, lo, hi, field)
}

// netSeconds is a network tunable in seconds, which Linux keeps in
// jiffies: any number of seconds that fits an int in jiffies, negative
// ones too. Linux: proc_dointvec_jiffies().
func netSeconds(path string, field func(*kernel.NetTunables) *int32) sysctl {
	const most = math.MaxInt32 / jiffiesHZ
	return netInt(path, -most, most, field)
}

// netU8 is a network tunable that is a byte. Linux: proc_dou8vec_minmax().
func netU8(path string, field func(*kernel.NetTunables) *uint8) sysctl {
	return tunable(netStore, path,
		func(n *kernel.NetTunables) string { return formatInts(*field(n)) },
		func(in *sysctlInput, n *kernel.NetTunables) error {
			return in.single(func(v uint64) error {
				if v > math.MaxUint8 {
					return unix.EINVAL
				}
				*field(n) = uint8(v)
				return nil
			})
		})
}

// gidTMax is the largest group ID ping_group_range takes. Linux:
// net/ipv4/sysctl_net_ipv4.c, GID_T_MAX.
const gidTMax = math.MaxUint32 - 1

// pingGroupRangeSysctl is net/ipv4/ping_group_range: two group IDs; a
// range whose end comes before its start allows no group and reads
// "1 0". Linux: net/ipv4/sysctl_net_ipv4.c, ipv4_ping_group_range().
var pingGroupRangeSysctl = tunable(netStore, "net/ipv4/ping_group_range",
	func(n *kernel.NetTunables) string { return formatInts(n.PingGroupRange[0], n.PingGroupRange[1]) },
	func(in *sysctlInput, n *kernel.NetTunables) error {
		r := [2]uint64{uint64(n.PingGroupRange[0]), uint64(n.PingGroupRange[1])}
		err := in.vector(2, func(i int, v uint64, neg bool) error {
			x, err := toUlong(v, neg, 0, gidTMax)
			r[i] = x
			return err
		})
		if err != nil {
			return err
		}
		if r[1] < r[0] {
			r = [2]uint64{1, 0}
		}
		n.PingGroupRange = [2]uint32{uint32(r[0]), uint32(r[1])}
		return nil
	})

// unprivilegedPortStartSysctl is net/ipv4/ip_unprivileged_port_start:
// 0 to 65535, and not above the start of the local port range.
// Linux: net/ipv4/sysctl_net_ipv4.c, ipv4_privileged_ports().
var unprivilegedPortStartSysctl = tunable(netStore, "net/ipv4/ip_unprivileged_port_start",
	func(n *kernel.NetTunables) string { return formatInts(n.IPUnprivilegedPortStart) },
	func(in *sysctlInput, n *kernel.NetTunables) error {
		start := n.IPUnprivilegedPortStart
		err := in.vector(1, func(_ int, v uint64, neg bool) error {
			x, err := toInt(v, neg, 0, 65535)
			start = x
			return err
		})
		if err != nil {
			return err
		}
		if n.IPLocalPortRange[0] < start {
			return unix.EINVAL
		}
		n.IPUnprivilegedPortStart = start
		return nil
	})

// localPortRangeSysctl is net/ipv4/ip_local_port_range: two ports from
// 1 to 65535, the first not above the second nor below
// ip_unprivileged_port_start. Linux: net/ipv4/sysctl_net_ipv4.c,
// ipv4_local_port_range().
var localPortRangeSysctl = tunable(netStore, "net/ipv4/ip_local_port_range",
	func(n *kernel.NetTunables) string { return formatInts(n.IPLocalPortRange[0], n.IPLocalPortRange[1]) },
	func(in *sysctlInput, n *kernel.NetTunables) error {
		r := n.IPLocalPortRange
		err := in.vector(2, func(i int, v uint64, neg bool) error {
			x, err := toInt(v, neg, 1, 65535)
			r[i] = x
			return err
		})
		if err != nil {
			return err
		}
		if r[1] < r[0] || r[0] < n.IPUnprivilegedPortStart {
			return unix.EINVAL
		}
		n.IPLocalPortRange = r
		return nil
	})

// reservedPortsSysctl is net/ipv4/ip_local_reserved_ports: ports and
// ranges separated by commas ("8080,9000-9100"); a write at offset 0
// replaces the list, one further on (the rest of a long write) adds to
// it. Linux: kernel/sysctl.c, proc_do_large_bitmap().
var reservedPortsSysctl = sysctl{
	path: "net/ipv4/ip_local_reserved_ports",
	net:  true,
	value: func(fs *FS) string {
		return formatPortRanges(fs.k.NetTunables().IPLocalReservedPorts)
	},
	write: func(fs *FS, data []byte, off int64) (int, error) {
		if len(data) == 0 {
			return 0, nil
		}
		in := newSysctlInput(data)
		if len(data) > len(in.b) {
			// A write longer than a page is taken up to its last comma
			// in the page; the writer writes the rest next.
			if i := strings.LastIndexByte(string(in.b), ','); i >= 0 {
				in.b = in.b[:i+1]
			}
			in.size = len(in.b)
		}
		ranges, err := parsePortRanges(in)
		if err != nil {
			return 0, err
		}
		fs.k.UpdateNetTunables(func(n *kernel.NetTunables) error {
			if off != 0 {
				n.IPLocalReservedPorts = mergePortRanges(n.IPLocalReservedPorts, ranges)
			} else {
				n.IPLocalReservedPorts = mergePortRanges(nil, ranges)
			}
			return nil
		})
		return in.size, nil
	},
}

// utsLen is the longest UTS name (__NEW_UTS_LEN).
const utsLen = 64

// utsWriter writes a UTS name: a write at offset off replaces the name
// from there (one past its end is ignored) with the bytes up to the
// first newline or NUL, the whole cut to 64 bytes. Linux:
// kernel/sysctl.c, _proc_do_string(), with sysctl_writes_strict.
func utsWriter(get func(Kernel) string, set func(Kernel, string) error) sysctlWriter {
	return func(fs *FS, data []byte, off int64) (int, error) {
		if len(data) == 0 {
			return 0, nil
		}
		cur := get(fs.k)
		cur = cur[:min(len(cur), utsLen)]
		if off > int64(len(cur)) {
			return len(data), nil
		}
		name := []byte(cur[:off])
		for _, c := range data {
			if c == 0 || c == '\n' || len(name) >= utsLen {
				break
			}
			name = append(name, c)
		}
		if err := set(fs.k, string(name)); err != nil {
			return 0, unix.EINVAL
		}
		return len(data), nil
	}
}

// addSys fills /proc/sys from sysctls.
func (fs *FS) addSys(sys *staticDir) {
	for _, s := range sysctls {
		dir := sys
		parts := strings.Split(s.path, "/")
		for _, p := range parts[:len(parts)-1] {
			if c, ok := dir.children[p].(*staticDir); ok {
				dir = c
			} else {
				dir = dir.subdir(p)
			}
		}
		name := parts[len(parts)-1]
		perm := uint32(0o444)
		if s.write != nil {
			perm = 0o644
		}
		f := &sysctlFile{sc: s}
		value := s.value
		f.fileNode = *fs.newFile(childPath(dir.path, name), perm, nil, false,
			func(*reader) ([]byte, error) { return []byte(value(fs) + "\n"), nil }, nil)
		dir.add(name, f)
	}
}

// capNetAdmin is CAP_NET_ADMIN.
const capNetAdmin = 12

// sysctlFile is a /proc/sys file.
type sysctlFile struct {
	fileNode
	sc sysctl
}

// Permission implements vfs.PermissionInode with Linux's rule for
// /proc/sys, which no capability overrides: an effective user ID of
// root gets the owner's bits, root's group the group's, anyone else the
// others'; on a network file, CAP_NET_ADMIN gets root's. A writer
// therefore needs to be root; IPC files ask for no capability (Linux
// checks the IPC namespace's root user, the sandbox's root).
// Linux: fs/proc/proc_sysctl.c, proc_sys_permission() and test_perm();
// ipc/ipc_sysctl.c, ipc_permissions(); net/sysctl_net.c,
// net_ctl_permissions().
func (f *sysctlFile) Permission(ctx *vfs.Context, may uint32) error {
	return f.allowed(ctx, f.fs.k.Caller(ctx), may)
}

// allowed applies the rule to the task t, or without one to ctx's
// credentials (the kernel's own work: the runtime applying a bundle's
// sysctls).
func (f *sysctlFile) allowed(ctx *vfs.Context, t Task, may uint32) error {
	if may&vfs.MayExec != 0 {
		return unix.EACCES
	}
	var euid uint32
	var rootGroup, netAdmin bool
	switch {
	case t != nil:
		cr, _ := t.Identity()
		euid = cr.EUID
		rootGroup = cr.EGID == 0 || slices.Contains(cr.Groups, 0)
		netAdmin = cr.HasCap(capNetAdmin)
	case ctx != nil && ctx.Creds != nil:
		euid = ctx.Creds.UID
		rootGroup = ctx.Creds.InGroup(0)
		netAdmin = ctx.Creds.HasCap(capNetAdmin)
	}
	bits := f.mode & 0o7
	switch {
	case euid == 0 || f.sc.net && netAdmin:
		bits = f.mode >> 6 & 0o7
	case rootGroup:
		bits = f.mode >> 3 & 0o7
	}
	if may&^bits&0o7 != 0 {
		return unix.EACCES
	}
	return nil
}

// Open implements vfs.Inode: a file without a writer refuses write opens
// with EACCES.
func (f *sysctlFile) Open(ctx *vfs.Context, flags int) (vfs.FileImpl, error) {
	if acc := flags & unix.O_ACCMODE; (acc == unix.O_WRONLY || acc == unix.O_RDWR) && f.sc.write == nil {
		return nil, unix.EACCES
	}
	creds := *ctx.Creds
	c := &vfs.Context{Creds: &creds, Root: ctx.Root, Cwd: ctx.Cwd, Task: ctx.Task}
	return &sysctlOpen{seqFile: &seqFile{f: &f.fileNode, r: &reader{ctx: c, task: f.fs.k.Caller(ctx)}}, sc: f}, nil
}

// sysctlOpen is an open /proc/sys file.
type sysctlOpen struct {
	*seqFile
	sc *sysctlFile
}

// WriteAt implements vfs.FileImpl. Linux checks the writer again at each
// write (EPERM), the task that writes then; here it is the task that
// opened the file, with its credentials as they are now (the writer in
// nearly every case).
func (o *sysctlOpen) WriteAt(src []byte, off int64) (int, error) {
	if o.sc.sc.write == nil {
		return 0, unix.EBADF
	}
	if o.sc.allowed(o.r.ctx, o.r.task, vfs.MayWrite) != nil {
		return 0, unix.EPERM
	}
	return o.sc.sc.write(o.sc.fs, src, off)
}
