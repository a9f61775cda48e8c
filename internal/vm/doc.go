// Package vm is the host's side of the micro-VM sandbox (the Kata
// model): the supervisor of one VM, `magawa vm-boot`, which the runtime's
// create starts with boot.Launch where the application kernel's `magawa
// boot` would stand, in the same namespaces and cgroup, with the same
// sync pipe and the same control socket and protocol (package boot), so
// that state, start, kill, exec, ps, pause, resume, update and delete
// work unchanged (update sends its linux.resources, which go to the
// guest's cgroup rather than the host's).
//
// Boot starts QEMU (package qemu) on the guest image (package image:
// a Debian kernel and an initramfs around magawa-agent) with the
// container's root shared read-only over virtio-9p and each bind mount's
// source shared too (a file through a directory of the state directory
// holding only it), waits for the agent's first answer on the
// virtio-serial port (ttrpc, package agentapi) within a deadline, and
// creates the container in the guest. On any failure QEMU is killed
// and the error quotes the console's last lines.
//
// With process.terminal or exec -t, the process's terminal is the
// guest's (terminal.go): the supervisor relays the host's side to it as
// a terminal emulator would, the host terminal in raw mode meanwhile, a
// console socket's being the supervisor's controlling terminal, and
// passes the host terminal's resizes on (SIGWINCH, or polling for an
// exec'd process's).
//
// QEMU is confined: chrooted into a read-only tmpfs jail of the state
// directory holding only its binary, libraries, a few devices, the
// image and the shares (jail.go; mounted in the supervisor's private
// mount namespace), its capability bounding set cut to the file
// capabilities the shares need, no_new_privs, its own seccomp filter
// (-sandbox on), in the supervisor's PID, network, IPC and UTS
// namespaces and the container's cgroup; the supervisor drops every
// capability once the VM is up. Not yet: a user namespace or an
// unprivileged user for QEMU, and a seccomp filter of ours.
//
// Locking: Sandbox.mu guards the container's status, the exec counter
// and the limits an update changes; agent calls are never made under it
// but for start, pause and resume, which hold it so that a concurrent
// kill, exec or second pause sees the status they leave.
package vm
