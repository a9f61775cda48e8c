// Package test holds magawa's conformance and end-to-end tests. It has no
// code of its own outside _test.go files: everything here is run by
// `go test ./test/` (or `make test`).
//
// Layout:
//
//	programs/*.c               differential programs: run natively and in
//	                           the sandbox, stdout, stderr and exit status
//	                           must be identical
//	programs/sandbox_only/*.c  programs that only make sense (or are only
//	                           safe) inside the sandbox; never run natively
//	programs/common.h          helpers shared by the programs
//	programs/proc.h            helpers of the process, thread and signal
//	                           programs (fork, wait statuses, shared
//	                           memory for synchronising with children)
//	programs/*.sh              files the programs execute (exec.c runs
//	                           #! scripts), copied beside the programs
//	goprograms/NAME/main.go    differential programs in Go, built with
//	                           CGO_ENABLED=0 (static); named go-NAME
//	harness_test.go            building the programs and magawa, running
//	                           them, comparing results
//	diff_test.go               TestNative, TestDifferential
//	e2e_test.go                TestEndToEnd: busybox, exit codes, stdin,
//	                           stdout to a file, --strace, --debug-log, what
//	                           the sandbox says about itself; TestCLIErrors
//	busybox_test.go            TestBusybox: busybox applets, native vs
//	                           sandbox
//	shell_test.go              TestShell: busybox sh scripts with
//	                           pipelines, subshells, command substitution,
//	                           background jobs, traps, native vs sandbox
//	leak_test.go               TestNoLeaks: no host process, thread or
//	                           descriptor left behind by sandboxes
//	hostile_test.go            TestHostile: escape attempts must fail and
//	                           leave the host unchanged
//	readonly_test.go           TestReadOnlyRoot: host files cannot be
//	                           changed through the sandbox
//
// The C programs are built by the tests with `gcc -static -O1 -Wall
// -Werror` (and again with -static-pie, as NAME-pie) into a temporary
// directory, the Go programs with `CGO_ENABLED=0 go build`. A program
// prints only what must be the same natively and in the sandbox: never
// addresses, PIDs or times, only relations between them ("monotonic
// clock advanced: yes"). Threads are joined and children reaped, in a
// fixed order, before anything about them is printed.
//
// Environment:
//
//	MAGAWA_BIN           use this magawa binary instead of building
//	                     ./cmd/magawa
//	MAGAWA_PLATFORMS     platforms to test, comma-separated (default
//	                     "ptrace,systrap"); subtests are named
//	                     <platform>/<case>
//	MAGAWA_SANDBOXES     kinds of sandbox the OCI tests (oci_test.go)
//	                     run against, comma-separated (default
//	                     "kernel,vm"); subtests are named
//	                     <test>/<sandbox>; vm needs qemu-system-x86_64
//	                     and builds the guest image into .cache/vm
//	MAGAWA_TEST_NO_SKIP  if set, a missing prerequisite (root, gcc,
//	                     busybox) fails the test instead of skipping it;
//	                     CI sets it so that nothing is skipped there
//
// Tests that run the sandbox need root (CI runs as root) and skip without
// it; TestNative only needs gcc (and go for the Go programs; a program
// that runs busybox skips without it).
package test
