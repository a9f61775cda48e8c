package shim

import (
	"fmt"
	"os"
	"sort"

	runtimeoptions "github.com/containerd/containerd/pkg/runtimeoptions/v1"
	"github.com/containerd/typeurl/v2"
	"github.com/pelletier/go-toml"
	"google.golang.org/protobuf/types/known/anypb"
)

// The runtime's options from containerd's configuration, as runsc's
// shim takes them: the CRI plugin's options table for the runtime names
// a TOML file,
//
//	[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.magawa.options]
//	  TypeUrl = "io.containerd.magawa.v1.options"
//	  ConfigPath = "/etc/containerd/magawa.toml"
//
// whose [magawa] table holds magawa's global flags by name:
//
//	[magawa]
//	platform = "systrap"
//	network = "sandbox"
//	debug-log = "/var/log/magawa/debug.log"
//	strace = true

// OptionsTypeURL is the TypeUrl the configuration gives.
const OptionsTypeURL = "io.containerd.magawa.v1.options"

// runtimeFlags are the global flags an options file may set, and
// whether each is a switch.
var runtimeFlags = map[string]bool{
	"sandbox": false, "platform": false, "network": false, "overlay": false,
	"debug": true, "debug-log": false, "strace": true,
	"vm-kernel": false, "vm-initrd": false, "vm-qemu": false, "vm-machine": false,
	"vm-accel": false, "vm-boot-timeout": false, "vm-cmdline": false,
}

// parseOptions turns the options containerd passes into the runtime's
// global flags.
func parseOptions(a *anypb.Any) ([]string, error) {
	v, err := typeurl.UnmarshalAny(a)
	if err != nil {
		return nil, fmt.Errorf("the runtime options (%s): %w", a.GetTypeUrl(), err)
	}
	o, ok := v.(*runtimeoptions.Options)
	if !ok {
		return nil, fmt.Errorf("the runtime options are a %T: want the CRI plugin's runtimeoptions with a ConfigPath", v)
	}
	body := o.ConfigBody
	if o.ConfigPath != "" {
		if body, err = os.ReadFile(o.ConfigPath); err != nil {
			return nil, fmt.Errorf("the runtime options: %w", err)
		}
	}
	if len(body) == 0 {
		return nil, nil
	}
	return flagsFromTOML(body)
}

// flagsFromTOML reads the [magawa] table of an options file.
func flagsFromTOML(body []byte) ([]string, error) {
	tree, err := toml.LoadBytes(body)
	if err != nil {
		return nil, fmt.Errorf("the runtime options file: %w", err)
	}
	table, ok := tree.Get("magawa").(*toml.Tree)
	if !ok {
		if tree.Has("magawa") {
			return nil, fmt.Errorf("the runtime options file: [magawa] is not a table")
		}
		return nil, nil
	}
	keys := table.Keys()
	sort.Strings(keys)
	var flags []string
	for _, k := range keys {
		isSwitch, known := runtimeFlags[k]
		if !known {
			return nil, fmt.Errorf("the runtime options file: [magawa] %s: not an option of magawa (want one of its global flags: sandbox, platform, network, overlay, debug, debug-log, strace, vm-*)", k)
		}
		switch v := table.Get(k).(type) {
		case bool:
			if !isSwitch {
				return nil, fmt.Errorf("the runtime options file: [magawa] %s: want a string", k)
			}
			flags = append(flags, fmt.Sprintf("--%s=%t", k, v))
		case string:
			if isSwitch {
				return nil, fmt.Errorf("the runtime options file: [magawa] %s: want true or false", k)
			}
			flags = append(flags, "--"+k+"="+v)
		default:
			return nil, fmt.Errorf("the runtime options file: [magawa] %s: want a string or a boolean, not %T", k, v)
		}
	}
	return flags, nil
}
