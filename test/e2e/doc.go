// Package e2e runs magawa under real container clients: podman (through
// conmon), containerd (ctr, through containerd-shim-runc-v2) and Docker
// (dockerd, through containerd and its runc shim), each configured to use
// magawa as its OCI runtime in place of runc; and Kubernetes' way in:
// crictl against containerd's CRI plugin, whose runtime handler runs
// magawa's own shim, containerd-shim-magawa-v1 (TestCRI). The tests are
// in the package's _test.go files; `make e2e` or `go test ./test/e2e/`
// runs them.
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
//	                     "podman,containerd,docker,cri"; "none" skips them
//	                     all, whatever MAGAWA_TEST_NO_SKIP says)
//	MAGAWA_CRICTL        the crictl TestCRI runs, instead of the one it
//	                     builds into the checkout's .cache/crictl
//
// The clients come from Debian 12: apt-get install podman containerd
// docker.io (podman pulls in conmon and crun; the image needs
// busybox-static).
//
// # The CRI test
//
// TestCRI starts a containerd with its CRI plugin on (private root,
// state and socket; restrict_oom_score_adj, as root here lacks
// CAP_SYS_RESOURCE; the pods' network namespaces in its state
// directory), with two runtime handlers: `magawa` (runtime type
// io.containerd.magawa.v1: the shim, built next to the magawa under
// test, is found in containerd's PATH, as containerd 1.6 finds shims)
// and `runc` (containerd's runc shim and runc, with a private root),
// and runs the same flows with each: runc's run checks the harness
// itself. The pods' network is a CNI bridge of the test's own
// (mgwcriN, 10.239.N.0/24 with host-local addresses, no masquerading,
// so no iptables rule), from Debian's containernetworking-plugins in
// /usr/lib/cni; the CRI plugin adds loopback itself. The images come
// without a registry, imported with `ctr -n k8s.io image import`: the
// busybox image and a pause image (the CRI plugin's sandbox_image, a
// static C program built with gcc -static that sleeps until SIGTERM
// and reaps children). crictl is built once, `go install
// sigs.k8s.io/cri-tools/cmd/crictl@v1.37.0` through the Go module
// proxy, into the checkout's .cache/crictl (a minute or two the first
// time; the test is skipped, or fails under MAGAWA_TEST_NO_SKIP, when
// it cannot be built). After each pod's removal the test checks that
// nothing of it is left: processes (its sandbox's and containers',
// its shim, with magawa any process of the binaries under test), the
// shim's socket, mounts, magawa's or runc's state, containerd's
// bundles, cgroups, host-local's addresses and the bridge's veths; at
// the end it deletes the bridge and fails on any iptables rule that
// names the network.
package e2e
