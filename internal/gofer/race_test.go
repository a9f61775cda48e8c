//go:build race

package gofer

// raceEnabled: the race detector links cgo, with which the gofer cannot
// drop capabilities on all of its threads (syscall.AllThreadsSyscall
// refuses), so it refuses to serve.
const raceEnabled = true
