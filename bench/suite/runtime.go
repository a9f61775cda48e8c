package suite

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Kind is the family a runtime belongs to.
type Kind string

const (
	Native Kind = "native" // the host itself: no sandbox, no container
	Runc   Kind = "runc"
	Runsc  Kind = "runsc"
	Magawa Kind = "magawa"
)

// Runtime is one column of the results: a runtime binary on one of its
// platforms, with the flags that choose them.
type Runtime struct {
	Name     string // the column's heading: "runsc-current systrap"
	Kind     Kind
	Build    string // for runsc: "debian" or "current"
	Platform string // for runsc and magawa
	HostNet  bool   // magawa --network=host: runs only the network cases
	Bin      string
	Version  string
	// Sandbox is "vm" for magawa --sandbox=vm, a QEMU micro-VM per
	// container: it runs only the cases with Case.VM set.
	Sandbox string
	// VMKernel and VMInitrd are the VM sandbox's guest image, passed
	// explicitly: the workspace's copy of magawa is not next to the
	// checkout's .cache/vm, where magawa would look by itself.
	VMKernel, VMInitrd string
	// Skip says why the runtime does not run at all (not installed, not
	// built); empty when it runs.
	Skip string
	// NoVeth says why it cannot serve across the veth; empty when it can.
	NoVeth string

	state string // its --root: a directory of this run's workspace
}

// Discovery tells Discover where the runtimes are.
type Discovery struct {
	Magawa string // magawa's binary
	// MagawaPlatforms overrides the platforms the binary says it has.
	MagawaPlatforms []string
	// RunscDebian is the runsc installed on the host (Debian's 2022
	// build); empty: looked up in PATH.
	RunscDebian string
	// RunscCurrent is the current gVisor build (see BuildRunsc); empty,
	// with RunscCurrentErr, when it could not be had.
	RunscCurrent    string
	RunscCurrentErr error
	RunscVersion    string // the module version RunscCurrent was built from
	// Select keeps the runtimes whose names match; nil keeps all.
	Select *regexp.Regexp
	// VMImage is the directory of the VM sandbox's guest image (make
	// vm-image: .cache/vm); empty: no "magawa vm" runtime.
	VMImage string
	// KVM adds runsc's kvm platform. Not by default: /dev/kvm can be
	// there and take KVM_CREATE_VM on machines where runsc's KVM
	// platform still cannot start (nested virtualization), and Debian's
	// then hangs.
	KVM bool
}

// Discover lists the runtimes, in the order of the table's columns:
// native, runc, each runsc build on each of its platforms, magawa on each
// of its platforms, then magawa's host-network variants.
func Discover(ctx context.Context, d Discovery) []*Runtime {
	rts := []*Runtime{{Name: "native", Kind: Native, Version: "Linux " + readTrim("/proc/sys/kernel/osrelease")}}

	runc := &Runtime{Name: "runc", Kind: Runc}
	if p, err := exec.LookPath("runc"); err != nil {
		runc.Skip = "runc is not installed (apt-get install runc)"
	} else {
		runc.Bin, runc.Version = p, firstLine(ctx, p, "--version")
	}
	rts = append(rts, runc)

	kvm := d.KVM
	debian := d.RunscDebian
	if debian == "" {
		debian, _ = exec.LookPath("runsc")
	}
	// Debian's runsc has ptrace and KVM. Its --network=sandbox cannot work
	// on these kernels: it checks whether it left the host's namespace
	// through /proc/self/ns/net, which names the thread group leader's
	// namespace, not the thread's that joined the container's, and so
	// refuses with "cannot run with network enabled in root network
	// namespace". It runs with --network=none (its own loopback).
	for _, platform := range platforms([]string{"ptrace"}, kvm) {
		rt := &Runtime{Name: "runsc-debian " + platform, Kind: Runsc, Build: "debian", Platform: platform,
			NoVeth: "Debian's 2022 runsc refuses --network=sandbox here (\"cannot run with network enabled in root network namespace\")"}
		if debian == "" {
			rt.Skip = "runsc is not installed (apt-get install runsc)"
		} else {
			rt.Bin, rt.Version = debian, firstLine(ctx, debian, "--version")
		}
		rts = append(rts, rt)
	}
	for _, platform := range platforms([]string{"systrap", "ptrace"}, kvm) {
		rt := &Runtime{Name: "runsc-current " + platform, Kind: Runsc, Build: "current", Platform: platform,
			Bin: d.RunscCurrent, Version: "gvisor.dev/gvisor " + d.RunscVersion}
		switch {
		case d.RunscCurrentErr != nil:
			rt.Skip = "not built: " + d.RunscCurrentErr.Error()
		case d.RunscCurrent == "":
			rt.Skip = "not built (-build-runsc=false and no build in the cache)"
		}
		rts = append(rts, rt)
	}

	magawaPlatforms := d.MagawaPlatforms
	magawaSkip, magawaVersion := "", ""
	if _, err := os.Stat(d.Magawa); err != nil {
		magawaSkip = fmt.Sprintf("no magawa binary: %v (make build)", err)
	} else {
		magawaVersion = firstLine(ctx, d.Magawa, "--version")
		if len(magawaPlatforms) == 0 {
			magawaPlatforms = magawaPlatformsOf(ctx, d.Magawa)
		}
	}
	if len(magawaPlatforms) == 0 {
		magawaPlatforms = []string{"ptrace"}
	}
	for _, hostNet := range []bool{false, true} {
		for _, platform := range magawaPlatforms {
			rt := &Runtime{Name: "magawa " + platform, Kind: Magawa, Platform: platform, HostNet: hostNet,
				Bin: d.Magawa, Version: magawaVersion, Skip: magawaSkip}
			if hostNet {
				rt.Name += " host-net"
			}
			rts = append(rts, rt)
		}
	}

	if d.VMImage != "" {
		rts = append(rts, discoverVM(ctx, d, magawaVersion, magawaSkip))
	}

	var kept []*Runtime
	for _, rt := range rts {
		if d.Select == nil || d.Select.MatchString(rt.Name) {
			kept = append(kept, rt)
		}
	}
	return kept
}

// discoverVM is the "magawa vm" runtime: magawa --sandbox=vm, skipped
// when QEMU or the guest image is missing.
func discoverVM(ctx context.Context, d Discovery, magawaVersion, magawaSkip string) *Runtime {
	rt := &Runtime{Name: "magawa vm", Kind: Magawa, Sandbox: "vm", Bin: d.Magawa, Skip: magawaSkip,
		VMKernel: filepath.Join(d.VMImage, "kernel"), VMInitrd: filepath.Join(d.VMImage, "initramfs.img")}
	if rt.Skip != "" {
		return rt
	}
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		rt.Skip = "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
		return rt
	}
	for _, p := range []string{rt.VMKernel, rt.VMInitrd} {
		if _, err := os.Stat(p); err != nil {
			rt.Skip = fmt.Sprintf("no VM image: %v (make vm-image)", err)
			return rt
		}
	}
	rt.Version = fmt.Sprintf("%s; %s, %s", magawaVersion, firstLine(ctx, qemu, "--version"), vmAccel())
	return rt
}

// vmAccel says which accelerator magawa's default (--vm-accel) picks
// here: KVM when /dev/kvm opens and the CPU has VMX or SVM, else TCG,
// whose boots take seconds.
func vmAccel() string {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err == nil {
		f.Close()
		if cpu, _ := os.ReadFile("/proc/cpuinfo"); regexp.MustCompile(`\b(vmx|svm)\b`).Match(cpu) {
			return "KVM"
		}
	}
	return "TCG (no KVM)"
}

// platforms is the list of a runsc build's platforms to run: KVM only
// when asked for.
func platforms(base []string, kvm bool) []string {
	if kvm {
		return append(base, "kvm")
	}
	return base
}

// magawaPlatformsOf asks the binary which platforms it has: it names
// them when refusing an unknown one ("have [ptrace]").
func magawaPlatformsOf(ctx context.Context, bin string) []string {
	out, _ := exec.CommandContext(ctx, bin, "--platform=?", "--network=none", "do", "--", "/bin/true").CombinedOutput()
	m := regexp.MustCompile(`have \[([^\]]*)\]`).FindSubmatch(out)
	if m == nil {
		return nil
	}
	return strings.Fields(string(m[1]))
}

// global is the runtime's flags before the verb for a container.
func (rt *Runtime) global() []string {
	args := []string{"--root", rt.state}
	switch rt.Kind {
	case Runsc:
		args = append(args, "--platform="+rt.Platform)
		if rt.Build == "debian" {
			args = append(args, "--network=none")
		}
	case Magawa:
		if rt.Sandbox == "vm" {
			return append(args, "--sandbox=vm", "--vm-kernel", rt.VMKernel, "--vm-initrd", rt.VMInitrd)
		}
		args = append(args, "--platform="+rt.Platform)
		if rt.HostNet {
			args = append(args, "--network=host")
		}
	}
	return args
}

// doArgv is the command line that runs prog with `do` (runsc and
// magawa), with loopback only: runsc's do otherwise sets up a veth and
// NAT of its own, as magawa's does as root, which is not what either's
// start-up is compared on.
func (rt *Runtime) doArgv(prog ...string) []string {
	switch rt.Kind {
	case Runsc:
		return append([]string{rt.Bin, "--root", rt.state, "--platform=" + rt.Platform, "--network=none", "do"}, prog...)
	case Magawa:
		return append([]string{rt.Bin, "--platform=" + rt.Platform, "--network=none", "do", "--"}, prog...)
	}
	return nil
}

// isContainer says whether the runtime runs OCI bundles.
func (rt *Runtime) isContainer() bool { return rt.Kind != Native }

func firstLine(ctx context.Context, bin string, args ...string) string {
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return "unknown (" + err.Error() + ")"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func readTrim(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// setStateDirs gives each container runtime its own --root inside dir.
func setStateDirs(rts []*Runtime, dir string) error {
	for _, rt := range rts {
		if !rt.isContainer() {
			continue
		}
		rt.state = filepath.Join(dir, strings.ReplaceAll(rt.Name, " ", "-"))
		if err := os.MkdirAll(rt.state, 0o700); err != nil {
			return err
		}
	}
	return nil
}
