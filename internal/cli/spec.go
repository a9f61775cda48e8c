package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"magawa/internal/oci"
)

func init() {
	register(command{name: "spec", summary: "write a starting config.json: spec [--bundle DIR] [--rootless]", run: runSpec})
	register(command{name: "features", summary: "print the runtime's features as JSON (the runtime spec's features document)", run: runFeatures})
}

func runSpec(g *globalFlags, args []string) int {
	fs := newFlagSet("spec")
	bundle := fs.String("bundle", "", "write config.json in this directory (default: the current one)")
	fs.StringVar(bundle, "b", "", "the same as --bundle")
	rootless := fs.Bool("rootless", false, "a spec for a container run without root (a user namespace)")
	if _, err := parseArgs(fs, args); err != nil {
		return g.runtimeError(fmt.Errorf("spec: %w", err))
	}
	path := filepath.Join(*bundle, "config.json")
	if _, err := os.Stat(path); err == nil {
		return g.runtimeError(errors.New("spec: File " + path + " exists. Remove it first"))
	}
	b, err := json.MarshalIndent(oci.DefaultSpec(*rootless), "", "\t")
	if err != nil {
		return g.runtimeError(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o666); err != nil {
		return g.runtimeError(fmt.Errorf("spec: %w", err))
	}
	return 0
}

func runFeatures(g *globalFlags, args []string) int {
	if _, err := parseArgs(newFlagSet("features"), args); err != nil {
		return g.runtimeError(fmt.Errorf("features: %w", err))
	}
	b, err := json.MarshalIndent(oci.Features(), "", "    ")
	if err != nil {
		return g.runtimeError(err)
	}
	fmt.Printf("%s\n", b)
	return 0
}
