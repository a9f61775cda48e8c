package proc

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
	"magawa/kernel/vfs"
)

func sampleInfo() kernel.TaskInfo {
	in := kernel.TaskInfo{
		TID: 42, TGID: 42, PPID: 1, PGID: 42, SID: 1, Name: "sh", State: 'S',
		Creds: kernel.Credentials{
			UID: 1000, EUID: 1001, SUID: 1002, FSUID: 1003,
			GID: 100, EGID: 101, SGID: 102, FSGID: 103, Groups: []uint32{4, 24},
		},
		Caps:          kernel.Capabilities{Permitted: 0x1ffffffffff, Effective: 0x1ffffffffff, Bounding: 0x1ffffffffff},
		Umask:         0o022,
		Pending:       kernel.Bit(unix.SIGUSR1),
		SharedPending: kernel.Bit(unix.SIGTERM),
		Blocked:       kernel.Bit(unix.SIGINT) | 1<<40,
		Ignored:       kernel.Bit(unix.SIGPIPE),
		Caught:        kernel.Bit(unix.SIGCHLD),
		QueuedSignals: 2,
		Threads:       1,
		CPUTime:       1230 * time.Millisecond,
		StartTime:     5 * time.Second,
		ExitSignal:    17,
		CPU:           2,
		Affinity:      kernel.CPUSet{0xf},
	}
	for i := range in.Rlimits {
		in.Rlimits[i] = kernel.Rlimit{Cur: kernel.RlimInfinity, Max: kernel.RlimInfinity}
	}
	in.Rlimits[unix.RLIMIT_SIGPENDING] = kernel.Rlimit{Cur: 63478, Max: 63478}
	in.Rlimits[unix.RLIMIT_NICE] = kernel.Rlimit{}
	return in
}

func sampleMem() memStats {
	return memStats{
		has: true, size: 0x22000, rss: 0x3000, rssAnon: 0x3000, data: 0x1000, stack: 0x21000, exe: 0x1000, pte: 4096,
		startCode: 0x400000, endCode: 0x401000, startStack: 0x7fff0000, startBrk: 0x600000,
	}
}

func TestFormatStat(t *testing.T) {
	s := statInfo{TaskInfo: sampleInfo(), mem: sampleMem(), permitted: true}
	s.ArgStart, s.ArgEnd, s.EnvStart, s.EnvEnd = 0x7ffe0000, 0x7ffe0010, 0x7ffe0010, 0x7ffe0020
	want := "42 (sh) S 1 42 1 0 -1 4194304 0 0 0 0 123 0 0 0 20 0 1 0 500 139264 3 18446744073709551615 " +
		"4194304 4198400 2147418112 0 0 512 2 4096 65536 1 0 0 17 2 0 0 0 0 0 0 0 6291456 " +
		"2147352576 2147352592 2147352592 2147352608 0\n"
	got := formatStat(&s)
	if got != want {
		t.Errorf("stat:\n got %q\nwant %q", got, want)
	}
	if n := len(strings.Fields(got)); n != 52 {
		t.Errorf("stat has %d fields, want 52", n)
	}
	// Without access: no addresses, no wait channel, no exit code.
	s.permitted = false
	s.State, s.ExitCode = 'Z', 9
	f := strings.Fields(formatStat(&s))
	if f[2] != "Z" || f[25] != "1" || f[26] != "1" || f[27] != "0" || f[34] != "0" || f[46] != "0" || f[51] != "0" {
		t.Errorf("unprivileged stat: %q", f)
	}
	// Real-time threads show -1 - priority.
	s.Policy, s.RTPriority = kernel.SCHED_FIFO, 10
	if f := strings.Fields(formatStat(&s)); f[17] != "-11" || f[39] != "10" || f[40] != "1" {
		t.Errorf("real-time stat: priority %s rt_priority %s policy %s", f[17], f[39], f[40])
	}
}

func TestFormatStatus(t *testing.T) {
	s := statusInfo{TaskInfo: sampleInfo(), mem: sampleMem(), fdSize: 64, numCPU: 4}
	want := "Name:\tsh\n" +
		"Umask:\t0022\n" +
		"State:\tS (sleeping)\n" +
		"Tgid:\t42\nNgid:\t0\nPid:\t42\nPPid:\t1\nTracerPid:\t0\n" +
		"Uid:\t1000\t1001\t1002\t1003\n" +
		"Gid:\t100\t101\t102\t103\n" +
		"FDSize:\t64\n" +
		"Groups:\t4 24 \n" +
		"NStgid:\t42\nNSpid:\t42\nNSpgid:\t42\nNSsid:\t1\n" +
		"VmPeak:\t     136 kB\nVmSize:\t     136 kB\nVmLck:\t       0 kB\nVmPin:\t       0 kB\n" +
		"VmHWM:\t      12 kB\nVmRSS:\t      12 kB\nRssAnon:\t      12 kB\nRssFile:\t       0 kB\nRssShmem:\t       0 kB\n" +
		"VmData:\t       4 kB\nVmStk:\t     132 kB\nVmExe:\t       4 kB\nVmLib:\t       0 kB\nVmPTE:\t       4 kB\n" +
		"VmSwap:\t       0 kB\nHugetlbPages:\t       0 kB\n" +
		"CoreDumping:\t0\nTHP_enabled:\t1\n" +
		"Threads:\t1\n" +
		"SigQ:\t2/63478\n" +
		"SigPnd:\t0000000000000200\nShdPnd:\t0000000000004000\nSigBlk:\t0000010000000002\n" +
		"SigIgn:\t0000000000001000\nSigCgt:\t0000000000010000\n" +
		"CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n" +
		"CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n" +
		"NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n" +
		"Cpus_allowed:\tf\nCpus_allowed_list:\t0-3\n" +
		"Mems_allowed:\t00000000,00000001\nMems_allowed_list:\t0\n" +
		"voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n"
	if got := formatStatus(&s); got != want {
		t.Errorf("status:\n got %q\nwant %q", got, want)
	}
	// A zombie has no memory lines; an empty group list keeps its space.
	s.mem = memStats{}
	s.Creds.Groups = nil
	s.State = 'Z'
	got := formatStatus(&s)
	if strings.Contains(got, "VmSize") || !strings.Contains(got, "Groups:\t \n") || !strings.Contains(got, "State:\tZ (zombie)\n") {
		t.Errorf("zombie status:\n%s", got)
	}
	s.Name, s.Umask = "a\\b\nc", 0
	if got := formatStatus(&s); !strings.HasPrefix(got, "Name:\ta\\\\b\\nc\nUmask:\t0000\n") {
		t.Errorf("escaped name and zero umask:\n%s", got)
	}
}

func TestCPUMask(t *testing.T) {
	for _, c := range []struct {
		set  kernel.CPUSet
		n    int
		mask string
		list string
	}{
		{kernel.CPUSet{0xff}, 8, "ff", "0-7"},
		{kernel.CPUSet{0x1}, 8, "01", "0"},
		{kernel.CPUSet{0xfff}, 12, "fff", "0-11"},
		{kernel.CPUSet{0xd7}, 8, "d7", "0-2,4,6-7"},
		{kernel.CPUSet{^uint64(0)}, 64, "ffffffff,ffffffff", "0-63"},
		{kernel.CPUSet{1 << 32}, 40, "01,00000000", "32"},
		{kernel.CPUSet{0x1, 0x1}, 65, "1,00000000,00000001", "0,64"},
	} {
		if got := cpuMask(c.set, c.n); got != c.mask {
			t.Errorf("cpuMask(%x, %d) = %q, want %q", c.set, c.n, got, c.mask)
		}
		if got := cpuList(c.set, c.n); got != c.list {
			t.Errorf("cpuList(%x, %d) = %q, want %q", c.set, c.n, got, c.list)
		}
	}
}

func TestFormatLimits(t *testing.T) {
	in := sampleInfo()
	lines := strings.Split(formatLimits(&in.Rlimits), "\n")
	for i, want := range map[int]string{
		0:  "Limit                     Soft Limit           Hard Limit           Units     ",
		1:  "Max cpu time              unlimited            unlimited            seconds   ",
		12: "Max pending signals       63478                63478                signals   ",
		14: "Max nice priority         0                    0                    ",
		16: "Max realtime timeout      unlimited            unlimited            us        ",
		17: "",
	} {
		if lines[i] != want {
			t.Errorf("limits line %d = %q, want %q", i, lines[i], want)
		}
	}
	if len(lines) != 18 {
		t.Errorf("limits has %d lines", len(lines))
	}
}

func TestMangle(t *testing.T) {
	if got := mangle("a b\\c\td\ne"); got != `a\040b\134c\011d\012e` {
		t.Errorf("mangle = %q", got)
	}
	mounts := []vfs.MountInfo{{ID: 5, ParentID: 1, Root: "/sub dir", MountPoint: "/mnt/my disk", Flags: vfs.MountReadOnly | vfs.MountNoAtime, Type: "tmpfs", Source: "tmpfs", Options: "mode=755"}}
	if got := formatMounts(mounts); got != `tmpfs /mnt/my\040disk tmpfs ro,noatime,mode=755 0 0`+"\n" {
		t.Errorf("mounts = %q", got)
	}
	if got := formatMountinfo(mounts); got != `5 1 0:0 /sub\040dir /mnt/my\040disk ro,noatime - tmpfs tmpfs rw,mode=755`+"\n" {
		t.Errorf("mountinfo = %q", got)
	}
}

func TestFormatMapsAndSmaps(t *testing.T) {
	maps := []Mapping{
		{Start: 0x1000, End: 0x3000, Prot: unix.PROT_READ | unix.PROT_WRITE},
		{Start: 0x55d0c0e00000, End: 0x55d0c0e21000, Prot: unix.PROT_READ | unix.PROT_WRITE, Name: "[heap]"},
		{Start: 0x7f0000000000, End: 0x7f0000001000, Prot: unix.PROT_READ | unix.PROT_EXEC, Offset: 0x2000,
			DevMajor: 8, DevMinor: 1, Inode: 1234, Name: "/usr/lib/libc.so.6"},
		{Start: 0x7f0000002000, End: 0x7f0000003000, Prot: unix.PROT_READ, Shared: true},
	}
	want := "00001000-00003000 rw-p 00000000 00:00 0 \n" +
		"55d0c0e00000-55d0c0e21000 rw-p 00000000 00:00 0                          [heap]\n" +
		"7f0000000000-7f0000001000 r-xp 00002000 08:01 1234                       /usr/lib/libc.so.6\n" +
		"7f0000002000-7f0000003000 r--s 00000000 00:00 0 \n"
	if got := formatMaps(maps); got != want {
		t.Errorf("maps:\n got %q\nwant %q", got, want)
	}
	smaps := formatSmaps(maps[:1], func(start, end uint64) uint64 { return 4096 })
	wantSmaps := "00001000-00003000 rw-p 00000000 00:00 0 \n" +
		"Size:                  8 kB\n" +
		"KernelPageSize:        4 kB\n" +
		"MMUPageSize:           4 kB\n" +
		"Rss:                   4 kB\n" +
		"Pss:                   4 kB\n" +
		"Pss_Dirty:             4 kB\n" +
		"Shared_Clean:          0 kB\n" +
		"Shared_Dirty:          0 kB\n" +
		"Private_Clean:         0 kB\n" +
		"Private_Dirty:         4 kB\n" +
		"Referenced:            4 kB\n" +
		"Anonymous:             4 kB\n" +
		"LazyFree:              0 kB\n" +
		"AnonHugePages:         0 kB\n" +
		"ShmemPmdMapped:        0 kB\n" +
		"FilePmdMapped:         0 kB\n" +
		"Shared_Hugetlb:        0 kB\n" +
		"Private_Hugetlb:       0 kB\n" +
		"Swap:                  0 kB\n" +
		"SwapPss:               0 kB\n" +
		"Locked:                0 kB\n" +
		"THPeligible:    0\n" +
		"VmFlags: rd wr mr mw me ac \n"
	if smaps != wantSmaps {
		t.Errorf("smaps:\n got %q\nwant %q", smaps, wantSmaps)
	}
}

func TestFormatMeminfo(t *testing.T) {
	got := formatMeminfo(8<<30, 1<<30)
	for _, want := range []string{
		"MemTotal:        8388608 kB\n",
		"MemFree:         7340032 kB\n",
		"Active(anon):    1048576 kB\n",
		"Inactive(file):        0 kB\n",
		"VmallocTotal:   34359738367 kB\n",
		"HardwareCorrupted:     0 kB\nAnonHugePages:         0 kB\n",
		"HugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0\n",
		"Hugepagesize:       2048 kB\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("meminfo lacks %q:\n%s", want, got)
		}
	}
}
