//go:build !amd64

package seccomp

// NativeArch is zero where no allowlist exists yet: Program then fails,
// and so does every process that would confine itself.
const NativeArch = 0
