package cli

import (
	"errors"
	"fmt"
	"os"

	"magawa/internal/confine"
)

func init() {
	register(command{name: "debug", summary: "inspect the sandbox's confinement: debug seccomp (the host calls the sandbox process may make)", run: runDebug})
}

func runDebug(g *globalFlags, args []string) int {
	if len(args) != 1 || args[0] != "seccomp" {
		return g.runtimeError(errors.New("debug: usage: magawa debug seccomp"))
	}
	if err := confine.DescribeSeccomp(os.Stdout); err != nil {
		return g.runtimeError(fmt.Errorf("debug seccomp: %w", err))
	}
	return 0
}
