package gofer

import (
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"magawa/kernel/fs/gofer/wire"
)

// Extended attributes.
//
// The gofer does not keep CAP_SYS_ADMIN, which the host's trusted.*
// namespace needs: it would let the gofer mount file systems and undo
// its confinement. The sandbox's trusted.* attributes are stored on the
// host as user.magawa.trusted.* instead (as overlayfs stores its own as
// user.overlay.* inside user namespaces), which also keeps them apart
// from the host's own trusted.* attributes. The sandbox sees only user.*
// and its trusted.*: never the host's security.*, system.* or trusted.*,
// nor anything under user.magawa.* by its host name. As on Linux, user.*
// attributes exist only on regular files and directories, and so here do
// trusted.* ones.

const (
	hostPrivatePrefix = "user.magawa."
	hostTrustedPrefix = hostPrivatePrefix + "trusted."
	trustedPrefix     = "trusted."
	userPrefix        = "user."
)

// errPrivate marks a client's name that falls in the gofer's private
// host namespace.
var errPrivate = unix.EPERM

// hostXattrName maps a client's attribute name to the host's.
func hostXattrName(name string) (string, error) {
	switch {
	case strings.HasPrefix(name, trustedPrefix):
		rest := name[len(trustedPrefix):]
		if rest == "" {
			return "", unix.EINVAL
		}
		h := hostTrustedPrefix + rest
		if len(h) > wire.XattrNameMax {
			return "", unix.ERANGE
		}
		return h, nil
	case strings.HasPrefix(name, hostPrivatePrefix):
		return "", errPrivate
	case strings.HasPrefix(name, userPrefix):
		return name, nil
	}
	return "", unix.EOPNOTSUPP
}

// clientXattrName maps a host attribute name to the client's, or reports
// that the client must not see it.
func clientXattrName(host string) (string, bool) {
	switch {
	case strings.HasPrefix(host, hostTrustedPrefix):
		rest := host[len(hostTrustedPrefix):]
		return trustedPrefix + rest, rest != ""
	case strings.HasPrefix(host, hostPrivatePrefix):
		return "", false
	case strings.HasPrefix(host, userPrefix):
		return host, true
	}
	return "", false
}

// xattratMissing is set once the host turns out to lack the *xattrat
// calls (Linux before 6.13).
var xattratMissing atomic.Bool

// xattrTarget is where an extended attribute call goes: name in the
// directory dir through the *xattrat calls (a symbolic link itself, never
// its target), or the open file fd.
type xattrTarget struct {
	dir  int
	name string
	fd   int
}

// withXattrTarget resolves path to the object the client expects and
// calls f on it.
func (x *export) withXattrTarget(path string, expect wire.FileKey, f func(t xattrTarget) error) error {
	for {
		t, err := x.xattrTarget(path, expect)
		if err != nil {
			return err
		}
		err = f(t)
		unix.Close(t.dir)
		unix.Close(t.fd)
		if err == unix.ENOSYS && t.fd < 0 {
			xattratMissing.Store(true)
			continue
		}
		return err
	}
}

func (x *export) xattrTarget(path string, expect wire.FileKey) (xattrTarget, error) {
	t := xattrTarget{dir: -1, fd: -1}
	if path == "" {
		// The root has no parent in the export: open it.
		fd, err := x.openAt("", unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			return t, err
		}
		a, err := statFD(fd)
		if err == nil {
			err = checkKey(&a, expect)
		}
		if err != nil {
			unix.Close(fd)
			return t, err
		}
		t.fd = fd
		return t, nil
	}
	dir, name := wire.Split(path)
	dfd, err := x.openDir(dir)
	if err != nil {
		return t, err
	}
	a, err := statAt(dfd, name)
	if err == nil {
		err = checkKey(&a, expect)
	}
	if err != nil {
		unix.Close(dfd)
		return t, err
	}
	if !xattratMissing.Load() {
		t.dir, t.name = dfd, name
		return t, nil
	}
	defer unix.Close(dfd)
	// Without *xattrat, only an opened file will do, and only regular
	// files and directories are opened (a device or FIFO never is).
	flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC
	switch a.Type() {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		flags |= unix.O_DIRECTORY
	default:
		return t, unix.EPERM
	}
	fd, err := unix.Openat(dfd, name, flags, 0)
	if err != nil {
		return t, err
	}
	b, err := statFD(fd)
	if err == nil && b.Key() != a.Key() {
		err = unix.ESTALE
	}
	if err != nil {
		unix.Close(fd)
		return t, err
	}
	t.fd = fd
	return t, nil
}

func (x *export) getXattr(req *wire.XattrReq) ([]byte, error) {
	hname, err := hostXattrName(req.Name)
	if err == errPrivate {
		return nil, unix.ENODATA
	}
	if err != nil {
		return nil, err
	}
	buf := make([]byte, wire.XattrValueMax)
	var n int
	err = x.withXattrTarget(req.Path, req.Expect, func(t xattrTarget) error {
		var err error
		if t.fd >= 0 {
			n, err = unix.Fgetxattr(t.fd, hname, buf)
		} else {
			n, err = getxattrat(t.dir, t.name, hname, buf)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

func (x *export) setXattr(req *wire.XattrReq) error {
	if x.readOnly {
		return unix.EROFS
	}
	if req.Flags&^(unix.XATTR_CREATE|unix.XATTR_REPLACE) != 0 {
		return unix.EINVAL
	}
	hname, err := hostXattrName(req.Name)
	if err != nil {
		return err
	}
	return x.withXattrTarget(req.Path, req.Expect, func(t xattrTarget) error {
		if t.fd >= 0 {
			return unix.Fsetxattr(t.fd, hname, req.Value, int(req.Flags))
		}
		return setxattrat(t.dir, t.name, hname, req.Value, int(req.Flags))
	})
}

func (x *export) removeXattr(req *wire.XattrReq) error {
	if x.readOnly {
		return unix.EROFS
	}
	hname, err := hostXattrName(req.Name)
	if err == errPrivate {
		return unix.ENODATA
	}
	if err != nil {
		return err
	}
	return x.withXattrTarget(req.Path, req.Expect, func(t xattrTarget) error {
		if t.fd >= 0 {
			return unix.Fremovexattr(t.fd, hname)
		}
		return removexattrat(t.dir, t.name, hname)
	})
}

func (x *export) listXattr(req *wire.XattrReq) ([]string, error) {
	if req.Name != "" || len(req.Value) != 0 {
		return nil, unix.EINVAL
	}
	buf := make([]byte, wire.XattrListMax)
	var n int
	err := x.withXattrTarget(req.Path, req.Expect, func(t xattrTarget) error {
		var err error
		if t.fd >= 0 {
			n, err = unix.Flistxattr(t.fd, buf)
		} else {
			n, err = listxattrat(t.dir, t.name, buf)
		}
		return err
	})
	if err == unix.ERANGE {
		return nil, unix.E2BIG // longer than any list Linux returns
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, h := range strings.Split(string(buf[:n]), "\x00") {
		if name, ok := clientXattrName(h); ok && len(name) <= wire.XattrNameMax {
			names = append(names, name)
		}
	}
	return names, nil
}
