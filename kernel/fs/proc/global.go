package proc

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/cpu"

	"magawa/kernel/vfs"
)

// addGlobal adds the files that describe the sandbox as a whole.
func (fs *FS) addGlobal(d *staticDir) {
	d.file("cpuinfo", func(*reader) ([]byte, error) { return []byte(fs.cpuinfo), nil })
	d.file("filesystems", func(*reader) ([]byte, error) { return []byte(formatFilesystems(fs.opts.FileSystems)), nil })
	d.file("loadavg", func(*reader) ([]byte, error) { return []byte(fs.loadavg()), nil })
	d.file("meminfo", func(*reader) ([]byte, error) {
		return []byte(formatMeminfo(fs.opts.MemTotal, fs.k.MemoryUsed())), nil
	})
	d.add("mounts", fs.newSymlink("mounts", func(*vfs.Context) (string, error) { return "self/mounts", nil }))
	d.add("net", fs.newSymlink("net", func(*vfs.Context) (string, error) { return "self/net", nil }))
	d.file("stat", func(*reader) ([]byte, error) { return []byte(fs.stat()), nil })
	d.file("swaps", func(*reader) ([]byte, error) {
		return []byte("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"), nil
	})
	fs.addSys(d.subdir("sys"))
	d.file("uptime", func(*reader) ([]byte, error) { return []byte(fs.uptime()), nil })
	d.file("version", func(*reader) ([]byte, error) {
		return []byte(fmt.Sprintf("Linux version %s (magawa@magawa) (go) %s\n", fs.opts.Release, fs.opts.Version)), nil
	})
}

// formatFilesystems renders /proc/filesystems. Linux: fs/filesystems.c,
// filesystems_proc_show().
func formatFilesystems(types []FileSystemType) string {
	var b strings.Builder
	for _, t := range types {
		if t.NoDev {
			b.WriteString("nodev")
		}
		fmt.Fprintf(&b, "\t%s\n", t.Name)
	}
	return b.String()
}

// cpuTimes splits the sandbox's CPU time: busy (application code, all
// counted as user time) and idle, per CPU, in clock ticks.
func (fs *FS) cpuTimes() (busy, idle []uint64) {
	n := max(fs.k.NumCPU(), 1)
	used := fs.k.CPUUsage()
	up := fs.k.Uptime()
	busy, idle = make([]uint64, n), make([]uint64, n)
	for c := 0; c < n; c++ {
		u := used / time.Duration(n)
		busy[c] = ticks(u)
		idle[c] = ticks(max(up-u, 0))
	}
	return busy, idle
}

// stat renders /proc/stat. Linux: fs/proc/stat.c, show_stat().
func (fs *FS) stat() string {
	busy, idle := fs.cpuTimes()
	var tb, ti uint64
	for c := range busy {
		tb += busy[c]
		ti += idle[c]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cpu  %d 0 0 %d 0 0 0 0 0 0\n", tb, ti)
	for c := range busy {
		fmt.Fprintf(&b, "cpu%d %d 0 0 %d 0 0 0 0 0 0\n", c, busy[c], idle[c])
	}
	ts := fs.k.TaskStats()
	fmt.Fprintf(&b, "intr 0\nctxt 0\nbtime %d\nprocesses %d\nprocs_running 1\nprocs_blocked 0\n",
		fs.k.Boot().Unix(), ts.LastTID)
	b.WriteString("softirq 0 0 0 0 0 0 0 0 0 0 0\n")
	return b.String()
}

// uptime renders /proc/uptime: seconds since boot and idle seconds
// summed over the CPUs. Linux: fs/proc/uptime.c.
func (fs *FS) uptime() string {
	up := fs.k.Uptime()
	_, idle := fs.cpuTimes()
	var ti uint64
	for _, t := range idle {
		ti += t
	}
	u := ticks(up)
	return fmt.Sprintf("%d.%02d %d.%02d\n", u/userHZ, u%userHZ, ti/userHZ, ti%userHZ)
}

// loadavg renders /proc/loadavg. The sandbox keeps no load averages: they
// read zero; the running count is the reader. Linux: fs/proc/loadavg.c.
func (fs *FS) loadavg() string {
	ts := fs.k.TaskStats()
	return fmt.Sprintf("0.00 0.00 0.00 1/%d %d\n", ts.Threads, ts.LastTID)
}

// meminfoLine renders one meminfo line: the label padded to 16 columns
// (one space at least) and the value in kB on 8.
func meminfoLine(b *strings.Builder, label string, bytes uint64) {
	fmt.Fprintf(b, "%-15s %8d kB\n", label+":", bytes>>10)
}

// formatMeminfo renders /proc/meminfo for a sandbox of total bytes of
// which used are held by the memory file (application memory and
// tmpfs). All of it counts as anonymous memory; nothing is swapped.
// Linux: fs/proc/meminfo.c, meminfo_proc_show().
func formatMeminfo(total, used uint64) string {
	used = min(used, total)
	free := total - used
	var b strings.Builder
	for _, l := range []struct {
		label string
		v     uint64
	}{
		{"MemTotal", total}, {"MemFree", free}, {"MemAvailable", free},
		{"Buffers", 0}, {"Cached", 0}, {"SwapCached", 0},
		{"Active", used}, {"Inactive", 0},
		{"Active(anon)", used}, {"Inactive(anon)", 0},
		{"Active(file)", 0}, {"Inactive(file)", 0},
		{"Unevictable", 0}, {"Mlocked", 0},
		{"SwapTotal", 0}, {"SwapFree", 0},
		{"Dirty", 0}, {"Writeback", 0},
		{"AnonPages", used}, {"Mapped", 0}, {"Shmem", 0},
		{"KReclaimable", 0}, {"Slab", 0}, {"SReclaimable", 0}, {"SUnreclaim", 0},
		{"KernelStack", 0}, {"PageTables", 0},
		{"NFS_Unstable", 0}, {"Bounce", 0}, {"WritebackTmp", 0},
		// No swap and the default overcommit_ratio of 50.
		{"CommitLimit", total / 2}, {"Committed_AS", used},
		{"VmallocTotal", 34359738367 << 10}, {"VmallocUsed", 0}, {"VmallocChunk", 0},
		{"Percpu", 0},
	} {
		meminfoLine(&b, l.label, l.v)
	}
	// This one keeps its own, narrower format.
	b.WriteString("HardwareCorrupted:     0 kB\n")
	for _, l := range []string{"AnonHugePages", "ShmemHugePages", "ShmemPmdMapped", "FileHugePages", "FilePmdMapped"} {
		meminfoLine(&b, l, 0)
	}
	b.WriteString("HugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0\n")
	meminfoLine(&b, "Hugepagesize", 2048<<10)
	meminfoLine(&b, "Hugetlb", 0)
	meminfoLine(&b, "DirectMap4k", 0)
	meminfoLine(&b, "DirectMap2M", total)
	meminfoLine(&b, "DirectMap1G", 0)
	return b.String()
}

// cpuInfo returns /proc/cpuinfo for n CPUs: the first n processors of
// host (the host's cpuinfo), or, without it, a generated description.
func cpuInfo(host string, n int) string {
	if host != "" {
		var blocks []string
		for _, blk := range strings.SplitAfter(strings.TrimRight(host, "\n")+"\n\n", "\n\n") {
			if strings.TrimSpace(blk) != "" {
				blocks = append(blocks, blk)
			}
		}
		return strings.Join(blocks[:min(n, len(blocks))], "")
	}
	var b strings.Builder
	flags := cpuFlags()
	for c := 0; c < n; c++ {
		fmt.Fprintf(&b, "processor\t: %d\n", c)
		b.WriteString("vendor_id\t: unknown\ncpu family\t: 6\nmodel\t\t: 0\nmodel name\t: magawa virtual CPU\nstepping\t: 0\n")
		fmt.Fprintf(&b, "physical id\t: 0\nsiblings\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\napicid\t\t: %d\n", n, c, n, c)
		b.WriteString("fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: 13\nwp\t\t: yes\n")
		fmt.Fprintf(&b, "flags\t\t: %s\n", flags)
		b.WriteString("clflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 46 bits physical, 48 bits virtual\npower management:\n\n")
	}
	return b.String()
}

// cpuFlags lists the host CPU's features that Go detects, by their
// cpuinfo names.
func cpuFlags() string {
	f := []string{"fpu", "tsc", "cx8", "cmov", "clflush", "mmx", "fxsr", "sse"}
	x := &cpu.X86
	for _, c := range []struct {
		has  bool
		name string
	}{
		{x.HasSSE2, "sse2"}, {x.HasSSE3, "pni"}, {x.HasPCLMULQDQ, "pclmulqdq"}, {x.HasSSSE3, "ssse3"},
		{x.HasFMA, "fma"}, {x.HasCX16, "cx16"}, {x.HasSSE41, "sse4_1"}, {x.HasSSE42, "sse4_2"},
		{x.HasPOPCNT, "popcnt"}, {x.HasAES, "aes"}, {x.HasOSXSAVE, "xsave"}, {x.HasAVX, "avx"},
		{x.HasRDRAND, "rdrand"}, {x.HasBMI1, "bmi1"}, {x.HasAVX2, "avx2"}, {x.HasBMI2, "bmi2"},
		{x.HasERMS, "erms"}, {x.HasAVX512F, "avx512f"}, {x.HasAVX512DQ, "avx512dq"},
		{x.HasRDSEED, "rdseed"}, {x.HasADX, "adx"}, {x.HasAVX512CD, "avx512cd"},
		{x.HasAVX512BW, "avx512bw"}, {x.HasAVX512VL, "avx512vl"},
	} {
		if c.has {
			f = append(f, c.name)
		}
	}
	return strings.Join(f, " ")
}
