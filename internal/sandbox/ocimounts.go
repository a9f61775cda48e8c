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
			vol := Volume{HostPath: m.Source, Target: m.Target}
			if err := fss.mountExport(ctx, fss.client, fss.exports[i], vol, m.Flags); err != nil {
				return fmt.Errorf("bind mount of %s on %s: %w", m.Source, m.Target, err)
			}
			continue
		}
		fsType := m.Type
		data := m.Data
		switch fsType {
		case "mqueue", "cgroup", "cgroup2":
			// Not served yet: an empty directory in their place, so
			// that images that expect the mount point find it.
			fsType, data = "tmpfs", "mode=755,size=4k"
		}
		spec := mountSpec{target: path.Clean(m.Target), fsType: fsType, flags: m.Flags, data: data}
		if _, ok := fss.vfs.FileSystemTypeByName(fsType); !ok {
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
		f, err := v.Open(ctx, ctx.Root, p, vfs.OpenHow{Flags: unix.O_WRONLY | unix.O_TRUNC})
		if err != nil {
			return fmt.Errorf("sysctl %s: not supported by the sandbox: %w", name, err)
		}
		_, err = f.Impl.WriteAt([]byte(sysctl[name]+"\n"), 0)
		f.DecRef()
		if err != nil {
			return fmt.Errorf("sysctl %s=%s: %w", name, sysctl[name], err)
		}
	}
	return nil
}
