package cli

import (
	"errors"
	"fmt"
	"os"

	"magawa/internal/confine"
)

func init() {
	register(command{name: "debug", summary: "inspect the sandbox's confinement: debug seccomp (the host calls the sandbox process may make, with the --network given)", run: runDebug})
}

func runDebug(g *globalFlags, args []string) int {
	if len(args) != 1 || args[0] != "seccomp" {
		return g.runtimeError(errors.New("debug: usage: magawa debug seccomp"))
	}
	opts := confine.Options{Network: g.network == "sandbox", HostNetwork: g.network == "host"}
	if err := confine.DescribeSeccomp(os.Stdout, opts); err != nil {
		return g.runtimeError(fmt.Errorf("debug seccomp: %w", err))
	}
	return 0
}
