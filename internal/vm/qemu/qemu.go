package qemu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Machines QEMU can run a sandbox as.
const (
	// MachineMicroVM is QEMU's microvm: no PCI, no firmware to speak
	// of, virtio-mmio devices. The default.
	MachineMicroVM = "microvm"
	// MachineQ35 is the fallback, for a QEMU or a kernel without
	// microvm support: virtio-pci devices.
	MachineQ35 = "q35"
)

// Accelerators.
const (
	AccelKVM = "kvm"
	AccelTCG = "tcg"
)

// DefaultBinary is the QEMU looked up in PATH.
const DefaultBinary = "qemu-system-x86_64"

// Share is a host directory the guest sees through virtio-9p.
type Share struct {
	// Tag is the 9p mount tag the guest mounts it by.
	Tag      string
	Path     string
	ReadOnly bool
	// ManyFileSystems says the directory holds mounts of other file
	// systems (a pod's share): QEMU then makes their files' 9p IDs
	// unique (multidevs=remap), which it otherwise takes from the
	// inode numbers alone, so that the guest does not take a file of
	// one for a file of another.
	ManyFileSystems bool
}

// Config is one VM.
type Config struct {
	// Binary is the QEMU executable (a path).
	Binary string
	// Machine is MachineMicroVM or MachineQ35; Accel AccelKVM or
	// AccelTCG.
	Machine string
	Accel   string
	// Kernel and Initrd are the guest's; Cmdline is appended to the
	// kernel command line.
	Kernel  string
	Initrd  string
	Cmdline string
	// MemoryMiB and CPUs size the VM.
	MemoryMiB int
	CPUs      int
	Shares    []Share
	// ConsoleFD and AgentFD are QEMU's descriptors of connected Unix
	// sockets: the serial console, and the agent's virtio-serial port.
	ConsoleFD int
	AgentFD   int
	// NetFD, when not zero, is QEMU's descriptor of a tap device
	// (IFF_TAP, IFF_NO_PI, IFF_VNET_HDR) that backs the VM's virtio-net
	// NIC; without one the VM has no NIC.
	NetFD int
	// NoSeccomp leaves out QEMU's own seccomp filter (-sandbox on).
	NoSeccomp bool
}

// PortName is the name of the agent's virtio-serial port.
const PortName = "magawa.agent"

// KVMUsable reports whether KVM can run a VM here: /dev/kvm opens and
// answers the stable API version, and the CPU has hardware
// virtualization (vmx or svm). Inside a VM without nested
// virtualization /dev/kvm may exist and make VMs whose vCPUs never run
// (a Firecracker guest's does): its CPU flags tell.
func KVMUsable() bool {
	fd, err := unix.Open("/dev/kvm", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	const kvmGetAPIVersion = 0xAE00 // _IO(KVMIO, 0x00)
	if v, err := unix.IoctlRetInt(fd, kvmGetAPIVersion); err != nil || v != 12 {
		return false
	}
	cpuinfo, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return false
	}
	return cpuHasVirtualization(string(cpuinfo))
}

// cpuHasVirtualization reports whether /proc/cpuinfo's flags have vmx
// (Intel VT-x) or svm (AMD-V).
func cpuHasVirtualization(cpuinfo string) bool {
	for _, line := range strings.Split(cpuinfo, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) != "flags" {
			continue
		}
		for _, f := range strings.Fields(v) {
			if f == "vmx" || f == "svm" {
				return true
			}
		}
		return false
	}
	return false
}

// DefaultAccel is KVM when /dev/kvm is usable and TCG otherwise.
func DefaultAccel() string {
	if KVMUsable() {
		return AccelKVM
	}
	return AccelTCG
}

// FindBinary resolves QEMU: a path, or a name looked up in PATH.
func FindBinary(name string) (string, error) {
	if name == "" {
		name = DefaultBinary
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("QEMU (%s) not found: install qemu-system-x86 or give --vm-qemu: %w", name, err)
	}
	return p, nil
}

// kernelCmdline is the guest kernel's command line: the console on the
// first serial port, a panic ends the VM (panic=-1, and QEMU's
// -no-reboot turns the reboot into an exit), the agent as init.
func (c *Config) kernelCmdline() string {
	args := []string{"console=ttyS0", "panic=-1", "quiet", "rdinit=/init",
		// What the guest never uses: more serial ports, the crypto
		// self-tests, the watchdogs, audit, the LSMs (the VM is the
		// boundary).
		"8250.nr_uarts=1", "cryptomgr.notests", "nowatchdog", "audit=0", "apparmor=0", "security=none"}
	if c.Machine == MachineMicroVM || c.Machine == "" {
		args = append(args, "pci=off")
	}
	if c.Accel == AccelTCG {
		// Without it, a loaded host hangs an emulated guest's boot
		// at "tsc: Unable to calibrate against PIT" more often than
		// not; the value is the emulated TSC's. An emulated CPU does
		// not speculate: the mitigations are only a cost.
		args = append(args, "tsc_early_khz=2000000", "mitigations=off")
	}
	if c.Cmdline != "" {
		args = append(args, c.Cmdline)
	}
	return strings.Join(args, " ")
}

// escape doubles the commas of a value in QEMU's option syntax.
func escape(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// Args builds QEMU's arguments (without argv[0]).
func (c *Config) Args() ([]string, error) {
	if c.Kernel == "" {
		return nil, errors.New("no guest kernel")
	}
	if c.Initrd == "" {
		return nil, errors.New("no initramfs")
	}
	if c.MemoryMiB < 64 {
		return nil, fmt.Errorf("%d MiB of memory is too little for a VM", c.MemoryMiB)
	}
	if c.CPUs < 1 {
		return nil, fmt.Errorf("%d vCPUs", c.CPUs)
	}
	if c.ConsoleFD < 0 || c.AgentFD < 0 {
		return nil, errors.New("the console's and the agent's sockets are needed")
	}
	var serialDev, ninepDev, netDev string
	machine := c.Machine
	switch c.Machine {
	case MachineMicroVM, "":
		machine = MachineMicroVM
		serialDev, ninepDev, netDev = "virtio-serial-device", "virtio-9p-device", "virtio-net-device"
	case MachineQ35:
		// No option ROM: nothing boots from the network.
		serialDev, ninepDev, netDev = "virtio-serial-pci", "virtio-9p-pci", "virtio-net-pci,romfile="
	default:
		return nil, fmt.Errorf("unknown machine %q: want %s or %s", c.Machine, MachineMicroVM, MachineQ35)
	}
	cpu := "max"
	switch c.Accel {
	case AccelKVM:
		cpu = "host"
	case AccelTCG:
	default:
		return nil, fmt.Errorf("unknown accelerator %q: want %s or %s", c.Accel, AccelKVM, AccelTCG)
	}
	args := []string{
		"-machine", machine,
		"-accel", c.Accel,
		"-cpu", cpu,
		"-m", strconv.Itoa(c.MemoryMiB) + "M",
		"-smp", strconv.Itoa(c.CPUs),
		"-nodefaults", "-no-user-config", "-no-reboot",
		"-display", "none",
		"-kernel", escape(c.Kernel),
		"-initrd", escape(c.Initrd),
		"-append", c.kernelCmdline(),
		"-chardev", fmt.Sprintf("socket,id=console,fd=%d", c.ConsoleFD),
		"-serial", "chardev:console",
		"-device", serialDev + ",id=vser0,max_ports=2",
		"-chardev", fmt.Sprintf("socket,id=agent,fd=%d", c.AgentFD),
		"-device", "virtserialport,bus=vser0.0,nr=1,chardev=agent,name=" + PortName,
	}
	for i, s := range c.Shares {
		if s.Tag == "" || len(s.Tag) > 31 || strings.ContainsAny(s.Tag, ", =") {
			return nil, fmt.Errorf("invalid 9p tag %q", s.Tag)
		}
		id := fmt.Sprintf("fs%d", i)
		opt := fmt.Sprintf("local,id=%s,path=%s,security_model=none", id, escape(s.Path))
		if s.ReadOnly {
			opt += ",readonly=on"
		}
		if s.ManyFileSystems {
			opt += ",multidevs=remap"
		}
		args = append(args, "-fsdev", opt, "-device", fmt.Sprintf("%s,fsdev=%s,mount_tag=%s", ninepDev, id, s.Tag))
	}
	if c.NetFD > 0 {
		// The tap was made by the supervisor, in the container's
		// network namespace: QEMU needs no privilege for it. No
		// vhost-net: its device is not in QEMU's jail.
		args = append(args, "-netdev", fmt.Sprintf("tap,id=net0,fd=%d,vhost=off", c.NetFD), "-device", netDev+",netdev=net0")
	}
	if !c.NoSeccomp {
		// QEMU's own seccomp filter: no obsolete calls, no setuid and
		// friends, no fork or exec, no changes of scheduling or
		// affinity.
		args = append(args, "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny")
	}
	return args, nil
}

// CheckFiles reports a missing kernel or initramfs by name.
func (c *Config) CheckFiles() error {
	for _, f := range []struct{ what, path string }{{"guest kernel", c.Kernel}, {"initramfs", c.Initrd}} {
		st, err := os.Stat(f.path)
		if err != nil {
			return fmt.Errorf("the VM's %s: %w (build the image with `make vm-image`, or give --vm-kernel and --vm-initrd)", f.what, err)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("the VM's %s %s is not a regular file", f.what, f.path)
		}
	}
	return nil
}
