// Package boot is the sandbox process: `magawa boot`, which the CLI
// starts in fresh PID, mount, IPC, UTS, cgroup and network namespaces
// for each sandbox. It builds the sandbox (package sandbox), confines
// itself (package confine) and then either runs its program at once and exits
// with its status (`magawa do`) or, for an OCI container, reports that it
// is created and serves the control socket the runtime's commands talk
// to (start, kill, exec, ps, pause, resume, state) until its init has
// exited; it then exits with init's status, which is what the container's
// supervisor (conmon, containerd's shim) reaps.
//
// Launch is the parent's side: it starts the process, hands it its
// configuration and waits for it to be ready. Client is the control
// socket's client side, used by every later command.
//
// Locking: the server's state (created, running, paused) is guarded by
// server.mu; the kernel has its own locks. Each control connection is
// served by its own goroutine.
package boot
