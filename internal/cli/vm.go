package cli

import (
	"errors"
	"flag"
	"fmt"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"magawa/internal/boot"
	"magawa/internal/container"
	"magawa/internal/network"
	"magawa/internal/sandbox"
	"magawa/internal/vm"
)

// Kinds of sandbox (--sandbox).
const (
	sandboxKernel = "kernel"
	sandboxVM     = "vm"
)

func init() {
	register(command{
		name:    vm.VerbName,
		summary: "be a VM sandbox's supervisor (run by magawa itself)",
		hidden:  true,
		run:     func(g *globalFlags, args []string) int { return vm.Main(args) },
	})
}

// vmFlags are the global flags of --sandbox=vm.
type vmFlags struct {
	kernel, initrd, qemu string
	machine, accel       string
	bootTimeout          time.Duration
	cmdline              string
	noJail               bool
}

func (f *vmFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.kernel, "vm-kernel", "", "--sandbox=vm: the guest kernel (default: the image `make vm-image` builds)")
	fs.StringVar(&f.initrd, "vm-initrd", "", "--sandbox=vm: the guest's initramfs, with magawa-agent as /init (default: the image `make vm-image` builds)")
	fs.StringVar(&f.qemu, "vm-qemu", "", "--sandbox=vm: the QEMU executable (default: qemu-system-x86_64 in PATH)")
	fs.StringVar(&f.machine, "vm-machine", "", "--sandbox=vm: QEMU's machine, microvm (the default) or q35")
	fs.StringVar(&f.accel, "vm-accel", "", "--sandbox=vm: kvm or tcg (default: kvm when /dev/kvm is usable)")
	fs.DurationVar(&f.bootTimeout, "vm-boot-timeout", vm.DefaultBootTimeout, "--sandbox=vm: how long the guest's agent may take to answer")
	fs.StringVar(&f.cmdline, "vm-cmdline", "", "--sandbox=vm: added to the guest kernel's command line")
	fs.BoolVar(&f.noJail, "vm-no-jail", false, "--sandbox=vm: run QEMU without its chroot jail (debugging)")
}

// config resolves the VM's side: QEMU, the image, the accelerator,
// each checked so that a missing one is named before anything starts.
func (f *vmFlags) config(debugLog string) (*vm.VMConfig, error) {
	c := &vm.VMConfig{
		QEMU: f.qemu, Kernel: f.kernel, Initrd: f.initrd,
		Machine: f.machine, Accel: f.accel, BootTimeout: f.bootTimeout,
		Cmdline: f.cmdline, DebugLog: debugLog, NoJail: f.noJail,
	}
	if err := c.Resolve(); err != nil {
		return nil, err
	}
	return c, nil
}

// vmLaunchOptions makes opts launch a VM sandbox's supervisor (`magawa
// vm-boot`) with the bundle's translation and the VM's settings,
// sized from the bundle's limits; podDir, when set, is the pod's share.
func vmLaunchOptions(opts *boot.Options, vmc *vm.VMConfig, spec *specs.Spec, bundle, id, stateDir, podDir string) error {
	payload, err := vm.FromSpec(spec, bundle, id, stateDir)
	if err != nil {
		return err
	}
	payload.PodDir = podDir
	size := payload.VM
	payload.VM = *vmc
	payload.VM.MemoryMiB, payload.VM.CPUs = size.MemoryMiB, size.CPUs
	if opts.Config.Network == sandbox.NetworkSandbox {
		payload.Tap = vm.TapName(id)
	}
	opts.Verb, opts.Payload = vm.VerbName, payload
	return nil
}

// attachVMNetwork joins the Ethernet interface of the VM sandbox's
// network namespace (a veth the hooks or the engine set up) to the tap
// its supervisor made for the VM's NIC, and has the supervisor give the
// guest's NIC the interface's MAC address, addresses and routes. A
// namespace whose interface another VM sandbox already serves (a pod's
// second container) leaves this one with loopback only.
func (g *globalFlags) attachVMNetwork(c *container.Container, pid int) error {
	cfg, err := network.RedirectToTap(pid, vm.TapName(c.ID))
	if errors.Is(err, network.ErrServed) {
		g.logf("warning", "the container's network: %v: the VM sandbox has loopback only", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("the container's network: %w", err)
	}
	if len(cfg.Links) == 0 {
		return nil
	}
	if err := c.Client().AttachNetwork(cfg, nil); err != nil {
		return fmt.Errorf("the container's network: %w", err)
	}
	return nil
}
