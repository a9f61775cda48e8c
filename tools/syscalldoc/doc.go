// Package syscalldoc renders the kernel's system-call table as the
// Markdown compatibility table in docs/syscalls.md: for every x86-64 call,
// whether magawa supports it fully, partly or not at all, and why.
//
// The table in kernel/syscalls is the single source of truth; the
// document is generated from it (go run ./tools/syscalldoc/cmd) and a test
// fails when the two disagree, so the document cannot drift.
//
// The package holds no state and takes no locks.
package syscalldoc
