package qemu

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func baseConfig() Config {
	return Config{
		Binary: "/usr/bin/qemu-system-x86_64", Machine: MachineMicroVM, Accel: AccelTCG,
		Kernel: "/img/kernel", Initrd: "/img/initrd", MemoryMiB: 512, CPUs: 2,
		ConsoleFD: 3, AgentFD: 4,
		Shares: []Share{{Tag: "root", Path: "/b/root,fs", ReadOnly: true}, {Tag: "m1", Path: "/vol"}},
	}
}

// flag returns the values of every occurrence of a flag.
func flag(args []string, name string) []string {
	var out []string
	for i := 0; i+1 < len(args); i++ {
		if args[i] == name {
			out = append(out, args[i+1])
		}
	}
	return out
}

func has(args []string, name string) bool {
	for _, a := range args {
		if a == name {
			return true
		}
	}
	return false
}

func TestArgsMicroVMTCG(t *testing.T) {
	c := baseConfig()
	args, err := c.Args()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][2]string{
		{"-machine", "microvm"}, {"-accel", "tcg"}, {"-cpu", "max"}, {"-m", "512M"}, {"-smp", "2"},
		{"-kernel", "/img/kernel"}, {"-initrd", "/img/initrd"}, {"-serial", "chardev:console"},
	} {
		if got := flag(args, want[0]); len(got) != 1 || got[0] != want[1] {
			t.Errorf("%s = %v, want %s", want[0], got, want[1])
		}
	}
	for _, f := range []string{"-nodefaults", "-no-reboot", "-no-user-config"} {
		if !has(args, f) {
			t.Errorf("no %s in %v", f, args)
		}
	}
	cmdline := flag(args, "-append")[0]
	for _, want := range []string{"console=ttyS0", "panic=-1", "tsc_early_khz=2000000", "rdinit=/init"} {
		if !strings.Contains(cmdline, want) {
			t.Errorf("kernel command line %q lacks %s", cmdline, want)
		}
	}
	chardevs := strings.Join(flag(args, "-chardev"), " ")
	if !strings.Contains(chardevs, "socket,id=console,fd=3") || !strings.Contains(chardevs, "socket,id=agent,fd=4") {
		t.Errorf("chardevs %q: want the console on fd 3 and the agent on fd 4", chardevs)
	}
	devices := strings.Join(flag(args, "-device"), " ")
	for _, want := range []string{
		"virtio-serial-device,", "virtserialport,bus=vser0.0,nr=1,chardev=agent,name=" + PortName,
		"virtio-9p-device,fsdev=fs0,mount_tag=root", "virtio-9p-device,fsdev=fs1,mount_tag=m1",
	} {
		if !strings.Contains(devices, want) {
			t.Errorf("devices %q lack %q", devices, want)
		}
	}
	fsdevs := flag(args, "-fsdev")
	if len(fsdevs) != 2 || fsdevs[0] != "local,id=fs0,path=/b/root,,fs,security_model=none,readonly=on" ||
		fsdevs[1] != "local,id=fs1,path=/vol,security_model=none" {
		t.Errorf("fsdevs = %q: want the commas of a path doubled and the root read-only", fsdevs)
	}
	if s := flag(args, "-sandbox"); len(s) != 1 || !strings.Contains(s[0], "spawn=deny") {
		t.Errorf("-sandbox = %v: want QEMU's seccomp filter on", s)
	}
}

// A pod's share holds the roots and volumes of several file systems:
// QEMU makes their 9p IDs unique.
func TestArgsPodShare(t *testing.T) {
	c := baseConfig()
	c.Shares = append(c.Shares, Share{Tag: "pod", Path: "/run/magawa/p/pod", ManyFileSystems: true})
	args, err := c.Args()
	if err != nil {
		t.Fatal(err)
	}
	fsdevs := flag(args, "-fsdev")
	if len(fsdevs) != 3 || fsdevs[2] != "local,id=fs2,path=/run/magawa/p/pod,security_model=none,multidevs=remap" ||
		strings.Contains(fsdevs[0], "multidevs") {
		t.Errorf("fsdevs = %q: want the pod's share alone with multidevs=remap", fsdevs)
	}
}

func TestArgsQ35KVM(t *testing.T) {
	c := baseConfig()
	c.Machine, c.Accel, c.NoSeccomp = MachineQ35, AccelKVM, true
	args, err := c.Args()
	if err != nil {
		t.Fatal(err)
	}
	if m := flag(args, "-machine"); m[0] != "q35" {
		t.Errorf("-machine = %v", m)
	}
	if cpu := flag(args, "-cpu"); cpu[0] != "host" {
		t.Errorf("-cpu = %v, want host under KVM", cpu)
	}
	if strings.Contains(flag(args, "-append")[0], "tsc_early_khz") {
		t.Error("tsc_early_khz is for TCG only")
	}
	devices := strings.Join(flag(args, "-device"), " ")
	if !strings.Contains(devices, "virtio-serial-pci") || !strings.Contains(devices, "virtio-9p-pci") {
		t.Errorf("devices %q: want PCI devices on q35", devices)
	}
	if has(args, "-sandbox") {
		t.Error("-sandbox with NoSeccomp")
	}
}

// TestArgsNIC checks the NIC: QEMU's tap backend on the descriptor it
// inherits, and the transport's virtio-net device; none without one.
func TestArgsNIC(t *testing.T) {
	for _, tc := range []struct{ machine, device string }{
		{MachineMicroVM, "virtio-net-device,netdev=net0"},
		{MachineQ35, "virtio-net-pci,romfile=,netdev=net0"},
	} {
		c := baseConfig()
		c.Machine = tc.machine
		args, err := c.Args()
		if err != nil {
			t.Fatal(err)
		}
		if has(args, "-netdev") || strings.Contains(strings.Join(flag(args, "-device"), " "), "virtio-net") {
			t.Errorf("%s: a NIC without a tap: %v", tc.machine, args)
		}
		c.NetFD = 5
		if args, err = c.Args(); err != nil {
			t.Fatal(err)
		}
		if nd := flag(args, "-netdev"); len(nd) != 1 || nd[0] != "tap,id=net0,fd=5,vhost=off" {
			t.Errorf("%s: -netdev = %q, want the tap on fd 5", tc.machine, nd)
		}
		if !slices.Contains(flag(args, "-device"), tc.device) {
			t.Errorf("%s: devices %q lack %q", tc.machine, flag(args, "-device"), tc.device)
		}
	}
}

func TestArgsRefuses(t *testing.T) {
	for name, edit := range map[string]func(*Config){
		"no kernel":     func(c *Config) { c.Kernel = "" },
		"no initrd":     func(c *Config) { c.Initrd = "" },
		"bad machine":   func(c *Config) { c.Machine = "pc-i440fx" },
		"bad accel":     func(c *Config) { c.Accel = "hvf" },
		"tiny memory":   func(c *Config) { c.MemoryMiB = 16 },
		"no cpus":       func(c *Config) { c.CPUs = 0 },
		"bad tag":       func(c *Config) { c.Shares[0].Tag = "a,b" },
		"long tag":      func(c *Config) { c.Shares[0].Tag = strings.Repeat("t", 32) },
		"no agent sock": func(c *Config) { c.AgentFD = -1 },
	} {
		c := baseConfig()
		edit(&c)
		if _, err := c.Args(); err == nil {
			t.Errorf("%s: Args succeeded", name)
		}
	}
}

func TestCheckFilesNamesWhatIsMissing(t *testing.T) {
	c := Config{Kernel: "/nonexistent/kernel", Initrd: "/nonexistent/initrd"}
	err := c.CheckFiles()
	if err == nil || !strings.Contains(err.Error(), "guest kernel") || !strings.Contains(err.Error(), "/nonexistent/kernel") {
		t.Errorf("CheckFiles = %v, want an error naming the guest kernel", err)
	}
}

func TestFindBinaryMissing(t *testing.T) {
	_, err := FindBinary("/nonexistent/qemu-system-x86_64")
	if err == nil || !strings.Contains(err.Error(), "qemu-system-x86") {
		t.Errorf("FindBinary = %v, want an error naming the package", err)
	}
}

func TestCPUHasVirtualization(t *testing.T) {
	for cpuinfo, want := range map[string]bool{
		"processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae mce cx8 apic vmx ept\n": true,
		"flags\t\t: fpu svm\n":                           true,
		"flags\t\t: fpu vme de pse tsc msr hypervisor\n": false,
		"": false,
	} {
		if got := cpuHasVirtualization(cpuinfo); got != want {
			t.Errorf("cpuHasVirtualization(%q) = %v", cpuinfo, got)
		}
	}
}

func TestConsoleKeepsTheLastLines(t *testing.T) {
	var log bytes.Buffer
	c := NewConsole(&log)
	r := strings.NewReader("")
	var b strings.Builder
	for i := 0; i < consoleLines+5; i++ {
		fmt.Fprintf(&b, "line %d\r\n", i)
	}
	b.WriteString("no newline")
	r = strings.NewReader(b.String())
	done := make(chan struct{})
	c.collect(r, "> ", done)
	<-done
	tail := c.Tail(3)
	want := []string{fmt.Sprintf("> line %d", consoleLines+3), fmt.Sprintf("> line %d", consoleLines+4), "> no newline"}
	if strings.Join(tail, "|") != strings.Join(want, "|") {
		t.Errorf("Tail(3) = %q, want %q", tail, want)
	}
	if n := len(c.Tail(1000)); n != consoleLines {
		t.Errorf("Tail keeps %d lines, want %d", n, consoleLines)
	}
	if !strings.HasPrefix(log.String(), "> line 0\n") {
		t.Errorf("the log starts %q", log.String()[:20])
	}
}
