package proc

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
)

// This file renders the per-process files from snapshots: pure functions,
// tested against Linux's exact formats.

// userHZ is the unit of times in stat files (USER_HZ).
const userHZ = 100

// ticks converts a duration to clock ticks.
func ticks(d time.Duration) uint64 {
	if d < 0 {
		return 0
	}
	return uint64(d / (time.Second / userHZ))
}

// pageSize is the size statm and stat count in.
const pageSize = 4096

// memStats summarizes an address space. Sizes are in bytes.
type memStats struct {
	// has: the task has an address space (zombies do not).
	has                          bool
	size, rss, rssAnon, rssShmem uint64
	data, stack, exe, lib, pte   uint64
	startCode, endCode           uint64
	startStack, startBrk         uint64
}

// isStack reports whether a mapping is a stack (Linux's VM_STACK).
func isStack(m *Mapping) bool { return m.Name == "[stack]" }

// memStatsOf summarizes m (nil: no address space).
// Linux: fs/proc/task_mmu.c, task_mem() and task_statm().
func memStatsOf(m Memory) memStats {
	if m == nil {
		return memStats{}
	}
	s := memStats{has: true}
	for _, mp := range m.Mappings() {
		mp := mp
		length := mp.End - mp.Start
		s.size += length
		if mp.Prot != unix.PROT_NONE {
			r := m.Resident(mp.Start, mp.End)
			s.rss += r
			if mp.Shared {
				s.rssShmem += r
			} else {
				s.rssAnon += r
			}
		}
		switch {
		case isStack(&mp):
			s.stack += length
			s.startStack = mp.End
		case mp.Prot&unix.PROT_WRITE != 0 && !mp.Shared:
			s.data += length
		case mp.Prot&unix.PROT_EXEC != 0 && mp.Prot&unix.PROT_WRITE == 0:
			s.exe += length
			if s.startCode == 0 {
				s.startCode, s.endCode = mp.Start, mp.End
			}
		}
		if mp.Name == "[heap]" && s.startBrk == 0 {
			s.startBrk = mp.Start
		}
	}
	// One page-table page maps 2 MiB; count the pages the mappings need.
	s.pte = (s.size + (2<<20 - 1)) / (2 << 20) * pageSize
	return s
}

// statInfo is what /proc/[pid]/stat shows.
type statInfo struct {
	kernel.TaskInfo
	mem memStats
	// permitted: the reader passed the ptrace check, and sees addresses
	// and the exit code.
	permitted bool
}

// pfRandomize is PF_RANDOMIZE, the flag every user process has
// (randomized layout); the other PF_* flags describe kernel states.
const pfRandomize = 0x00400000

// priorityOf returns stat's priority: 20 + nice for normal threads,
// -1 - rt_priority for real-time ones. Linux: kernel/sched/core.c,
// task_prio().
func priorityOf(in *kernel.TaskInfo) int64 {
	if in.Policy == kernel.SCHED_FIFO || in.Policy == kernel.SCHED_RR {
		return -1 - int64(in.RTPriority)
	}
	return 20 + int64(in.Nice)
}

// formatStat renders /proc/[pid]/stat: 52 fields, space-separated.
// Linux: fs/proc/array.c, do_task_stat(); proc(5).
func formatStat(s *statInfo) string {
	var b strings.Builder
	num := func(v int64) {
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(v, 10))
	}
	unum := func(v uint64) {
		b.WriteByte(' ')
		b.WriteString(strconv.FormatUint(v, 10))
	}
	fmt.Fprintf(&b, "%d (%s) %c", s.TID, s.Name, s.State)
	num(int64(s.PPID))
	num(int64(s.PGID))
	num(int64(s.SID))
	if s.HasTTY {
		// tty_nr in the kernel's encoding. Linux: new_encode_dev().
		major, minor := int64(unix.Major(s.TTY)), int64(unix.Minor(s.TTY))
		num(minor&0xff | major<<8 | (minor&^0xff)<<12)
		num(int64(s.TPGID))
	} else {
		num(0)  // tty_nr: no controlling terminal
		num(-1) // tpgid
	}
	unum(pfRandomize)
	unum(0) // minflt
	unum(0) // cminflt
	unum(0) // majflt
	unum(0) // cmajflt
	unum(ticks(s.CPUTime))
	unum(0) // stime: the platform does not tell system time apart
	num(int64(ticks(s.ChildrenCPUTime)))
	num(0) // cstime
	num(priorityOf(&s.TaskInfo))
	num(int64(s.Nice))
	num(int64(s.Threads))
	num(0) // itrealvalue
	unum(ticks(s.StartTime))
	unum(s.mem.size)
	num(int64(s.mem.rss / pageSize))
	unum(s.Rlimits[unix.RLIMIT_RSS].Cur)
	switch {
	case !s.mem.has:
		unum(0)
		unum(0)
	case s.permitted:
		unum(s.mem.startCode)
		unum(s.mem.endCode)
	default:
		unum(1)
		unum(1)
	}
	if s.permitted && s.mem.has {
		unum(s.mem.startStack)
	} else {
		unum(0)
	}
	unum(0) // kstkesp
	unum(0) // kstkeip
	// The obsolete signal fields show the first 31 signals.
	unum(uint64(s.Pending) & 0x7fffffff)
	unum(uint64(s.Blocked) & 0x7fffffff)
	unum(uint64(s.Ignored) & 0x7fffffff)
	unum(uint64(s.Caught) & 0x7fffffff)
	if s.permitted && s.State != 'R' {
		unum(1) // wchan: "there is a wait channel", never an address
	} else {
		unum(0)
	}
	unum(0) // nswap
	unum(0) // cnswap
	num(int64(s.ExitSignal))
	num(int64(s.CPU))
	unum(uint64(s.RTPriority))
	unum(uint64(s.Policy))
	unum(0) // delayacct_blkio_ticks
	unum(0) // guest_time
	num(0)  // cguest_time
	if s.permitted && s.mem.has {
		unum(0) // start_data
		unum(0) // end_data
		unum(s.mem.startBrk)
		unum(uint64(s.ArgStart))
		unum(uint64(s.ArgEnd))
		unum(uint64(s.EnvStart))
		unum(uint64(s.EnvEnd))
	} else {
		b.WriteString(" 0 0 0 0 0 0 0")
	}
	if s.permitted {
		num(int64(s.ExitCode))
	} else {
		num(0)
	}
	b.WriteByte('\n')
	return b.String()
}

// formatStatm renders /proc/[pid]/statm, in pages.
// Linux: fs/proc/array.c, proc_pid_statm().
func formatStatm(m *memStats) string {
	return fmt.Sprintf("%d %d %d %d 0 %d 0\n", m.size/pageSize, m.rss/pageSize, m.rssShmem/pageSize,
		m.exe/pageSize, (m.data+m.stack)/pageSize)
}

// stateNames are the State: values of status. Linux: fs/proc/array.c,
// task_state_array.
var stateNames = map[byte]string{
	'R': "R (running)",
	'S': "S (sleeping)",
	'D': "D (disk sleep)",
	'T': "T (stopped)",
	't': "t (tracing stop)",
	'X': "X (dead)",
	'Z': "Z (zombie)",
}

// statusInfo is what /proc/[pid]/status shows.
type statusInfo struct {
	kernel.TaskInfo
	mem    memStats
	fdSize int
	numCPU int
}

// formatStatus renders /proc/[pid]/status.
// Linux: fs/proc/array.c, proc_pid_status().
func formatStatus(s *statusInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Name:\t%s\n", escapeName(s.Name))
	fmt.Fprintf(&b, "Umask:\t%#04o\n", s.Umask)
	fmt.Fprintf(&b, "State:\t%s\n", stateNames[s.State])
	fmt.Fprintf(&b, "Tgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n", s.TGID, s.TID, s.PPID)
	c := &s.Creds
	fmt.Fprintf(&b, "Uid:\t%d\t%d\t%d\t%d\n", c.UID, c.EUID, c.SUID, c.FSUID)
	fmt.Fprintf(&b, "Gid:\t%d\t%d\t%d\t%d\n", c.GID, c.EGID, c.SGID, c.FSGID)
	fmt.Fprintf(&b, "FDSize:\t%d\n", s.fdSize)
	b.WriteString("Groups:\t")
	for i, g := range c.Groups {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(uint64(g), 10))
	}
	b.WriteString(" \n") // Linux's trailing space
	fmt.Fprintf(&b, "NStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\n", s.TGID, s.TID, s.PGID, s.SID)
	if s.mem.has {
		m := &s.mem
		kb := func(name string, v uint64) { fmt.Fprintf(&b, "%s:\t%8d kB\n", name, v>>10) }
		kb("VmPeak", m.size)
		kb("VmSize", m.size)
		kb("VmLck", 0)
		kb("VmPin", 0)
		kb("VmHWM", m.rss)
		kb("VmRSS", m.rss)
		kb("RssAnon", m.rssAnon)
		kb("RssFile", 0)
		kb("RssShmem", m.rssShmem)
		kb("VmData", m.data)
		kb("VmStk", m.stack)
		kb("VmExe", m.exe)
		kb("VmLib", m.lib)
		kb("VmPTE", m.pte)
		kb("VmSwap", 0)
		kb("HugetlbPages", 0)
	}
	b.WriteString("CoreDumping:\t0\n")
	fmt.Fprintf(&b, "THP_enabled:\t%d\n", boolInt(s.mem.has))
	fmt.Fprintf(&b, "Threads:\t%d\n", s.Threads)
	fmt.Fprintf(&b, "SigQ:\t%d/%d\n", s.QueuedSignals, s.Rlimits[unix.RLIMIT_SIGPENDING].Cur)
	fmt.Fprintf(&b, "SigPnd:\t%016x\nShdPnd:\t%016x\nSigBlk:\t%016x\nSigIgn:\t%016x\nSigCgt:\t%016x\n",
		uint64(s.Pending), uint64(s.SharedPending), uint64(s.Blocked), uint64(s.Ignored), uint64(s.Caught))
	fmt.Fprintf(&b, "CapInh:\t%016x\nCapPrm:\t%016x\nCapEff:\t%016x\nCapBnd:\t%016x\nCapAmb:\t%016x\n",
		uint64(s.Caps.Inheritable), uint64(s.Caps.Permitted), uint64(s.Caps.Effective), uint64(s.Caps.Bounding), uint64(s.Caps.Ambient))
	fmt.Fprintf(&b, "NoNewPrivs:\t%d\nSeccomp:\t0\nSeccomp_filters:\t0\n", boolInt(s.NoNewPrivs))
	fmt.Fprintf(&b, "Cpus_allowed:\t%s\nCpus_allowed_list:\t%s\n", cpuMask(s.Affinity, s.numCPU), cpuList(s.Affinity, s.numCPU))
	b.WriteString("Mems_allowed:\t00000000,00000001\nMems_allowed_list:\t0\n")
	b.WriteString("voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n")
	return b.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// escapeName escapes a command name for status as Linux does: "\\" and
// "\n" (the rest is printed as it is). Linux: fs/proc/array.c,
// proc_task_name() with ESCAPE_SPACE|ESCAPE_SPECIAL on "\n\\".
func escapeName(s string) string {
	if !strings.ContainsAny(s, "\\\n") {
		return s
	}
	return strings.NewReplacer("\\", "\\\\", "\n", "\\n").Replace(s)
}

// cpuMask renders a CPU set as Linux's "%*pb": hexadecimal groups of 32
// bits, most significant first, separated by commas, over numCPU bits
// (the first group only as wide as its bits need).
// Linux: lib/vsprintf.c, bitmap_string().
func cpuMask(set kernel.CPUSet, numCPU int) string {
	if numCPU <= 0 {
		return ""
	}
	var b strings.Builder
	first := true
	chunk := numCPU % 32
	if chunk == 0 {
		chunk = 32
	}
	for base := (numCPU - 1) / 32 * 32; base >= 0; base -= 32 {
		var v uint32
		for i := 0; i < chunk; i++ {
			if set.Has(base + i) {
				v |= 1 << i
			}
		}
		if !first {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%0*x", (chunk+3)/4, v)
		first = false
		chunk = 32
	}
	return b.String()
}

// cpuList renders a CPU set as Linux's "%*pbl": ranges like "0-3,6".
func cpuList(set kernel.CPUSet, numCPU int) string {
	var parts []string
	for c := 0; c < numCPU; c++ {
		if !set.Has(c) {
			continue
		}
		e := c
		for e+1 < numCPU && set.Has(e+1) {
			e++
		}
		if e == c {
			parts = append(parts, strconv.Itoa(c))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", c, e))
		}
		c = e
	}
	return strings.Join(parts, ",")
}

// limitNames are the rows of /proc/[pid]/limits: name and unit.
// Linux: fs/proc/base.c, lnames.
var limitNames = [kernel.NumRlimits]struct{ name, unit string }{
	unix.RLIMIT_CPU:        {"Max cpu time", "seconds"},
	unix.RLIMIT_FSIZE:      {"Max file size", "bytes"},
	unix.RLIMIT_DATA:       {"Max data size", "bytes"},
	unix.RLIMIT_STACK:      {"Max stack size", "bytes"},
	unix.RLIMIT_CORE:       {"Max core file size", "bytes"},
	unix.RLIMIT_RSS:        {"Max resident set", "bytes"},
	unix.RLIMIT_NPROC:      {"Max processes", "processes"},
	unix.RLIMIT_NOFILE:     {"Max open files", "files"},
	unix.RLIMIT_MEMLOCK:    {"Max locked memory", "bytes"},
	unix.RLIMIT_AS:         {"Max address space", "bytes"},
	unix.RLIMIT_LOCKS:      {"Max file locks", "locks"},
	unix.RLIMIT_SIGPENDING: {"Max pending signals", "signals"},
	unix.RLIMIT_MSGQUEUE:   {"Max msgqueue size", "bytes"},
	unix.RLIMIT_NICE:       {"Max nice priority", ""},
	unix.RLIMIT_RTPRIO:     {"Max realtime priority", ""},
	unix.RLIMIT_RTTIME:     {"Max realtime timeout", "us"},
}

// formatLimits renders /proc/[pid]/limits. Linux: fs/proc/base.c,
// proc_pid_limits().
func formatLimits(rl *[kernel.NumRlimits]kernel.Rlimit) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units")
	value := func(v uint64) {
		if v == kernel.RlimInfinity {
			fmt.Fprintf(&b, "%-20s ", "unlimited")
		} else {
			fmt.Fprintf(&b, "%-20d ", v)
		}
	}
	for i, l := range limitNames {
		fmt.Fprintf(&b, "%-25s ", l.name)
		value(rl[i].Cur)
		value(rl[i].Max)
		if l.unit != "" {
			fmt.Fprintf(&b, "%-10s\n", l.unit)
		} else {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// mangle escapes space, tab, newline and backslash as octal, as
// /proc/mounts and mountinfo do. Linux: fs/proc_namespace.c, mangle().
func mangle(s string) string {
	if !strings.ContainsAny(s, " \t\n\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\\':
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// mountOptions are a mount's options as /proc/mounts shows them: the
// mount's flags, then the file system's.
func mountOptions(mi *vfs.MountInfo) string {
	o := vfs.FlagsString(mi.Flags)
	if mi.Options != "" {
		o += "," + mi.Options
	}
	return o
}

// formatMounts renders /proc/[pid]/mounts.
// Linux: fs/proc_namespace.c, show_vfsmnt().
func formatMounts(mounts []vfs.MountInfo) string {
	var b strings.Builder
	for i := range mounts {
		mi := &mounts[i]
		fmt.Fprintf(&b, "%s %s %s %s 0 0\n", mangle(mi.Source), mangle(mi.MountPoint), mi.Type, mountOptions(mi))
	}
	return b.String()
}

// formatMountinfo renders /proc/[pid]/mountinfo. The super options are
// the file system's read-write state and its options; no mount has
// propagation (no optional fields). Linux: fs/proc_namespace.c,
// show_mountinfo().
func formatMountinfo(mounts []vfs.MountInfo) string {
	var b strings.Builder
	for i := range mounts {
		mi := &mounts[i]
		super := "rw"
		if mi.Options != "" {
			super += "," + mi.Options
		}
		fmt.Fprintf(&b, "%d %d %d:%d %s %s %s - %s %s %s\n", mi.ID, mi.ParentID, 0, 0,
			mangle(mi.Root), mangle(mi.MountPoint), vfs.FlagsString(mi.Flags), mi.Type, mangle(mi.Source), super)
	}
	return b.String()
}

// mapsLine renders the head of a /proc/[pid]/maps line. Linux:
// fs/proc/task_mmu.c, show_map_vma(): the name is padded to column 73
// (25 + 6 times the size of a pointer, less one); an anonymous mapping
// keeps the space after its inode number.
func mapsLine(m *Mapping) string {
	perms := []byte("---p")
	if m.Prot&unix.PROT_READ != 0 {
		perms[0] = 'r'
	}
	if m.Prot&unix.PROT_WRITE != 0 {
		perms[1] = 'w'
	}
	if m.Prot&unix.PROT_EXEC != 0 {
		perms[2] = 'x'
	}
	if m.Shared {
		perms[3] = 's'
	}
	line := fmt.Sprintf("%08x-%08x %s %08x %02x:%02x %d ", m.Start, m.End, perms, m.Offset, m.DevMajor, m.DevMinor, m.Inode)
	if m.Name != "" {
		if pad := 73 - len(line); pad > 0 {
			line += strings.Repeat(" ", pad)
		}
		line += m.Name
	}
	return line + "\n"
}

// formatMaps renders /proc/[pid]/maps.
func formatMaps(maps []Mapping) string {
	var b strings.Builder
	for i := range maps {
		b.WriteString(mapsLine(&maps[i]))
	}
	return b.String()
}

// vmFlags renders smaps' VmFlags for a mapping. Linux:
// fs/proc/task_mmu.c, show_smap_vma_flags().
func vmFlags(m *Mapping) string {
	var f []string
	if m.Prot&unix.PROT_READ != 0 {
		f = append(f, "rd")
	}
	if m.Prot&unix.PROT_WRITE != 0 {
		f = append(f, "wr")
	}
	if m.Prot&unix.PROT_EXEC != 0 {
		f = append(f, "ex")
	}
	if m.Shared {
		f = append(f, "sh")
	}
	f = append(f, "mr", "mw", "me")
	if m.Shared {
		f = append(f, "ms")
	}
	if isStack(m) {
		f = append(f, "gd")
	}
	if !m.Shared && m.Prot&unix.PROT_WRITE != 0 {
		f = append(f, "ac")
	}
	return strings.Join(f, " ")
}

// formatSmaps renders /proc/[pid]/smaps: each mapping's maps line and
// its sizes. Resident memory is counted per mapping (shared memory is
// wholly each mapping's, so Pss equals Rss).
// Linux: fs/proc/task_mmu.c, show_smap().
func formatSmaps(maps []Mapping, resident func(start, end uint64) uint64) string {
	var b strings.Builder
	// Labels are padded to 16 columns and numbers end at column 24
	// (Private_Hugetlb's longer label takes a narrower number).
	kb := func(name string, v uint64) {
		label := fmt.Sprintf("%-15s ", name+":")
		fmt.Fprintf(&b, "%s%*d kB\n", label, max(24-len(label), 1), v>>10)
	}
	for i := range maps {
		m := &maps[i]
		b.WriteString(mapsLine(m))
		var rss uint64
		if m.Prot != unix.PROT_NONE {
			rss = resident(m.Start, m.End)
		}
		var shared, private, anon uint64
		if m.Shared {
			shared = rss
		} else {
			private, anon = rss, rss
		}
		kb("Size", m.End-m.Start)
		kb("KernelPageSize", pageSize)
		kb("MMUPageSize", pageSize)
		kb("Rss", rss)
		kb("Pss", rss)
		kb("Pss_Dirty", rss)
		kb("Shared_Clean", 0)
		kb("Shared_Dirty", shared)
		kb("Private_Clean", 0)
		kb("Private_Dirty", private)
		kb("Referenced", rss)
		kb("Anonymous", anon)
		kb("LazyFree", 0)
		kb("AnonHugePages", 0)
		kb("ShmemPmdMapped", 0)
		kb("FilePmdMapped", 0)
		kb("Shared_Hugetlb", 0)
		kb("Private_Hugetlb", 0)
		kb("Swap", 0)
		kb("SwapPss", 0)
		kb("Locked", 0)
		b.WriteString("THPeligible:    0\n")
		fmt.Fprintf(&b, "VmFlags: %s \n", vmFlags(m))
	}
	return b.String()
}
