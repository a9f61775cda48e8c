// Package qemu runs the micro-VM sandbox's virtual machine: QEMU's
// arguments (Config.Args: microvm or q35, KVM or TCG, the kernel and
// initramfs, the serial console and the agent's virtio-serial port on
// Unix sockets QEMU inherits, the 9p shares, QEMU's own seccomp filter)
// and its process (Start): started from a thread whose capability
// bounding set keeps only what reading the shares needs, with
// no_new_privs, optionally chrooted into a jail; its console collected
// into a log and a ring of its last lines (Console) that errors quote.
//
// Locking: Console.mu guards the ring and the log; a Process's fields
// are set before Start returns or, for its exit, before exited is
// closed.
package qemu
