// Package image builds the guest image of the micro-VM sandbox: a
// kernel from a Debian kernel package (fetched with apt-get download and
// unpacked with dpkg-deb -x into a cache directory, nothing installed)
// and an initramfs, written here as a cpio "newc" archive, holding the
// static magawa-agent as /init and the kernel modules the agent loads
// (virtio-mmio and virtio-pci, the virtio-serial port, overlay, 9p or
// virtiofs, vsock), each after the modules it depends on. `make
// vm-image` runs it (tools/vmimage).
//
// Nothing here is shared between goroutines: no locks.
package image
