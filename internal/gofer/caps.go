package gofer

import "golang.org/x/sys/unix"

// keptCaps are the capabilities the gofer serves with (confine's
// DropCapabilities drops the rest): changing owners to the sandbox's
// users (CAP_CHOWN), reaching and changing every file whatever its owner
// and mode, since the application kernel has already checked the
// sandbox's permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
// CAP_FOWNER), and setting set-group-ID bits for groups the gofer is not
// in (CAP_FSETID). Everything else goes: in particular CAP_SYS_ADMIN
// (mounting would undo the confinement), CAP_MKNOD (device nodes are the
// sandbox's own, never the host's), CAP_SYS_CHROOT and CAP_SETUID.
var keptCaps = []int{unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_DAC_READ_SEARCH, unix.CAP_FOWNER, unix.CAP_FSETID}
