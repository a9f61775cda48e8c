package vm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"magawa/internal/oci"
	"magawa/internal/sandbox"
	"magawa/internal/vm/image"
	"magawa/internal/vm/qemu"
	"magawa/kernel/userns"
)

// Config is one VM sandbox: what the runtime hands the supervisor, as
// JSON on its configuration pipe.
type Config struct {
	ID string
	// StateDir is the container's state directory: the console log
	// and the supervisor's staging directories are there.
	StateDir string
	// RootDir is the host directory of the container's root, shared
	// read-only; the guest puts an overlay on it. In a pod's other
	// container's configuration (an add request's), RootDir and the
	// bind mounts' Sources are paths in the pod's share (StageInPod).
	RootDir       string
	RootReadonly  bool
	Process       sandbox.Process
	Mounts        []Mount
	Hostname      string
	Domainname    string
	MaskedPaths   []string
	ReadonlyPaths []string
	Sysctl        map[string]string
	// Devices are the bundle's device nodes (linux.devices), made in
	// the guest.
	Devices []sandbox.Device
	// UIDMappings and GIDMappings, set, put the container in a user
	// namespace of the guest with these maps (linux.uidMappings and
	// gidMappings, with a new user namespace).
	UIDMappings []userns.Extent
	GIDMappings []userns.Extent
	// OOMScoreAdj is the container's processes' (process.oomScoreAdj).
	OOMScoreAdj *int
	// MemoryLimit (bytes) and PidsLimit bound the container inside the
	// guest (its cgroup there); zero: none.
	MemoryLimit int64
	PidsLimit   int64
	// CPUWeight (cpu.weight, from linux.resources.cpu.shares) and
	// CPUQuota and CPUPeriod (cpu.max, microseconds) share the guest's
	// CPUs out; zero: unset.
	CPUWeight uint64
	CPUQuota  int64
	CPUPeriod uint64
	// Tap, when set, is the tap device (TapName) the supervisor makes
	// in its network namespace for the VM's NIC (--network=sandbox);
	// without it the VM has loopback only.
	Tap string
	// PodDir, set for a pod's sandbox container, is the pod's share
	// (MakePodDir), shared with the VM as PodShareTag: the pod's other
	// containers join the VM through it.
	PodDir string
	VM     VMConfig
}

// Mount is one of the bundle's mounts, as OCI has it, with a bind
// mount's source made absolute.
type Mount struct {
	Destination string
	Type        string
	Source      string
	Options     []string
}

// VMConfig is the virtual machine's side.
type VMConfig struct {
	// QEMU is the qemu-system-x86_64 executable, a path.
	QEMU string
	// Kernel and Initrd are the guest image (make vm-image).
	Kernel  string
	Initrd  string
	Machine string
	Accel   string
	// MemoryMiB and CPUs size the VM.
	MemoryMiB int
	CPUs      int
	// BootTimeout bounds the wait for the agent's first answer.
	BootTimeout time.Duration
	// Cmdline is added to the guest kernel's command line.
	Cmdline string
	// DebugLog is the supervisor's debug log (timings, the guest's
	// console), empty for none.
	DebugLog string
	// NoJail runs QEMU without its chroot (for finding what the jail
	// lacks).
	NoJail bool
}

// Defaults.
const (
	// DefaultMemoryMiB is a VM's memory when the bundle sets no limit.
	DefaultMemoryMiB = 512
	// memoryOverheadMiB is added to a bundle's memory limit: the guest
	// kernel and the agent live in the VM's memory too.
	memoryOverheadMiB = 160
	minMemoryMiB      = 256
	// DefaultBootTimeout bounds a boot: about 3 s here without KVM, more
	// on a loaded machine.
	DefaultBootTimeout = 60 * time.Second
)

// FromSpec makes a VM sandbox's configuration from a bundle's (loaded and
// validated with oci.Load). The VM's fields but its size are the
// caller's to fill in.
func FromSpec(spec *specs.Spec, bundle, id, stateDir string) (Config, error) {
	sc, err := oci.ToSandbox(spec, bundle)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{
		ID:            id,
		StateDir:      stateDir,
		RootDir:       sc.RootDir,
		RootReadonly:  sc.RootReadOnly,
		Process:       sc.Process,
		Hostname:      sc.Hostname,
		Domainname:    sc.Domainname,
		MaskedPaths:   sc.MaskedPaths,
		ReadonlyPaths: sc.ReadonlyPaths,
		Sysctl:        sc.Sysctl,
		Devices:       sc.Devices,
		UIDMappings:   sc.UIDMappings,
		GIDMappings:   sc.GIDMappings,
		OOMScoreAdj:   oci.HostConfig(spec).OOMScoreAdj,
	}
	for _, m := range spec.Mounts {
		vm := Mount{Destination: m.Destination, Type: m.Type, Source: m.Source, Options: m.Options}
		if isBind(m.Type, m.Options) && !filepath.IsAbs(vm.Source) {
			vm.Source = filepath.Join(bundle, vm.Source)
		}
		cfg.Mounts = append(cfg.Mounts, vm)
	}
	cfg.VM.MemoryMiB = DefaultMemoryMiB
	cfg.VM.CPUs = 1
	if l := spec.Linux; l != nil && l.Resources != nil {
		r := l.Resources
		if r.Memory != nil && r.Memory.Limit != nil && *r.Memory.Limit > 0 {
			cfg.MemoryLimit = *r.Memory.Limit
			cfg.VM.MemoryMiB = max(minMemoryMiB, int(*r.Memory.Limit>>20)+memoryOverheadMiB)
		}
		if r.Pids != nil && r.Pids.Limit != nil && *r.Pids.Limit > 0 {
			cfg.PidsLimit = *r.Pids.Limit
		}
		cfg.VM.CPUs = vcpus(r.CPU)
		cfg.CPUWeight, cfg.CPUQuota, cfg.CPUPeriod = cpuLimits(r.CPU)
	}
	sizeForPod(&cfg, spec.Annotations)
	return cfg, nil
}

// The CRI plugin's annotations of a pod's sandbox container: the sums
// of the pod's containers' limits (zero when one has none), which the
// pod's VM holds besides the sandbox container's own.
const (
	podMemoryAnnotation    = "io.kubernetes.cri.sandbox-memory"
	podCPUQuotaAnnotation  = "io.kubernetes.cri.sandbox-cpu-quota"
	podCPUPeriodAnnotation = "io.kubernetes.cri.sandbox-cpu-period"
)

// sizeForPod sizes a pod's VM for the pod's containers' limits, as the
// CRI plugin sums them up on its sandbox container: their memory plus
// the guest's overhead (instead of the default size when the sandbox
// container has no limit of its own), their quota's vCPUs. The guest
// cgroup of the sandbox container keeps its own limits.
func sizeForPod(cfg *Config, annotations map[string]string) {
	if mem, err := strconv.ParseInt(annotations[podMemoryAnnotation], 10, 64); err == nil && mem > 0 {
		pod := max(minMemoryMiB, int(mem>>20)+memoryOverheadMiB)
		if cfg.MemoryLimit == 0 {
			cfg.VM.MemoryMiB = pod
		} else {
			cfg.VM.MemoryMiB = max(cfg.VM.MemoryMiB, pod)
		}
	}
	quota, qerr := strconv.ParseInt(annotations[podCPUQuotaAnnotation], 10, 64)
	period, perr := strconv.ParseUint(annotations[podCPUPeriodAnnotation], 10, 64)
	if qerr == nil && perr == nil && quota > 0 && period > 0 {
		cfg.VM.CPUs = max(cfg.VM.CPUs, vcpus(&specs.LinuxCPU{Quota: &quota, Period: &period}))
	}
}

// cpuLimits are the guest cgroup's CPU settings for OCI's: shares as
// cpu.weight (the range 2-262144 mapped linearly onto 1-10000, as runc
// and the kernel's documentation map it), the quota and period as
// cpu.max. Zero: unset (a quota without a period keeps cpu.max's,
// 100 ms by default); a quota of -1 is "max".
func cpuLimits(c *specs.LinuxCPU) (weight uint64, quota int64, period uint64) {
	if c == nil {
		return 0, 0, 0
	}
	if c.Shares != nil && *c.Shares != 0 {
		shares := min(max(*c.Shares, 2), 262144)
		weight = 1 + (shares-2)*9999/262142
	}
	if c.Quota != nil && *c.Quota != 0 {
		quota = *c.Quota
		if quota < 0 {
			quota = -1
		}
	}
	if c.Period != nil && *c.Period != 0 {
		period = *c.Period
	}
	return weight, quota, period
}

// vcpus is the number of vCPUs for the bundle's CPU limits: the quota's
// CPUs rounded up, or the cpuset's count, at most the host's, at least
// one.
func vcpus(c *specs.LinuxCPU) int {
	n := 1
	if c != nil {
		switch {
		case c.Quota != nil && *c.Quota > 0 && c.Period != nil && *c.Period > 0:
			n = int((uint64(*c.Quota) + *c.Period - 1) / *c.Period)
		case c.Cpus != "":
			if k := cpusetCount(c.Cpus); k > 0 {
				n = k
			}
		}
	}
	return max(1, min(n, numCPU()))
}

// cpusetCount counts the CPUs of a cpuset list ("0-3,6").
func cpusetCount(s string) int {
	n := 0
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return 0
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return 0
			}
		}
		n += b - a + 1
	}
	return n
}

// isBind reports whether an OCI mount is a bind mount.
func isBind(typ string, options []string) bool {
	if typ == "bind" {
		return true
	}
	for _, o := range options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

// ImageDirs are where FindImage looks for the guest image, in order:
// $MAGAWA_VM_IMAGE, the cache of the checkout the binary was built in
// (bin/magawa → .cache/vm), then the system's.
func ImageDirs() []string {
	var dirs []string
	if d := os.Getenv("MAGAWA_VM_IMAGE"); d != "" {
		dirs = append(dirs, d)
	}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Join(filepath.Dir(filepath.Dir(exe)), ".cache", "vm"))
	}
	return append(dirs, "/usr/local/lib/magawa/vm", "/usr/lib/magawa/vm")
}

// ErrNoImage says no guest image was found.
var ErrNoImage = errors.New("no guest image")

// FindImage returns the kernel and initramfs of the first of ImageDirs
// that has both.
func FindImage() (kernel, initrd string, err error) {
	dirs := ImageDirs()
	for _, d := range dirs {
		k, i := filepath.Join(d, image.KernelName), filepath.Join(d, image.InitramfsName)
		if regular(k) && regular(i) {
			return k, i, nil
		}
	}
	return "", "", fmt.Errorf("%w: neither %s nor %s in %s (build it with `make vm-image`, or give --vm-kernel and --vm-initrd)",
		ErrNoImage, image.KernelName, image.InitramfsName, strings.Join(dirs, ", "))
}

func regular(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// Resolve fills in the VM's defaults and checks that QEMU, the kernel
// and the initramfs are there, naming what is missing.
func (c *VMConfig) Resolve() error {
	bin, err := qemu.FindBinary(c.QEMU)
	if err != nil {
		return err
	}
	c.QEMU = bin
	if c.Kernel == "" || c.Initrd == "" {
		k, i, err := FindImage()
		if err != nil && (c.Kernel == "" && c.Initrd == "") {
			return err
		}
		if c.Kernel == "" {
			if err != nil {
				return fmt.Errorf("--vm-initrd without --vm-kernel: %w", err)
			}
			c.Kernel = k
		}
		if c.Initrd == "" {
			if err != nil {
				return fmt.Errorf("--vm-kernel without --vm-initrd: %w", err)
			}
			c.Initrd = i
		}
	}
	for _, f := range []*string{&c.Kernel, &c.Initrd} {
		if abs, err := filepath.Abs(*f); err == nil {
			*f = abs
		}
	}
	qc := qemu.Config{Kernel: c.Kernel, Initrd: c.Initrd}
	if err := qc.CheckFiles(); err != nil {
		return err
	}
	if c.Machine == "" {
		c.Machine = qemu.MachineMicroVM
	}
	if c.Accel == "" {
		c.Accel = qemu.DefaultAccel()
	}
	if c.BootTimeout <= 0 {
		c.BootTimeout = DefaultBootTimeout
	}
	return nil
}

// numCPU is the host's CPU count (a variable for tests).
var numCPU = runtime.NumCPU
