package cli

import (
	"magawa/kernel/platform"
	_ "magawa/kernel/platform/ptrace"  // registers "ptrace"
	_ "magawa/kernel/platform/systrap" // registers "systrap"
)

func platformList() []string { return platform.Names() }
