// Command conformance runs the opencontainers runtime-tools validation
// suite against magawa and against runc and prints both scores (make
// conformance; see docs/conformance.md). Run it as root from the
// repository root after make build:
//
//	go run ./tools/conformance/cmd [-run REGEXP] [-timeout 60s] [-runtimes magawa,runc]
//
// The suite is fetched through the Go module proxy and built once into
// -cache; the TAP logs, the runtimes' JSON logs, failures.txt and
// summary.txt go to -results. The exit status is 0 when the run
// completed and left the host clean, whatever the scores.
package main
