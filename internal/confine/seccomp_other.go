//go:build !amd64

package confine

import "magawa/internal/seccomp"

// No allowlist yet for other architectures: Sandbox fails (the seccomp
// package knows no architecture there) rather than run unfiltered.
func rules(pid int) []seccomp.Rule { return nil }

func networkRules() []seccomp.Rule { return nil }

func hostNetworkRules() []seccomp.Rule { return nil }
