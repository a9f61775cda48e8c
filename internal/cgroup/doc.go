// Package cgroup applies an OCI container's linux.resources (memory,
// CPU, cpuset, pids, block I/O weight) to its sandbox as a whole: the
// sandbox process, the gofer and every stub process share one cgroup,
// so the limits bound everything the container can make the host spend.
// It works with cgroup v1, v2 and the hybrid of both (through
// github.com/opencontainers/cgroups' cgroupfs managers; systemd is not
// used even with --systemd-cgroup, whose slice:prefix:name paths are
// mapped onto cgroupfs).
//
// The runtime's create moves itself into the new cgroup before it
// launches the sandbox process, so that every process of the sandbox is
// born inside it; delete removes it once they are all gone.
//
// Locking: none; each command works on one container under its flock.
package cgroup
