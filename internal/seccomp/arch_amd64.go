package seccomp

import "golang.org/x/sys/unix"

// NativeArch is the AUDIT_ARCH_* value of this process's system calls.
const NativeArch = unix.AUDIT_ARCH_X86_64
