// Package shim is magawa's containerd runtime shim v2
// (containerd-shim-magawa-v1, runtime type io.containerd.magawa.v1): the
// process containerd starts per sandbox group (a Kubernetes pod: the
// containers of one io.kubernetes.cri.sandbox-id share one shim) and
// talks ttrpc to with its task API. It is built on containerd's shim
// library (runtime/v2/shim: the start/delete protocol, the event
// publisher, the child subreaper and reaper), and drives sandboxes as
// containerd's runc shim drives runc: lifecycle through the magawa
// runtime CLI (create, start, kill, delete, pause, resume, update,
// events) with the same state root, and exec, per-process signals and
// process lists through the sandbox's control socket (package boot's
// client), which gives the process's PID inside the sandbox.
//
// # What it owns
//
//   - manager.go: `start` (a shim per group: the first container of a
//     group starts the shim process, the others get its address) and
//     `delete` (a shim that died leaves its containers to this cleanup).
//   - service.go: the task service, one container per sandbox (a pod's
//     containers do not share one sandbox yet).
//   - process.go: a container's init or an exec'd process: its stdio
//     (containerd's FIFOs, or a terminal), its status and exit.
//   - runtime.go: the magawa runtime CLI.
//   - stats.go: the sandbox's usage as containerd's cgroup metrics.
//
// # Exits
//
// The shim is a child subreaper: when `magawa create` returns, the
// sandbox process it left running is the shim's child, and the library's
// reaper collects its exit (the container's status). The shim subscribes
// to the reaper before it starts any process, and keeps exits of PIDs it
// does not know yet (a sandbox that died before create returned), so no
// exit is lost. Exec'd processes end with their waiter's answer.
//
// # Locking
//
// service.mu guards the containers map and each container's execs map;
// process.mu guards a process's status, PID and exit. Never hold
// service.mu while running the runtime CLI: a CLI call takes seconds
// for a VM.
package shim
