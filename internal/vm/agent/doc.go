// Package agent is magawa-agent, the guest side of the micro-VM
// sandbox. As the guest's PID 1 (the initramfs's /init) it sets the
// guest up (its root made a mount that pivot_root can leave, /proc, /sys,
// /dev, cgroup2, the kernel modules the image put in /lib/modules), opens
// the virtio-serial port named magawa.agent and serves the agent API
// (package agentapi) on it with ttrpc, and reaps every process of the
// guest.
//
// A container is an overlay over the host's share of its root (the
// image read-only below, the guest's memory above), mounted here, and an
// init process the agent starts by re-executing itself
// (`container-init`, helper.go) in new mount, PID, UTS, IPC and cgroup
// namespaces, in the container's cgroup; it shares the guest's network
// namespace, whose NIC the host configures (ConfigureNetwork, network.go)
// as a pod's containers share the pod's: the helper makes the
// bundle's mounts, pivots into the root, reports it is created, waits
// for start, applies the OCI process settings (rlimits, groups and IDs,
// capabilities, no_new_privs, cwd, umask) and executes the program.
// An exec'd process is started the same way (`container-exec`) from a
// thread that has entered the container's PID, UTS, IPC, network and
// cgroup namespaces; the helper enters its mount namespace itself
// (unsharing CLONE_FS first, which setns(CLONE_NEWNS) requires of a
// threaded process).
//
// With ID mappings the container's processes are born in a user
// namespace instead, by a holder (`container-userns`, userns.go) that
// lives in it: a Go program cannot join a user namespace, so the
// holder, started in a new one, starts them on the agent's request with
// CLONE_PARENT (they stay the agent's children). Pause, resume and
// update act on the container's cgroup (cgroup.go); device nodes are
// made in its root, or, in a user namespace, by the agent on a tmpfs of
// its own and bound there (devices.go).
//
// The helpers talk to the agent over pipes: a JSON configuration in,
// and a status pipe out that is close-on-exec, so its end without a
// message says the program was executed. A process with a terminal gets
// one of the container's own devpts, as runc's: its helper opens the
// container's /dev/ptmx once it is in the container's mount namespace,
// makes the slave its stdio and controlling terminal (and the init's
// /dev/console), and sends the master to the agent over a socket pair;
// the agent relays the master as the process's one output stream, and
// ends its input by typing the terminal's VEOF.
//
// Locking: agent.mu guards the containers map and each container's
// status and exec'd processes; a process's streams have their own
// locks (stream.mu) and are never touched under agent.mu. The reaper's
// mu guards its maps and is held across a fork, a holder's included, so
// that a child is watched before it is reaped. A holder's mu is held
// across one request on its socket (a request and its answer are one
// exchange). No other lock is held across a blocking call.
package agent
