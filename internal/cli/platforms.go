package cli

import (
	"magawa/kernel/platform"
	_ "magawa/kernel/platform/ptrace" // registers "ptrace"
)

func platformList() []string { return platform.Names() }
