package vfs

import (
	"golang.org/x/sys/unix"
)

// DeviceOpener opens one kind of character device for the caller.
type DeviceOpener func(ctx *Context, flags int) (FileImpl, error)

type deviceKey struct{ major, minor uint32 }

// RegisterCharDevice makes device nodes major:minor open to open. Only
// registered devices open: a node with any other number (one in an image,
// one made by mknod) fails with ENXIO, so the sandbox never reaches a host
// device.
func (v *VFS) RegisterCharDevice(major, minor uint32, open DeviceOpener) {
	v.devMu.Lock()
	defer v.devMu.Unlock()
	v.devices[deviceKey{major, minor}] = open
}

func (v *VFS) charDevice(rdev uint64) (DeviceOpener, bool) {
	v.devMu.RLock()
	defer v.devMu.RUnlock()
	open, ok := v.devices[deviceKey{unix.Major(rdev), unix.Minor(rdev)}]
	return open, ok
}

// FIFOOpener opens the named pipe id: one pipe per FileID, shared by
// every open of it, with open(2)'s blocking rules.
type FIFOOpener func(ctx *Context, id FileID, flags int) (FileImpl, error)

// HasCharDevice reports whether the character device major:minor is
// registered: a node of it opens.
func (v *VFS) HasCharDevice(major, minor uint32) bool {
	_, ok := v.charDevice(unix.Mkdev(major, minor))
	return ok
}

// SetFIFOOpener installs the pipe implementation's FIFO opener.
func (v *VFS) SetFIFOOpener(open FIFOOpener) {
	v.devMu.Lock()
	defer v.devMu.Unlock()
	v.fifoOpener = open
}

// openSpecial opens a device node or FIFO at p.
func (v *VFS) openSpecial(ctx *Context, p Path, st *unix.Statx_t, flags int) (FileImpl, error) {
	switch uint32(st.Mode) & unix.S_IFMT {
	case unix.S_IFCHR:
		if p.Mount.Flags()&MountNoDev != 0 {
			return nil, unix.EACCES
		}
		open, ok := v.charDevice(unix.Mkdev(st.Rdev_major, st.Rdev_minor))
		if !ok {
			return nil, unix.ENXIO
		}
		return open(ctx, flags)
	case unix.S_IFBLK:
		if p.Mount.Flags()&MountNoDev != 0 {
			return nil, unix.EACCES
		}
		return nil, unix.ENXIO
	case unix.S_IFIFO:
		v.devMu.RLock()
		open := v.fifoOpener
		v.devMu.RUnlock()
		if open == nil {
			return nil, unix.ENXIO
		}
		return open(ctx, IDOf(st), flags)
	case unix.S_IFSOCK:
		return nil, unix.ENXIO
	}
	return nil, unix.EINVAL
}

// FileSystemType makes a new instance of a file system for mount(2):
// source and data are mount's arguments.
type FileSystemType func(ctx *Context, source string, flags uint32, data string) (FileSystem, error)

// RegisterFileSystemType offers a file system to mount(2) by name.
func (v *VFS) RegisterFileSystemType(name string, make FileSystemType) {
	v.devMu.Lock()
	defer v.devMu.Unlock()
	if v.fsTypes == nil {
		v.fsTypes = map[string]FileSystemType{}
	}
	v.fsTypes[name] = make
}

// FileSystemTypeByName returns a registered file system type.
func (v *VFS) FileSystemTypeByName(name string) (FileSystemType, bool) {
	v.devMu.RLock()
	defer v.devMu.RUnlock()
	make, ok := v.fsTypes[name]
	return make, ok
}
