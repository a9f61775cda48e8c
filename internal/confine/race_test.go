//go:build race

package confine_test

// raceEnabled: the race detector links cgo, with which the sandbox
// process cannot drop capabilities on all of its threads
// (syscall.AllThreadsSyscall refuses), so Sandbox fails.
const raceEnabled = true
