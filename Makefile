# magawa: build, test and demo targets. The README's commands are these.

GO ?= go
BIN := bin/magawa

# A fresh Debian machine has Go in /usr/local/go but not always on PATH.
export PATH := $(PATH):/usr/local/go/bin

.PHONY: all build test demo bench bench-quick docs conformance clean e2e cpython-tests vm-image

all: build

# Static binaries: no cgo. The containerd shim runs the magawa next to it.
build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/magawa
	CGO_ENABLED=0 $(GO) build -o $(dir $(BIN))containerd-shim-magawa-v1 ./cmd/containerd-shim-magawa-v1

# The micro-VM sandbox's guest image (--sandbox=vm): a Debian kernel
# (apt-get download and dpkg-deb -x, nothing installed; needs apt's
# lists: apt-get update) and an initramfs around the static
# magawa-agent, in .cache/vm (outside git). docs/vm.md.
vm-image:
	CGO_ENABLED=0 $(GO) build -o bin/magawa-agent ./cmd/magawa-agent
	$(GO) run ./tools/vmimage -dir .cache/vm -agent bin/magawa-agent

# Unit tests, then the conformance and end-to-end tests of test/ (these
# build their own magawa and C programs; run as root so none are skipped).
# Without cgo, as magawa itself is built: the confinement tests run their
# own binary as the sandbox process, which refuses to confine itself when
# cgo (which the netstack's use of package net pulls in) is linked.
test:
	CGO_ENABLED=0 $(GO) vet ./... && CGO_ENABLED=0 $(GO) test -count=1 ./...

# magawa as the OCI runtime of podman, containerd (ctr) and Docker, each
# with private state (test/e2e; root). A client that is not installed is
# skipped: apt-get install podman containerd docker.io busybox-static.
# E2EFLAGS=-v shows every command; E2EFLAGS='-run TestPodman' picks one.
e2e:
	$(GO) test -count=1 -timeout 20m $(E2EFLAGS) ./test/e2e/

# Runs real programs in the sandbox (needs root and busybox-static).
demo: build
	$(BIN) do -- /bin/busybox echo "hello from the magawa sandbox"
	$(BIN) do -- /bin/busybox uname -a

# The benchmark suite (bench/cmd/bench; root): every case under native,
# runc, runsc (Debian's, and the current gVisor, built once into
# .cache/bench) and magawa, written to docs/benchmarks.md and
# docs/benchmarks.svg; missing Debian packages (runc, runsc, wrk, ...)
# installed first. About 12 minutes; ARGS are the command's flags, e.g.
# ARGS='-run syscalls/ -runtimes "native|magawa"'. bench-quick is the
# smoke run (about a minute; its page goes to .cache/bench/quick/).
# Benchmarks are not tests: nothing asserts a time.
bench: build
	CGO_ENABLED=0 $(GO) run ./bench/cmd/bench -install $(ARGS)

bench-quick: build
	CGO_ENABLED=0 $(GO) run ./bench/cmd/bench -install -quick $(ARGS)

# docs/syscalls.md, generated from the system-call table.
docs:
	$(GO) run ./tools/syscalldoc/cmd docs/syscalls.md

# The opencontainers runtime-tools validation suite against bin/magawa and
# runc, both scores printed (root; the first run fetches runtime-tools
# through the Go module proxy and builds it into .cache/). Slow and
# networked: not part of make test or CI. docs/conformance.md.
# CONFORMANCE_FLAGS: e.g. -run 'hooks|kill' -timeout 30s -runtimes magawa
conformance: build
	$(GO) build -o bin/conformance ./tools/conformance/cmd
	bin/conformance -magawa $(BIN) $(CONFORMANCE_FLAGS)

# CPython's regression tests of the IPC and networking modules, natively
# and in the sandbox, tallied per module (root, python3.11 and
# libpython3.11-testsuite; minutes). Not part of make test or CI.
cpython-tests: build
	tools/cpython-tests/run.sh $(CPYTHON_OUT)

clean:
	rm -rf bin
