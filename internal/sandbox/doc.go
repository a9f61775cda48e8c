// Package sandbox starts sandboxes: it assembles an application kernel
// (memory file, platform, root file system, system-call table) and runs
// the container's first process in it. For now the kernel runs inside the
// calling process; the confined, re-executed sandbox process arrives with
// the OCI runtime.
//
// Locking: none of its own.
package sandbox
