//go:build !amd64

package gofer

import "magawa/internal/seccomp"

// No allowlist yet for other architectures: installSeccomp fails (the
// seccomp package knows no architecture there), and so does the gofer,
// rather than serve without a filter.
func seccompRules(pid int) []seccomp.Rule { return nil }
