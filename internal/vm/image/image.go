package image

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// DefaultKernelPackage is the Debian package the guest kernel comes
// from when Options.KernelPackage is empty.
//
// Debian 12's linux-image-cloud-amd64 has no 9p (CONFIG_NET_9P is not
// set) and Debian 12 has no virtiofsd, so a guest on the cloud kernel
// cannot see the container's root file system; the generic kernel has
// both 9p and virtiofs as modules. See docs/vm.md.
const DefaultKernelPackage = "linux-image-amd64"

// Module groups say when the agent loads a module: the initramfs's
// list (ModulesList) has a group and a file name a line.
const (
	// GroupBoot modules are loaded at boot: virtio-mmio (microvm's
	// devices), the virtio-serial port, overlay.
	GroupBoot = "boot"
	// GroupPCI modules are loaded at boot on a machine with PCI
	// devices (q35's virtio-pci).
	GroupPCI = "pci"
	// Group9P modules are loaded at boot: virtio-9p, the shares.
	Group9P = "9p"
	// GroupVirtiofs modules are loaded before the first virtio-fs
	// share is mounted.
	GroupVirtiofs = "virtiofs"
	// GroupVsock modules are for hosts with vhost-vsock (not used
	// yet).
	GroupVsock = "vsock"
	// GroupNet modules are loaded at boot when the VM has a virtio-net
	// device (the container's network, --network=sandbox).
	GroupNet = "net"
)

// moduleGroups are the modules the agent needs, by group and name;
// those the kernel has built in are skipped. Each found is put in the
// initramfs with the modules it depends on (in the group of the first
// that needs it), in an order that loads each after its dependencies.
var moduleGroups = []struct {
	group    string
	modules  []string
	required bool
}{
	// Without these the agent cannot talk to the host or keep the
	// image unmodified.
	{GroupBoot, []string{"virtio_mmio", "virtio_console", "overlay"}, true},
	{GroupPCI, []string{"virtio_pci"}, true},
	// One of these two must be there, for the root file system.
	{Group9P, []string{"9pnet_virtio", "9p"}, false},
	{GroupVirtiofs, []string{"virtiofs"}, false},
	{GroupVsock, []string{"vmw_vsock_virtio_transport"}, false},
	// Without it the VM has loopback only.
	{GroupNet, []string{"virtio_net"}, false},
}

// Options say what Build makes.
type Options struct {
	// Dir is the cache directory: downloaded packages, unpacked
	// kernels and the image (Kernel, Initramfs) are kept there.
	Dir string
	// KernelPackage is the Debian package of the kernel: a
	// metapackage (linux-image-amd64) is resolved to the image package
	// it depends on. Empty: DefaultKernelPackage.
	KernelPackage string
	// Agent is the static magawa-agent binary, the initramfs's /init.
	Agent string
	// Uncompressed writes the initramfs as a plain cpio archive,
	// which a guest without KVM unpacks faster than it inflates gzip.
	Uncompressed bool
	// Log receives progress lines (nil: none).
	Log io.Writer
}

// Image is a built guest image.
type Image struct {
	Kernel string // the kernel: an ELF vmlinux with a PVH entry, or a bzImage
	// PVH says Kernel is the ELF vmlinux, booted through its PVH entry
	// point (no decompression in the guest).
	PVH           bool
	Initramfs     string // the initramfs: the agent as /init, modules
	KernelVersion string // uname -r of the kernel
	Package       string // the Debian package it came from
	Modules       []string
}

// Names of the image's files in Options.Dir.
const (
	KernelName    = "kernel"
	InitramfsName = "initramfs.img"
)

// Build downloads (with apt-get download) and unpacks (with dpkg-deb
// -x) the kernel package unless its cache has it, then writes the
// kernel and an initramfs holding the agent as /init and the modules
// it needs into opts.Dir.
func Build(opts Options) (*Image, error) {
	if opts.Dir == "" || opts.Agent == "" {
		return nil, errors.New("vm image: a cache directory and the agent binary are needed")
	}
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", args...)
		}
	}
	agent, err := os.ReadFile(opts.Agent)
	if err != nil {
		return nil, fmt.Errorf("vm image: the agent: %w", err)
	}
	if err := checkStatic(opts.Agent); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	pkg := opts.KernelPackage
	if pkg == "" {
		pkg = DefaultKernelPackage
	}
	tree, err := unpackedKernel(dir, pkg, logf)
	if err != nil {
		return nil, err
	}
	kernel, version, err := findKernel(tree)
	if err != nil {
		return nil, err
	}
	mods, err := loadModuleTree(filepath.Join(tree, "lib", "modules", version))
	if err != nil {
		return nil, err
	}
	order, err := pickModules(mods, logf)
	if err != nil {
		return nil, err
	}
	img := &Image{
		Kernel:        filepath.Join(dir, KernelName),
		Initramfs:     filepath.Join(dir, InitramfsName),
		KernelVersion: version,
		Package:       filepath.Base(tree),
	}
	for _, m := range order {
		img.Modules = append(img.Modules, m.name)
	}
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	if !opts.Uncompressed {
		zw, _ = gzip.NewWriterLevel(&buf, gzip.BestCompression)
		w = zw
	}
	if err := writeInitramfs(w, agent, mods, order, version); err != nil {
		return nil, err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return nil, err
		}
	}
	if err := writeFileAtomic(img.Initramfs, buf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	kdata, err := os.ReadFile(kernel)
	if err != nil {
		return nil, err
	}
	if vmlinux, err := extractVmlinux(kdata); err != nil {
		logf("vm image: booting the bzImage: %v", err)
	} else {
		kdata, img.PVH = vmlinux, true
	}
	if err := writeFileAtomic(img.Kernel, kdata, 0o644); err != nil {
		return nil, err
	}
	logf("vm image: %s (%s, from %s, PVH %v) and %s (%d KiB, modules: %s)", img.Kernel, version, img.Package,
		img.PVH, img.Initramfs, buf.Len()/1024, strings.Join(img.Modules, " "))
	return img, nil
}

// pickModules resolves the modules the agent needs in the kernel's tree.
func pickModules(mods *moduleTree, logf func(string, ...any)) ([]module, error) {
	var order []module
	sharing := false
	for _, g := range moduleGroups {
		o, missing, err := mods.resolve(g.modules)
		if err != nil {
			return nil, err
		}
		if len(missing) > 0 {
			if g.required {
				return nil, fmt.Errorf("vm image: the kernel has neither built in nor as modules: %s", strings.Join(missing, ", "))
			}
			logf("vm image: the kernel lacks %s", strings.Join(missing, ", "))
			continue
		}
		for i := range o {
			o[i].group = g.group
		}
		order = appendModules(order, o)
		if g.group == Group9P || g.group == GroupVirtiofs {
			sharing = true
		}
	}
	if !sharing {
		return nil, errors.New("vm image: the kernel has neither 9p (9p, 9pnet_virtio) nor virtiofs: the guest could not see the container's files")
	}
	return order, nil
}

// appendModules adds the modules of more not yet in order, keeping
// more's order (which has each module after its dependencies).
func appendModules(order, more []module) []module {
	have := map[string]bool{}
	for _, m := range order {
		have[m.name] = true
	}
	for _, m := range more {
		if !have[m.name] {
			have[m.name] = true
			order = append(order, m)
		}
	}
	return order
}

// ModulesList is the initramfs's list of modules for the agent to
// load, a group and a file name (in ModulesDir) a line, in order.
const (
	ModulesDir  = "lib/modules"
	ModulesList = "lib/modules/load"
)

// writeInitramfs writes the archive: the directories the agent mounts
// on, /dev/console (the kernel opens it for init's stdio before any
// devtmpfs is mounted), the agent as /init and the modules.
func writeInitramfs(w io.Writer, agent []byte, mods *moduleTree, order []module, version string) error {
	cw := NewCPIOWriter(w)
	for _, d := range []string{"dev", "proc", "sys", "run", "tmp", "mnt", "lib", ModulesDir} {
		cw.Dir(d, 0o755)
	}
	cw.CharDevice("dev/console", 0o600, 5, 1)
	cw.File("init", 0o755, agent)
	var list strings.Builder
	for _, m := range order {
		data, err := os.ReadFile(filepath.Join(mods.dir, m.path))
		if err != nil {
			return err
		}
		name := m.name + ".ko"
		cw.File(ModulesDir+"/"+name, 0o644, data)
		list.WriteString(m.group + " " + name + "\n")
	}
	cw.File(ModulesList, 0o644, []byte(list.String()))
	cw.File("etc/magawa-kernel", 0o644, []byte(version+"\n"))
	return cw.Close()
}

// unpackedKernel returns the directory of the kernel package unpacked
// in dir/unpacked, downloading and unpacking it first when needed.
func unpackedKernel(dir, pkg string, logf func(string, ...any)) (string, error) {
	name, err := resolvePackage(pkg)
	if err != nil {
		// Offline, or apt's lists are gone: a kernel unpacked before
		// still serves.
		if cached := cachedKernels(dir); len(cached) > 0 {
			logf("vm image: %v; using the unpacked %s", err, filepath.Base(cached[len(cached)-1]))
			return cached[len(cached)-1], nil
		}
		return "", err
	}
	tree := filepath.Join(dir, "unpacked", name)
	if _, err := os.Stat(filepath.Join(tree, ".unpacked")); err == nil {
		return tree, nil
	}
	debs := filepath.Join(dir, "deb")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return "", err
	}
	deb, err := findDeb(debs, name)
	if err != nil {
		return "", err
	}
	if deb == "" {
		logf("vm image: apt-get download %s", name)
		cmd := exec.Command("apt-get", "download", name)
		cmd.Dir = debs
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("vm image: apt-get download %s: %v: %s", name, err, lastLines(out, 5))
		}
		if deb, err = findDeb(debs, name); err != nil {
			return "", err
		}
		if deb == "" {
			return "", fmt.Errorf("vm image: apt-get download %s left no package in %s", name, debs)
		}
	}
	logf("vm image: dpkg-deb -x %s", filepath.Base(deb))
	tmp := tree + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	if out, err := exec.Command("dpkg-deb", "-x", deb, tmp).CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("vm image: dpkg-deb -x %s: %v: %s", deb, err, lastLines(out, 5))
	}
	if err := os.WriteFile(filepath.Join(tmp, ".unpacked"), nil, 0o644); err != nil {
		return "", err
	}
	os.RemoveAll(tree)
	if err := os.Rename(tmp, tree); err != nil {
		return "", err
	}
	return tree, nil
}

// imagePackage matches the name of a kernel image package (rather than
// a metapackage that depends on one).
var imagePackage = regexp.MustCompile(`^linux-image-[0-9]+\.[0-9]+.*`)

// resolvePackage turns a metapackage (linux-image-amd64) into the
// image package it depends on (linux-image-6.1.0-57-amd64), as apt's
// candidate version has it.
func resolvePackage(pkg string) (string, error) {
	if imagePackage.MatchString(pkg) {
		return pkg, nil
	}
	out, err := exec.Command("apt-cache", "depends", "--no-recommends", "--no-suggests", pkg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("vm image: apt-cache depends %s: %v: %s", pkg, err, lastLines(out, 3))
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "Depends:" && imagePackage.MatchString(f[1]) {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("vm image: %s depends on no linux-image package (apt-get update?): %s", pkg, lastLines(out, 5))
}

func findDeb(dir, name string) (string, error) {
	m, err := filepath.Glob(filepath.Join(dir, name+"_*.deb"))
	if err != nil || len(m) == 0 {
		return "", err
	}
	sort.Strings(m)
	return m[len(m)-1], nil
}

func cachedKernels(dir string) []string {
	var out []string
	m, _ := filepath.Glob(filepath.Join(dir, "unpacked", "linux-image-*"))
	for _, d := range m {
		if _, err := os.Stat(filepath.Join(d, ".unpacked")); err == nil {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

// findKernel finds the kernel image and its version in an unpacked
// package.
func findKernel(tree string) (string, string, error) {
	m, _ := filepath.Glob(filepath.Join(tree, "boot", "vmlinuz-*"))
	if len(m) != 1 {
		return "", "", fmt.Errorf("vm image: want one boot/vmlinuz-* in %s, found %d", tree, len(m))
	}
	version := strings.TrimPrefix(filepath.Base(m[0]), "vmlinuz-")
	if _, err := os.Stat(filepath.Join(tree, "lib", "modules", version)); err != nil {
		return "", "", fmt.Errorf("vm image: the kernel's modules: %w", err)
	}
	return m[0], version, nil
}

// checkStatic refuses an agent that needs a dynamic linker: the
// initramfs has none.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("vm image: the agent %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("vm image: the agent %s is dynamically linked: build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// lastLines returns the last n lines of out, trimmed.
func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
