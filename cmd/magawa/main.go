// Command magawa is the magawa sandboxed container runtime.
package main

import (
	"os"

	"magawa/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
