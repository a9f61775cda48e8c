// Package sys is the sandbox's /sys: a small, read-only sysfs that
// describes the sandbox's CPUs (devices/system/cpu: online, possible,
// present and each CPU's topology), its transparent huge page policy
// (kernel/mm/transparent_hugepage), and the top-level layout programs
// expect (block, bus, class/net, dev, firmware, fs/cgroup, module,
// power), empty for now. The cgroup view under fs/cgroup comes with the
// OCI runtime, and class/net with the network stack. Nothing here reads
// the host's /sys.
//
// The tree is built once by New and never changes; files are generated
// when opened. Writes fail: files refuse write opens with EACCES, and
// directories refuse changes with EPERM.
//
// Locking: none. The tree is immutable after New and open files hold
// their contents.
package sys
