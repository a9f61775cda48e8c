package cli

import (
	"magawa/internal/gofer"
)

func init() {
	register(command{
		name:    "gofer",
		summary: "serve a sandbox's file systems (run by magawa itself)",
		hidden:  true,
		run:     runGofer,
	})
}

// runGofer is the hidden verb internal/gofer.Start re-executes magawa
// with: the file server of one sandbox. It takes no global flags.
func runGofer(g *globalFlags, args []string) int {
	return gofer.Main(args)
}
