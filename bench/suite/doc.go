// Package suite is the benchmark suite of `make bench`: the runtimes
// compared (the host itself, runc, gVisor's runsc builds on each of their
// platforms, magawa on each of its platforms and in its micro-VM
// sandbox), the workspace they share (one OCI bundle's root file system,
// a volume, the probe programs of bench/probes and their data, a network
// namespace with a veth), the cases, and the runner that takes every
// case through every runtime. The VM sandbox takes part only in the
// cases marked for it (start, memory), with fewer samples: each boots a
// VM, seconds under TCG.
//
// The runtimes of a case take turns within each repetition (the order
// rotates from one repetition to the next), so slow drifts of a shared
// machine's load fall on all of them alike; the results keep every
// sample, and package bench/report summarizes them as a median and a
// spread. Sandboxes start once per sample, and the probes time their own
// loops inside, so start-up costs only count in the cases that measure
// them.
//
// A runtime that is not installed, cannot be built, or cannot take part
// in a case is recorded as skipped with its reason, never as a failure.
// Benchmarks measure; nothing here asserts a time.
package suite
