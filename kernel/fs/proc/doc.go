// Package proc is the sandbox's /proc: a file system that describes the
// sandbox, never the host. It owns the tree (the root with its
// per-process directories, self and thread-self, the global files,
// /proc/sys, and /proc/[pid]/net: the sandbox's network stack and
// sockets, net.go), the formats of the files (Linux's, as proc(5) and
// Documentation/filesystems/proc.rst give them), the access rules of the
// per-process files (ptrace-style checks for environ, maps, fd/...), and
// the few values a write may change that the kernel does not keep
// (oom_score_adj), and /proc/sys: Linux's parsing and checks of the
// tunables a write may change (sysctl.go, sysctl_parse.go), whose values
// the kernel keeps for the whole sandbox (the IPC limits, the network
// tunables, the UTS names).
//
// What it describes comes from the kernel through the Kernel, Process and
// Task interfaces (provider.go): *kernel.Kernel is adapted to them in
// kernel.go, and the tests use a fake. Nothing is cached: every read
// takes a fresh snapshot, every lookup asks the kernel, and the
// directories whose entries come and go (the root, task/, fd/, fdinfo/)
// implement vfs.Revalidator, so the VFS drops a dead process's dentries.
//
// Files are generated whole when read at offset 0 (as Linux's seq_file
// regenerates on a read from the start) and served from that buffer at
// other offsets, so a reader that seeks back to 0 sees new contents.
//
// Locking: FS.mu guards the values kept here (oom_score_adj); each open
// file's mu guards its buffer. Neither is held while calling the kernel:
// the kernel's accessors take Kernel.mu themselves, and inode methods
// never call back into the VFS except VFS.PathName, which takes only the
// VFS's tree lock.
package proc
