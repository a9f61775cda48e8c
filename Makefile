# magawa: build, test and demo targets. The README's commands are these.

GO ?= go
BIN := bin/magawa

# A fresh Debian machine has Go in /usr/local/go but not always on PATH.
export PATH := $(PATH):/usr/local/go/bin

.PHONY: all build test demo bench docs clean

all: build

# A static binary: no cgo.
build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/magawa

# Unit tests, then the conformance and end-to-end tests of test/ (these
# build their own magawa and C programs; run as root so none are skipped).
test:
	$(GO) vet ./... && $(GO) test -count=1 ./...

# Runs real programs in the sandbox (needs root and busybox-static).
demo: build
	$(BIN) do -- /bin/busybox echo "hello from the magawa sandbox"
	$(BIN) do -- /bin/busybox uname -a

bench:
	@if [ -n "$$($(GO) list ./bench/... 2>/dev/null)" ]; then \
		$(GO) test -run=NONE -bench=. ./bench/...; \
	else \
		echo "bench: no benchmarks yet"; \
	fi

# docs/syscalls.md, generated from the system-call table.
docs:
	$(GO) run ./tools/syscalldoc/cmd docs/syscalls.md

clean:
	rm -rf bin
