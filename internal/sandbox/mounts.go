package sandbox

import (
	"fmt"
	"os"
	"path"

	"golang.org/x/sys/unix"

	"magawa/internal/gofer"
	"magawa/kernel/fs/dev"
	"magawa/kernel/fs/devpts"
	goferfs "magawa/kernel/fs/gofer"
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
	// client talks to the gofer; volumes are mounted after the
	// container's own mounts, as runc orders them.
	client  *goferfs.Client
	volumes []Volume
	// mounts are an OCI container's (Config.Mounts), nil for `magawa do`;
	// exports maps each of their bind mounts to its gofer export.
	ociMounts []Mount
	exports   map[int]int
	// masked and readonly are the OCI masked and read-only paths.
	masked, readonly []string
	rootReadOnly     bool
	ociDevices       []Device

	// console makes /dev/console: the program runs on a terminal of the
	// sandbox. Set before mountContainerFileSystems.
	console bool
	// joined: a container that joins a running (confined) sandbox,
	// whose mounts say what their sources are.
	joined bool
	// pts is the sandbox's devpts instance and devices its registered
	// devices, once mountContainerFileSystems made them.
	pts     *devpts.FS
	devices *dev.Devices
}

// mountSpec is one mount a container sees at start, as an OCI bundle's
// mounts list them.
type mountSpec struct {
	target string
	fsType string
	flags  uint32
	data   string
	// source is what mountinfo shows (an OCI mount's source); empty
	// is the type's name.
	source string
}

// containerMounts are the mounts every container gets, as runc's default
// spec makes them.
var containerMounts = []mountSpec{
	{"/proc", "proc", vfs.MountNoSuid | vfs.MountNoDev | vfs.MountNoExec, "", "proc"},
	{"/sys", "sysfs", vfs.MountNoSuid | vfs.MountNoDev | vfs.MountNoExec | vfs.MountReadOnly, "", "sysfs"},
	{"/dev", "tmpfs", vfs.MountNoSuid, "mode=755,size=65536k", "tmpfs"},
	{"/dev/pts", "devpts", vfs.MountNoSuid | vfs.MountNoExec, "newinstance,ptmxmode=0666,mode=0620,gid=5", "devpts"},
	{"/dev/shm", "tmpfs", vfs.MountNoSuid | vfs.MountNoDev | vfs.MountNoExec, "mode=1777,size=65536k", "shm"},
}

// /tmp stays the root's: over the overlay it is writable (in memory)
// and still shows the host's files, which `magawa do` users run
// programs from.

// Volume is a host file or directory bind-mounted into the sandbox
// (`magawa do --volume HOST:TARGET[:ro]`), served by the gofer.
type Volume struct {
	HostPath string
	Target   string
	ReadOnly bool
	// file, when known says the host path is a file; unknown, the
	// host path is looked at (sourceKnown).
	file, sourceKnown bool
}

// GoferExports are the host trees the gofer of a container serves, in
// the order its client names them: the root, `magawa do`'s volumes,
// then each bind mount of the configuration (the map gives a mount's
// export by its index in cfg.Mounts). The runtime starts the gofer of
// a container that joins a pod's sandbox (AddContainer) with them.
func GoferExports(cfg *Config) ([]gofer.Export, map[int]int) {
	exports := []gofer.Export{{Path: cfg.RootDir, ReadOnly: !cfg.NoOverlay}}
	for _, vol := range cfg.Volumes {
		exports = append(exports, gofer.Export{Path: vol.HostPath, ReadOnly: vol.ReadOnly})
	}
	bindExports := map[int]int{}
	for i, m := range cfg.Mounts {
		if m.Type == "bind" {
			bindExports[i] = len(exports)
			exports = append(exports, gofer.Export{Path: m.Source, ReadOnly: m.Flags&vfs.MountReadOnly != 0})
		}
	}
	return exports, bindExports
}

// newFileSystems builds the VFS of a `magawa do` sandbox: the host
// directory rootDir, served by a confined gofer process, as the root —
// read-only under an overlay whose writes stay in memory, or written
// through with overlayRoot false — and the volumes.
func newFileSystems(mf *memfile.File, cfg *Config) (fss *fileSystems, err error) {
	rootDir, overlayRoot, volumes := cfg.RootDir, !cfg.NoOverlay, cfg.Volumes
	v := vfs.New()
	v.RegisterFileSystemType("tmpfs", func(ctx *vfs.Context, source string, flags uint32, data string) (vfs.FileSystem, error) {
		opts, err := tmpfs.ParseOptions(data)
		if err != nil {
			return nil, err
		}
		return tmpfs.New(mf, opts), nil
	})
	v.SetFIFOOpener(pipe.NewFIFOs().Open)

	exports, bindExports := GoferExports(cfg)
	g, err := gofer.Start(gofer.Config{Exports: exports, Stderr: os.Stderr})
	if err != nil {
		return nil, fmt.Errorf("starting the gofer: %w", err)
	}
	uids, gids, err := cfg.idMaps()
	if err != nil {
		g.Close()
		return nil, err
	}
	client, err := g.Client(goferfs.ClientOptions{MemoryFile: mf, UIDMap: uids, GIDMap: gids})
	if err != nil {
		g.Close()
		return nil, err
	}
	release := func() {
		client.Close()
		g.Wait()
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	image, err := client.Mount(0, goferfs.MountOptions{})
	if err != nil {
		return nil, err
	}
	var root vfs.FileSystem = image
	source := rootDir
	if overlayRoot {
		// The image below, read-only; writes go to memory above it.
		upper := tmpfs.DefaultOptions()
		upper.Mode = 0o755
		if root, err = overlay.New(image, tmpfs.New(mf, upper)); err != nil {
			return nil, err
		}
		source = "overlay"
	}
	ns := v.NewMountNamespace(root, source, 0)
	return &fileSystems{
		vfs: v, mounts: ns, release: release, client: client, volumes: volumes,
		ociMounts: cfg.Mounts, exports: bindExports,
		masked: cfg.MaskedPaths, readonly: cfg.ReadonlyPaths, rootReadOnly: cfg.RootReadOnly,
		ociDevices: cfg.Devices,
	}, nil
}

// mountVolume bind-mounts gofer export n at vol.Target, making the
// target (a directory, or an empty file for a file volume) when the
// root lacks it.
func (fss *fileSystems) mountVolume(ctx *vfs.Context, client *goferfs.Client, n int, vol Volume) error {
	var flags uint32
	if vol.ReadOnly {
		flags = vfs.MountReadOnly
	}
	return fss.mountExport(ctx, client, n, vol, flags)
}

// mountExport bind-mounts gofer export n, the host file or directory
// vol.HostPath, at vol.Target with flags.
func (fss *fileSystems) mountExport(ctx *vfs.Context, client *goferfs.Client, n int, vol Volume, flags uint32) error {
	v := fss.vfs
	fs, err := client.Mount(n, goferfs.MountOptions{})
	if err != nil {
		return fmt.Errorf("volume %s: %w", vol.HostPath, err)
	}
	isDir := !vol.file
	if !vol.sourceKnown {
		st, err := os.Stat(vol.HostPath)
		if err != nil {
			return fmt.Errorf("volume %s: %w", vol.HostPath, err)
		}
		isDir = st.IsDir()
	}
	if isDir {
		target, err := fss.mountPoint(ctx, vol.Target, true)
		if err != nil {
			return err
		}
		m, err := v.Mount(ctx, target, fs, vol.HostPath, flags)
		if err == nil {
			m.SetRootName(vol.HostPath)
		}
		return err
	}
	// A file volume: the gofer serves a directory holding only the file;
	// its one entry is bind-mounted onto the target file.
	target, err := fss.mountPoint(ctx, vol.Target, false)
	if err != nil {
		return err
	}
	tmp := v.NewMountNamespace(fs, vol.HostPath, flags)
	fileCtx := &vfs.Context{Creds: ctx.Creds, Root: tmp.Root(), Cwd: tmp.Root()}
	src, err := v.Resolve(fileCtx, tmp.Root(), path.Base(vol.HostPath), vfs.ResolveNoFollow)
	if err != nil {
		return fmt.Errorf("volume %s: %w", vol.HostPath, err)
	}
	return v.BindMount(ctx, src, target, flags, false)
}

// mountPoint resolves (making it if missing) the place a mount goes.
func (fss *fileSystems) mountPoint(ctx *vfs.Context, name string, dir bool) (vfs.Path, error) {
	v := fss.vfs
	p, err := v.Resolve(ctx, ctx.Root, name, 0)
	if err == unix.ENOENT {
		if err := fss.makeParents(ctx, path.Dir(path.Clean("/"+name))); err != nil {
			return vfs.Path{}, fmt.Errorf("making mount point %s: %w", name, err)
		}
		if dir {
			err = v.Mkdir(ctx, ctx.Root, name, 0o755)
		} else {
			var f *vfs.File
			f, err = v.Open(ctx, ctx.Root, name, vfs.OpenHow{Flags: unix.O_CREAT | unix.O_WRONLY, Mode: 0o644})
			if err == nil {
				f.DecRef()
			}
		}
		if err != nil {
			return vfs.Path{}, fmt.Errorf("making mount point %s: %w", name, err)
		}
		p, err = v.Resolve(ctx, ctx.Root, name, 0)
	}
	if err != nil {
		return vfs.Path{}, fmt.Errorf("mount point %s: %w", name, err)
	}
	return p, nil
}

// makeParents is mkdir -p.
func (fss *fileSystems) makeParents(ctx *vfs.Context, dir string) error {
	if dir == "/" {
		return nil
	}
	if _, err := fss.vfs.Resolve(ctx, ctx.Root, dir, vfs.ResolveDirectory); err == nil {
		return nil
	}
	if err := fss.makeParents(ctx, path.Dir(dir)); err != nil {
		return err
	}
	if err := fss.vfs.Mkdir(ctx, ctx.Root, dir, 0o755); err != nil && err != unix.EEXIST {
		return err
	}
	return nil
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
	fss.pts = pts
	fss.devices = dev.Register(fss.vfs, pts)
	fss.vfs.RegisterFileSystemType("devpts", func(ctx *vfs.Context, source string, flags uint32, data string) (vfs.FileSystem, error) {
		return pts, nil
	})
	// mqueue and cgroup mounts are not served yet: an empty directory,
	// named by its type in mountinfo, so that images and runtimes that
	// expect the mount find it. (POSIX message queues work without the
	// mount.)
	for _, name := range []string{"mqueue", "cgroup", "cgroup2"} {
		name := name
		fss.vfs.RegisterFileSystemType(name, func(ctx *vfs.Context, source string, flags uint32, data string) (vfs.FileSystem, error) {
			makeTmpfs, _ := fss.vfs.FileSystemTypeByName("tmpfs")
			fs, err := makeTmpfs(ctx, source, flags, "mode=755,size=4k")
			if err != nil {
				return nil, err
			}
			return placeholderFS{fs, name}, nil
		})
	}
	root := fss.mounts.Root()
	ctx := &vfs.Context{Creds: &vfs.RootCreds, Root: root, Cwd: root}
	if fss.ociMounts != nil {
		return fss.mountOCI(ctx)
	}
	for _, m := range containerMounts {
		if err := fss.mount(ctx, m); err != nil {
			return err
		}
	}
	for i, vol := range fss.volumes {
		if err := fss.mountVolume(ctx, fss.client, i+1, vol); err != nil {
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
	target, err := fss.mountPoint(ctx, m.target, true)
	if err != nil {
		return err
	}
	fs, err := make(ctx, m.fsType, m.flags, m.data)
	if err != nil {
		return fmt.Errorf("mounting %s on %s: %w", m.fsType, m.target, err)
	}
	if m.target == "/dev" {
		// Populated before it is mounted: the VFS caches what it looks up.
		if err := dev.Populate(ctx, fs.Root().(vfs.DirInode), dev.PopulateOptions{Console: fss.console}); err != nil {
			return fmt.Errorf("populating /dev: %w", err)
		}
	}
	source := m.source
	if source == "" {
		source = m.fsType
	}
	_, err = v.Mount(ctx, target, fs, source, m.flags)
	return err
}

// placeholderFS is an empty file system standing in for one the sandbox
// does not serve yet, under that one's name.
type placeholderFS struct {
	vfs.FileSystem
	name string
}

func (p placeholderFS) Type() string    { return p.name }
func (p placeholderFS) Options() string { return "rw" }
