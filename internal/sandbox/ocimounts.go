package sandbox

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// mountOCI makes an OCI container's mounts in the order its bundle lists
// them, then hides its masked paths, makes its read-only paths read-only
// and, last, the root read-only if the bundle says so.
//
// Every container gets the sandbox's /dev (a tmpfs with the sandbox's
// devices) and /dev/pts, as runc makes /dev's devices whatever the
// bundle says: a bundle without those mounts gets them first.
func (fss *fileSystems) mountOCI(ctx *vfs.Context) error {
	hasDev, hasPts := false, false
	for _, m := range fss.ociMounts {
		switch path.Clean(m.Target) {
		case "/dev":
			hasDev = true
		case "/dev/pts":
			hasPts = true
		}
	}
	if !hasDev {
		if err := fss.mount(ctx, containerMounts[2]); err != nil {
			return err
		}
	}
	for i, m := range fss.ociMounts {
		if m.Type == "bind" {
			vol := Volume{HostPath: m.Source, Target: m.Target, file: m.SourceIsFile, sourceKnown: fss.joined}
			if err := fss.mountExport(ctx, fss.client, fss.exports[i], vol, m.Flags); err != nil {
				return fmt.Errorf("bind mount of %s on %s: %w", m.Source, m.Target, err)
			}
			continue
		}
		spec := mountSpec{target: path.Clean(m.Target), fsType: m.Type, flags: m.Flags, data: m.Data, source: m.Source}
		if _, ok := fss.vfs.FileSystemTypeByName(m.Type); !ok {
			return fmt.Errorf("mount of %s on %s: file system type not supported", m.Type, m.Target)
		}
		if err := fss.mount(ctx, spec); err != nil {
			return err
		}
		if spec.target == "/dev" && !hasPts {
			if err := fss.mount(ctx, containerMounts[3]); err != nil {
				return err
			}
		}
	}
	if err := fss.makeDevices(ctx, fss.ociDevices); err != nil {
		return err
	}
	for _, p := range fss.masked {
		if err := fss.mask(ctx, p); err != nil {
			return fmt.Errorf("masked path %s: %w", p, err)
		}
	}
	for _, p := range fss.readonly {
		if err := fss.makeReadOnly(ctx, p); err != nil {
			return fmt.Errorf("read-only path %s: %w", p, err)
		}
	}
	if fss.rootReadOnly {
		root := fss.mounts.Root()
		if err := fss.vfs.Remount(root, root.Mount.Flags()|vfs.MountReadOnly); err != nil {
			return fmt.Errorf("making the root read-only: %w", err)
		}
	}
	return nil
}

// mask hides p, when it exists: an empty read-only tmpfs over a
// directory, /dev/null over anything else (as runc does).
func (fss *fileSystems) mask(ctx *vfs.Context, p string) error {
	v := fss.vfs
	target, err := v.Resolve(ctx, ctx.Root, p, 0)
	if err == unix.ENOENT {
		return nil
	}
	if err != nil {
		return err
	}
	if target.Dentry.IsDir() {
		make, _ := v.FileSystemTypeByName("tmpfs")
		fs, err := make(ctx, "tmpfs", vfs.MountReadOnly, "size=0,mode=555")
		if err != nil {
			return err
		}
		_, err = v.Mount(ctx, target, fs, "tmpfs", vfs.MountReadOnly)
		return err
	}
	null, err := v.Resolve(ctx, ctx.Root, "/dev/null", 0)
	if err != nil {
		return err
	}
	return v.BindMount(ctx, null, target, vfs.MountReadOnly, false)
}

// makeReadOnly bind-mounts p onto itself read-only, with what is mounted
// below it, when it exists; its other flags stay (as runc's remount).
func (fss *fileSystems) makeReadOnly(ctx *vfs.Context, p string) error {
	v := fss.vfs
	target, err := v.Resolve(ctx, ctx.Root, p, 0)
	if err == unix.ENOENT {
		return nil
	}
	if err != nil {
		return err
	}
	return v.BindMount(ctx, target, target, target.Mount.Flags()|vfs.MountReadOnly, true)
}

// applySysctl writes the OCI linux.sysctl settings through the sandbox's
// own /proc/sys, as runc writes them through the container's: a
// parameter the sandbox does not serve is an error, not ignored.
func (fss *fileSystems) applySysctl(sysctl map[string]string) error {
	names := make([]string, 0, len(sysctl))
	for name := range sysctl {
		names = append(names, name)
	}
	sort.Strings(names)
	v := fss.vfs
	makeProc, ok := v.FileSystemTypeByName("proc")
	if !ok {
		return fmt.Errorf("sysctl: no proc file system")
	}
	rootCtx := &vfs.Context{Creds: &vfs.RootCreds}
	proc, err := makeProc(rootCtx, "proc", 0, "")
	if err != nil {
		return err
	}
	ns := v.NewMountNamespace(proc, "proc", 0)
	ctx := &vfs.Context{Creds: &vfs.RootCreds, Root: ns.Root(), Cwd: ns.Root()}
	for _, name := range names {
		p := "sys/" + strings.ReplaceAll(name, ".", "/")
		// The errors name no errno: clients read "no such file" or
		// "permission denied" in a runtime's message as a missing or
		// non-executable command (exit statuses 127 and 126).
		f, err := v.Open(ctx, ctx.Root, p, vfs.OpenHow{Flags: unix.O_WRONLY | unix.O_TRUNC})
		switch err {
		case nil:
		case unix.ENOENT, unix.ENOTDIR:
			return fmt.Errorf("sysctl %s: the sandbox has no such parameter", name)
		case unix.EACCES, unix.EPERM, unix.EROFS:
			return fmt.Errorf("sysctl %s: the sandbox keeps this parameter fixed", name)
		default:
			return fmt.Errorf("sysctl %s: %v", name, err)
		}
		_, err = f.Impl.WriteAt([]byte(sysctl[name]+"\n"), 0)
		f.DecRef()
		if err != nil {
			return fmt.Errorf("sysctl %s=%q: the sandbox refuses this value (%v)", name, sysctl[name], err)
		}
	}
	return nil
}

// makeDevices makes the container's device nodes (OCI linux.devices)
// once its mounts are made. A node of a device the sandbox serves (null,
// zero, random, tty, ptmx...) works; a node of any other device is made
// too, as runc makes it, but opening it fails with ENXIO: host devices
// are never reachable from the sandbox (oci.Warnings says so at create).
func (fss *fileSystems) makeDevices(ctx *vfs.Context, devices []Device) error {
	v := fss.vfs
	for _, d := range devices {
		mode := d.Mode & 0o7777
		if d.Mode == 0 {
			mode = 0o666
		}
		var rdev uint64
		switch d.Type {
		case "c", "u", "b":
			if d.Major < 0 || d.Minor < 0 || d.Major > 0xfff || d.Minor > 0xfffff {
				return fmt.Errorf("device %s: bad number %d:%d", d.Path, d.Major, d.Minor)
			}
			mode |= unix.S_IFCHR
			if d.Type == "b" {
				mode = mode&^unix.S_IFMT | unix.S_IFBLK
			}
			rdev = unix.Mkdev(uint32(d.Major), uint32(d.Minor))
		case "p":
			mode |= unix.S_IFIFO
		default:
			return fmt.Errorf("device %s: unknown type %q", d.Path, d.Type)
		}
		p := path.Clean("/" + d.Path)
		if err := fss.makeParents(ctx, path.Dir(p)); err != nil {
			return fmt.Errorf("device %s: %w", d.Path, err)
		}
		// As runc: a node already there (the sandbox's own /dev/null)
		// is replaced.
		if err := v.Unlink(ctx, ctx.Root, p); err != nil && err != unix.ENOENT {
			return fmt.Errorf("device %s: %w", d.Path, err)
		}
		if err := v.Mknod(ctx, ctx.Root, p, mode, rdev); err != nil {
			return fmt.Errorf("device %s: %w", d.Path, err)
		}
		target, err := v.Resolve(ctx, ctx.Root, p, vfs.ResolveNoFollow)
		if err == nil && (d.UID != 0 || d.GID != 0) {
			err = v.Chown(ctx, target, d.UID, d.GID)
		}
		if err != nil {
			return fmt.Errorf("device %s: %w", d.Path, err)
		}
	}
	return nil
}
