// Package e2e runs magawa under real container clients: podman (through
// conmon), containerd (ctr, through containerd-shim-runc-v2) and Docker
// (dockerd, through containerd and its runc shim), each configured to use
// magawa as its OCI runtime in place of runc. The tests are in the
// package's _test.go files; `make e2e` or `go test ./test/e2e/` runs them.
//
// Every test is hermetic: it builds a busybox image itself (no registry is
// needed: the image is a docker-archive written by the test and loaded
// with `podman load`, `ctr image import`, `docker load`), gives its client
// private state (temp dirs for storage, run and state directories,
// sockets, magawa's --root), starts and stops its daemons itself, and on
// the way out, pass or fail, removes its containers, stops its daemons,
// kills what they left (shims, conmon, sandboxes), unmounts what is
// mounted below its directory and removes it.
//
// The runtime path handed to each client is a small wrapper script that
// logs every magawa invocation (argv, environment, where its stdio point,
// exit status; stdout and stderr of the verbs that do not hand their
// stdio to the container) and then runs magawa. When a test fails, the
// log is printed with the daemon's log: it shows the exact command the
// client ran against magawa.
//
// Environment:
//
//	MAGAWA_BIN           test this magawa binary instead of building
//	                     ./cmd/magawa (it is copied into the temp dir)
//	MAGAWA_TEST_NO_SKIP  fail instead of skipping when a prerequisite is
//	                     missing (not root, no busybox, a daemon that
//	                     does not start); a client that is not installed
//	                     at all is still skipped, so that a machine
//	                     without podman, containerd or docker.io passes
//	MAGAWA_E2E_CLIENTS   the clients to test, comma-separated (default
//	                     "podman,containerd,docker"; "none" skips them all,
//	                     whatever MAGAWA_TEST_NO_SKIP says)
//
// The clients come from Debian 12: apt-get install podman containerd
// docker.io (podman pulls in conmon and crun; the image needs
// busybox-static).
package e2e
