package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func init() {
	register(command{name: "install", summary: "add magawa to Docker's runtimes (daemon.json), or print containerd's configuration: install [--config-file FILE] [--runtime NAME] [--containerd] [-- FLAG...]", run: runInstall})
	register(command{name: "uninstall", summary: "remove magawa from Docker's runtimes: uninstall [--config-file FILE] [--runtime NAME]", run: runUninstall})
}

const dockerConfig = "/etc/docker/daemon.json"

// runInstall adds a runtime entry to Docker's daemon.json, as `runsc
// install` does, keeping everything else in it: the runtime runs this
// binary with the global flags after `--` (say --platform=systrap). With
// --containerd it prints containerd's configuration for the shim
// instead (the CRI plugin's runtime handler and the shim's options
// file), for the administrator to merge: containerd's config.toml is
// not ours to rewrite.
func runInstall(g *globalFlags, args []string) int {
	fs := newFlagSet("install")
	configFile := fs.String("config-file", dockerConfig, "Docker's daemon.json")
	name := fs.String("runtime", "magawa", "the runtime's name (docker run --runtime NAME, or the Kubernetes RuntimeClass handler)")
	containerd := fs.Bool("containerd", false, "print containerd's configuration for containerd-shim-magawa-v1 instead")
	printOnly := fs.Bool("print", false, "print Docker's daemon.json with the runtime added instead of writing it")
	if err := fs.Parse(args); err != nil {
		return g.runtimeError(fmt.Errorf("install: %w", err))
	}
	flags := fs.Args()
	self, err := os.Executable()
	if err != nil {
		return g.runtimeError(fmt.Errorf("install: %w", err))
	}
	if *containerd {
		fmt.Print(containerdConfig(*name, self, flags))
		return 0
	}
	b, err := installDocker(*configFile, *name, self, flags)
	if err != nil {
		return g.runtimeError(fmt.Errorf("install: %w", err))
	}
	if *printOnly {
		os.Stdout.Write(b)
		return 0
	}
	if err := writeConfig(*configFile, b); err != nil {
		return g.runtimeError(fmt.Errorf("install: %w", err))
	}
	fmt.Fprintf(os.Stderr, "added runtime %q to %s: restart dockerd (systemctl restart docker), then docker run --runtime=%s ...\n", *name, *configFile, *name)
	return 0
}

func runUninstall(g *globalFlags, args []string) int {
	fs := newFlagSet("uninstall")
	configFile := fs.String("config-file", dockerConfig, "Docker's daemon.json")
	name := fs.String("runtime", "magawa", "the runtime's name")
	if err := fs.Parse(args); err != nil {
		return g.runtimeError(fmt.Errorf("uninstall: %w", err))
	}
	cfg, err := readDockerConfig(*configFile)
	if err != nil {
		return g.runtimeError(fmt.Errorf("uninstall: %w", err))
	}
	runtimes, _ := cfg["runtimes"].(map[string]any)
	if _, ok := runtimes[*name]; !ok {
		return g.runtimeError(fmt.Errorf("uninstall: %s has no runtime %q", *configFile, *name))
	}
	delete(runtimes, *name)
	if len(runtimes) == 0 {
		delete(cfg, "runtimes")
	}
	b, err := marshalConfig(cfg)
	if err != nil {
		return g.runtimeError(fmt.Errorf("uninstall: %w", err))
	}
	if err := writeConfig(*configFile, b); err != nil {
		return g.runtimeError(fmt.Errorf("uninstall: %w", err))
	}
	return 0
}

// installDocker returns daemon.json with the runtime entry set.
func installDocker(path, name, binary string, flags []string) ([]byte, error) {
	cfg, err := readDockerConfig(path)
	if err != nil {
		return nil, err
	}
	runtimes, ok := cfg["runtimes"].(map[string]any)
	if !ok {
		if cfg["runtimes"] != nil {
			return nil, fmt.Errorf("%s: \"runtimes\" is not an object", path)
		}
		runtimes = map[string]any{}
		cfg["runtimes"] = runtimes
	}
	entry := map[string]any{"path": binary}
	if len(flags) > 0 {
		entry["runtimeArgs"] = flags
	}
	runtimes[name] = entry
	return marshalConfig(cfg)
}

// readDockerConfig reads daemon.json; a missing one is empty.
func readDockerConfig(path string) (map[string]any, error) {
	cfg := map[string]any{}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return cfg, nil
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

func marshalConfig(cfg map[string]any) ([]byte, error) {
	b, err := json.MarshalIndent(cfg, "", "    ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// writeConfig replaces the file at once (a rename), keeping its mode.
func writeConfig(path string, b []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".magawa-install"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// containerdConfig is the CRI plugin's configuration of a runtime
// handler for containerd-shim-magawa-v1 (containerd 1.6 and 1.7's
// version 2 config), and the shim's options file with the global flags
// given.
func containerdConfig(name, binary string, flags []string) string {
	var b strings.Builder
	optionsFile := "/etc/containerd/" + name + ".toml"
	fmt.Fprintf(&b, `# containerd (config.toml, version = 2): the runtime handler %[1]q, for
# crictl runp --runtime %[1]s and a Kubernetes RuntimeClass whose handler is %[1]s.
# containerd-shim-magawa-v1 must be in containerd's PATH, next to %[2]s.
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.%[1]s]
  runtime_type = "io.containerd.magawa.v1"
  # Pod annotations the shim reads (magawa.dev/sandbox: kernel or vm).
  pod_annotations = ["magawa.dev/*"]
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.%[1]s.options]
  TypeUrl = "io.containerd.magawa.v1.options"
  ConfigPath = %[3]q
`, name, binary, optionsFile)
	fmt.Fprintf(&b, "\n# %s: the runtime's global flags, by name.\n[magawa]\n", optionsFile)
	for _, f := range flags {
		k, v, hasValue := strings.Cut(strings.TrimLeft(f, "-"), "=")
		switch {
		case !hasValue:
			fmt.Fprintf(&b, "%s = true\n", k)
		case v == "true" || v == "false":
			fmt.Fprintf(&b, "%s = %s\n", k, v)
		default:
			fmt.Fprintf(&b, "%s = %q\n", k, v)
		}
	}
	return b.String()
}
