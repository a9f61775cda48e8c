// Package sandbox starts sandboxes: it assembles an application kernel
// (memory file, platform, root file system, system-call table) and runs
// the container's first process in it. For now the kernel runs inside the
// calling process; the confined, re-executed sandbox process arrives with
// the OCI runtime.
//
// The first process's standard streams are either the host's descriptors,
// wrapped, or, when `magawa do` runs on a terminal (or -t), a terminal of
// the sandbox whose master magawa relays to the host's stdin and stdout
// with the host terminal in raw mode (terminal.go, console).
//
// Locking: console.mu, a leaf, guards whether the host terminal is in raw
// mode; nothing else of its own.
package sandbox
