// Package platformtest is the conformance suite every platform's tests
// run: a harness with one address space and one context over a small
// memory file, and the behaviour the kernel relies on (system calls
// intercepted and answered, faults reported, Interrupt, FP state,
// several contexts in one address space, release), checked the same
// way on each platform. Only tests import it.
//
// Locking: a Harness is used by the test's goroutine, locked to its OS
// thread; the tests that use more goroutines give each its own context.
package platformtest
