package sandbox

import (
	"fmt"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/dev"
	"magawa/kernel/fs/devpts"
	"magawa/kernel/fs/hostfs"
	"magawa/kernel/fs/overlay"
	"magawa/kernel/fs/proc"
	"magawa/kernel/fs/sys"
	"magawa/kernel/fs/tmpfs"
	"magawa/kernel/ipc/pipe"
	"magawa/kernel/kernel"
	"magawa/kernel/memfile"
	"magawa/kernel/syscalls"
	"magawa/kernel/vfs"
)

// fileSystems is the sandbox's file system layer as built at start.
type fileSystems struct {
	vfs    *vfs.VFS
	mounts *vfs.MountNamespace
	// release undoes what was started (the gofer).
	release func()
}

// mountSpec is one mount a container sees at start, as an OCI bundle's
// mounts list them.
type mountSpec struct {
	target string
	fsType string
	flags  uint32
	data   string
}

// containerMounts are the mounts every container gets, as runc's default
// spec makes them.
var containerMounts = []mountSpec{
	{"/proc", "proc", vfs.MountNoSuid | vfs.MountNoDev | vfs.MountNoExec, ""},
	{"/sys", "sysfs", vfs.MountNoSuid | vfs.MountNoDev | vfs.MountNoExec | vfs.MountReadOnly, ""},
	{"/dev", "tmpfs", vfs.MountNoSuid, "mode=755,size=65536k"},
	{"/dev/pts", "devpts", vfs.MountNoSuid | vfs.MountNoExec, "newinstance,ptmxmode=0666,mode=0620,gid=5"},
	{"/dev/shm", "tmpfs", vfs.MountNoSuid | vfs.MountNoDev | vfs.MountNoExec, "mode=1777,size=65536k"},
}

// /tmp stays the root's: over the overlay it is writable (in memory)
// and still shows the host's files, which `magawa do` users run
// programs from.

// newFileSystems builds the VFS of a `magawa do` sandbox: the host
// directory rootDir as the root, and the container mounts over it.
func newFileSystems(mf *memfile.File, rootDir string) (*fileSystems, error) {
	v := vfs.New()
	v.RegisterFileSystemType("tmpfs", func(ctx *vfs.Context, source string, flags uint32, data string) (vfs.FileSystem, error) {
		opts, err := tmpfs.ParseOptions(data)
		if err != nil {
			return nil, err
		}
		return tmpfs.New(mf, opts), nil
	})
	v.SetFIFOOpener(pipe.NewFIFOs().Open)
	lower, err := hostfs.New(rootDir)
	if err != nil {
		return nil, err
	}
	// The image below, read-only; writes go to memory above it.
	root, err := overlay.New(lower, tmpfs.New(mf, tmpfs.Options{Mode: 0o755}))
	if err != nil {
		lower.Close()
		return nil, err
	}
	ns := v.NewMountNamespace(root, "overlay", 0)
	return &fileSystems{vfs: v, mounts: ns, release: func() {}}, nil
}

// mountContainerFileSystems makes the mounts every container has, once
// the kernel exists (proc describes it).
func (fss *fileSystems) mountContainerFileSystems(k *kernel.Kernel) error {
	fss.vfs.RegisterFileSystemType("proc", func(ctx *vfs.Context, source string, flags uint32, data string) (vfs.FileSystem, error) {
		return proc.New(k, proc.Options{Release: syscalls.KernelRelease, Version: syscalls.KernelVersion}), nil
	})
	fss.vfs.RegisterFileSystemType("sysfs", func(ctx *vfs.Context, source string, flags uint32, data string) (vfs.FileSystem, error) {
		return sys.New(sys.Options{NumCPU: kernel.NumCPU()}), nil
	})
	// One devpts instance serves every devpts mount: pty numbers are the
	// sandbox's.
	pts := devpts.New(fss.vfs, k, devpts.ContainerOptions())
	dev.Register(fss.vfs, pts)
	fss.vfs.RegisterFileSystemType("devpts", func(ctx *vfs.Context, source string, flags uint32, data string) (vfs.FileSystem, error) {
		return pts, nil
	})
	root := fss.mounts.Root()
	ctx := &vfs.Context{Creds: &vfs.RootCreds, Root: root, Cwd: root}
	for _, m := range containerMounts {
		if err := fss.mount(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// mount makes one container mount, creating the mount point in a
// writable parent (/dev/pts in /dev's tmpfs) when it is missing.
func (fss *fileSystems) mount(ctx *vfs.Context, m mountSpec) error {
	v := fss.vfs
	make, ok := v.FileSystemTypeByName(m.fsType)
	if !ok {
		return nil // not offered yet
	}
	target, err := v.Resolve(ctx, ctx.Root, m.target, vfs.ResolveDirectory)
	if err == unix.ENOENT {
		if err := v.Mkdir(ctx, ctx.Root, m.target, 0o755); err != nil {
			return fmt.Errorf("making mount point %s: %w", m.target, err)
		}
		target, err = v.Resolve(ctx, ctx.Root, m.target, vfs.ResolveDirectory)
	}
	if err != nil {
		return fmt.Errorf("mount point %s: %w", m.target, err)
	}
	fs, err := make(ctx, m.fsType, m.flags, m.data)
	if err != nil {
		return fmt.Errorf("mounting %s on %s: %w", m.fsType, m.target, err)
	}
	if m.target == "/dev" {
		// Populated before it is mounted: the VFS caches what it looks up.
		if err := dev.Populate(ctx, fs.Root().(vfs.DirInode), dev.PopulateOptions{}); err != nil {
			return fmt.Errorf("populating /dev: %w", err)
		}
	}
	_, err = v.Mount(ctx, target, fs, m.fsType, m.flags)
	return err
}
