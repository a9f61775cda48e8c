// Package conformance runs the opencontainers runtime-tools validation
// suite (github.com/opencontainers/runtime-tools, validation/*/*.t)
// against magawa and against runc, and compares the two.
//
// The suite is fetched through the Go module proxy at a pinned
// pseudo-version and built once into a cache directory (fetch.go). Every
// validation program is then run against each runtime (suite.go): its own
// temporary directory (TMPDIR, where it unpacks its bundles), its own
// process group, a timeout, the runtime behind a small wrapper script that
// gives it a private state root (--root) and a log file. After each
// program the harness deletes (--force) every container left in that
// root, kills the processes the program left behind (the harness is a
// child subreaper, so every orphan of a runtime becomes its child:
// proc.go), unmounts whatever is mounted below the temporary directory
// and only then removes it, never through a mount point (mounts.go).
//
// The programs speak TAP; tap.go counts passes, failures and skips and
// turns a crash, a timeout, a bail out or a plan that was not met into
// one more failure with its reason. report.go prints the table of both
// runtimes and writes the TAP logs and a summary to the results
// directory. cmd/ is the command (make conformance).
package conformance
