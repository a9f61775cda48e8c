package cli

import "magawa/internal/boot"

func init() {
	register(command{
		name:    "boot",
		summary: "be a sandbox process (run by magawa itself)",
		hidden:  true,
		run:     func(g *globalFlags, args []string) int { return boot.Main(args) },
	})
}
