package oci

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"magawa/internal/sandbox"
	"magawa/kernel/userns"
)

// ToSandbox translates a configuration into the sandbox's. bundleDir is
// where relative paths (root.path, bind mount sources) are found. It
// refuses what the sandbox cannot honour; run Validate first for the
// specification's own rules (Load does).
//
// Platform, NoOverlay and the writers are the CLI's to fill in.
func ToSandbox(spec *specs.Spec, bundleDir string) (sandbox.Config, error) {
	var cfg sandbox.Config
	if spec == nil {
		return cfg, &FieldError{Problem: "no configuration"}
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return cfg, &FieldError{Field: "root.path", Problem: "must not be empty"}
	}
	if spec.Process == nil {
		return cfg, &FieldError{Field: "process", Problem: "missing (a container needs a process to run)"}
	}
	bundle, err := filepath.Abs(bundleDir)
	if err != nil {
		return cfg, fmt.Errorf("bundle %s: %w", bundleDir, err)
	}
	var errs []error

	cfg.RootDir = spec.Root.Path
	if !filepath.IsAbs(cfg.RootDir) {
		cfg.RootDir = filepath.Join(bundle, cfg.RootDir)
	}
	cfg.RootDir = filepath.Clean(cfg.RootDir)
	cfg.RootReadOnly = spec.Root.Readonly

	cfg.Process, err = ToProcess(spec.Process)
	if err != nil {
		errs = append(errs, err)
	}
	cfg.Hostname = spec.Hostname
	cfg.Domainname = spec.Domainname
	// A container is init of its PID namespace; and what its terminal is
	// comes from process.terminal, never from whether magawa's own stdin
	// happens to be one.
	cfg.ProtectInit = true
	cfg.TTY = sandbox.TTYOff
	if spec.Process.Terminal {
		cfg.TTY = sandbox.TTYOn
	}

	// Never nil: nil would give the sandbox's default mounts, and a
	// configuration without mounts has none.
	cfg.Mounts = make([]sandbox.Mount, 0, len(spec.Mounts))
	for i, m := range spec.Mounts {
		sm, err := toMount(i, m, bundle)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cfg.Mounts = append(cfg.Mounts, sm)
	}

	if l := spec.Linux; l != nil {
		// A new user namespace's mappings say which host IDs the
		// container's files belong to. Joining one by path keeps the
		// host's IDs: the sandbox process itself is not in it.
		if _, ok := HostConfig(spec).Namespace(specs.UserNamespace); ok && userNamespacePath(spec) == "" {
			cfg.UIDMappings = idExtents(l.UIDMappings)
			cfg.GIDMappings = idExtents(l.GIDMappings)
		}
		for _, d := range l.Devices {
			dev := sandbox.Device{Path: d.Path, Type: d.Type, Major: d.Major, Minor: d.Minor}
			if d.FileMode != nil {
				dev.Mode = uint32(*d.FileMode) & 0o7777
			}
			if d.UID != nil {
				dev.UID = *d.UID
			}
			if d.GID != nil {
				dev.GID = *d.GID
			}
			cfg.Devices = append(cfg.Devices, dev)
		}
		cfg.MaskedPaths = cleanPaths(l.MaskedPaths)
		cfg.ReadonlyPaths = cleanPaths(l.ReadonlyPaths)
		for raw, value := range l.Sysctl {
			name, ok := sysctlName(raw)
			if !ok {
				errs = append(errs, &FieldError{Field: fmt.Sprintf("linux.sysctl[%q]", raw), Problem: "not a parameter name"})
				continue
			}
			if cfg.Sysctl == nil {
				cfg.Sysctl = make(map[string]string, len(l.Sysctl))
			}
			cfg.Sysctl[name] = value
		}
	}
	if err := errors.Join(errs...); err != nil {
		return sandbox.Config{}, err
	}
	return cfg, nil
}

func cleanPaths(paths []string) []string {
	if len(paths) == 0 {
		return nil
	}
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Clean(p)
	}
	return out
}

// ToProcess checks and translates a process: the container's first, or
// one `exec` adds (whose process.json is checked by the same rules).
func ToProcess(p *specs.Process) (sandbox.Process, error) {
	v := &validator{spec: &specs.Spec{Process: p}}
	v.process()
	if len(v.errs) > 0 {
		return sandbox.Process{}, errors.Join(v.errs...)
	}
	var errs []error
	out := sandbox.Process{
		Argv:            append([]string(nil), p.Args...),
		Env:             dedupEnv(p.Env),
		Cwd:             p.Cwd,
		UID:             p.User.UID,
		GID:             p.User.GID,
		AdditionalGIDs:  append([]uint32(nil), p.User.AdditionalGids...),
		NoNewPrivileges: p.NoNewPrivileges,
		Terminal:        p.Terminal,
	}
	if p.User.Umask != nil {
		umask := *p.User.Umask
		out.Umask = &umask
	}
	if p.Terminal && p.ConsoleSize != nil {
		// Checked to fit above.
		out.ConsoleRows = uint16(p.ConsoleSize.Height)
		out.ConsoleColumns = uint16(p.ConsoleSize.Width)
	}
	for i, rl := range p.Rlimits {
		res, ok := rlimitResources[rl.Type]
		if !ok {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("process.rlimits[%d].type", i), Value: rl.Type, Problem: "unknown resource"})
			continue
		}
		out.Rlimits = append(out.Rlimits, sandbox.Rlimit{Resource: res, Soft: rl.Soft, Hard: rl.Hard})
	}
	if c := p.Capabilities; c != nil {
		caps := &sandbox.Capabilities{}
		for _, set := range []struct {
			name  string
			names []string
			mask  *uint64
		}{
			{"bounding", c.Bounding, &caps.Bounding},
			{"effective", c.Effective, &caps.Effective},
			{"inheritable", c.Inheritable, &caps.Inheritable},
			{"permitted", c.Permitted, &caps.Permitted},
			{"ambient", c.Ambient, &caps.Ambient},
		} {
			mask, err := capabilityMask("process.capabilities."+set.name, set.names)
			if err != nil {
				errs = append(errs, err)
			}
			*set.mask = mask
		}
		out.Capabilities = caps
	}
	return out, errors.Join(errs...)
}

// capabilityMask turns capability names into a mask, bit N for
// capability N as capget(2) has it.
func capabilityMask(field string, names []string) (uint64, error) {
	var mask uint64
	var errs []error
	for i, name := range names {
		bit, ok := capabilityBits[name]
		if !ok {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("%s[%d]", field, i), Value: name, Problem: "unknown capability"})
			continue
		}
		mask |= 1 << bit
	}
	return mask, errors.Join(errs...)
}

// dedupEnv keeps the last of several entries for one name, in its
// place: getenv(3) returns the first, and whoever wrote the list meant
// the last to win (runc and execve's callers in Go do the same).
func dedupEnv(env []string) []string {
	if env == nil {
		return nil
	}
	last := make(map[string]int, len(env))
	for i, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		last[name] = i
	}
	out := make([]string, 0, len(last))
	for i, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if last[name] == i {
			out = append(out, kv)
		}
	}
	return out
}

// Host is what the runtime does on the host, around the sandbox, as
// the configuration asks: the namespaces it creates or joins for the
// sandbox's processes, the cgroup it puts them in, the hooks it runs.
type Host struct {
	// Namespaces are linux.namespaces in order; a Path means joining an
	// existing namespace (a network namespace a CNI plugin prepared).
	Namespaces               []specs.LinuxNamespace
	UIDMappings, GIDMappings []specs.LinuxIDMapping
	CgroupsPath              string
	// Resources are applied to the sandbox as a whole.
	Resources   *specs.LinuxResources
	OOMScoreAdj *int
	Hooks       *specs.Hooks
	Annotations map[string]string
}

// HostConfig returns what the runtime applies on the host. The values
// share memory with spec.
func HostConfig(spec *specs.Spec) Host {
	h := Host{Hooks: spec.Hooks, Annotations: spec.Annotations}
	if spec.Process != nil {
		h.OOMScoreAdj = spec.Process.OOMScoreAdj
	}
	if l := spec.Linux; l != nil {
		h.Namespaces = l.Namespaces
		h.UIDMappings = l.UIDMappings
		h.GIDMappings = l.GIDMappings
		h.CgroupsPath = l.CgroupsPath
		h.Resources = l.Resources
	}
	return h
}

// Namespace reports whether the configuration lists a namespace of type
// t and the path to join, empty for a new one.
func (h Host) Namespace(t specs.LinuxNamespaceType) (path string, ok bool) {
	for _, ns := range h.Namespaces {
		if ns.Type == t {
			return ns.Path, true
		}
	}
	return "", false
}

// Warnings lists what the configuration asks for that is accepted but
// has no effect in a sandbox, one line each, for the CLI to log.
func Warnings(spec *specs.Spec) []string {
	var w []string
	add := func(field, value, why string) {
		w = append(w, (&FieldError{Field: field, Value: value, Problem: why}).Error())
	}
	if p := spec.Process; p != nil {
		if p.ApparmorProfile != "" {
			add("process.apparmorProfile", p.ApparmorProfile, "not applied: AppArmor is not supported (the sandbox confines the application)")
		}
		if p.SelinuxLabel != "" {
			add("process.selinuxLabel", p.SelinuxLabel, "not applied: SELinux is not supported (the sandbox confines the application)")
		}
		if p.Scheduler != nil {
			add("process.scheduler", "", "not applied")
		}
		if p.IOPriority != nil {
			add("process.ioPriority", "", "not applied")
		}
		if p.ExecCPUAffinity != nil {
			add("process.execCPUAffinity", "", "not applied")
		}
	}
	for i, m := range spec.Mounts {
		opts, err := parseMountOptions(m.Options)
		if err != nil {
			continue // ToSandbox refuses it
		}
		for _, why := range opts.ignored {
			add(fmt.Sprintf("mounts[%d].options", i), "", why)
		}
	}
	l := spec.Linux
	if l == nil {
		return w
	}
	if l.Seccomp != nil {
		add("linux.seccomp", "", "not applied: the application's system calls are served by magawa's kernel and never reach the host's")
	}
	for i, d := range l.Devices {
		if d.Type == "p" || (d.Type != "b" && isSandboxDevice(d.Major, d.Minor)) {
			continue
		}
		add(fmt.Sprintf("linux.devices[%d]", i), d.Path, "made, but opening it fails with ENXIO: host devices are not reachable from the sandbox")
	}
	if l.MountLabel != "" {
		add("linux.mountLabel", l.MountLabel, "not applied: SELinux is not supported")
	}
	for _, ns := range l.Namespaces {
		if ns.Type == specs.TimeNamespace {
			add("linux.namespaces", string(ns.Type), "not applied: the sandbox's clocks are the host's")
		}
	}
	if p := propagationOptions[l.RootfsPropagation]; p.warn != "" {
		add("linux.rootfsPropagation", l.RootfsPropagation, "not applied: "+p.warn)
	}
	if l.IntelRdt != nil {
		add("linux.intelRdt", "", "not applied")
	}
	if l.MemoryPolicy != nil {
		add("linux.memoryPolicy", "", "not applied")
	}
	if len(l.NetDevices) > 0 {
		add("linux.netDevices", "", "not applied")
	}
	if l.Personality != nil && l.Personality.Domain == specs.PerLinux32 {
		add("linux.personality.domain", string(l.Personality.Domain), "not applied")
	}
	return w
}

// isSandboxDevice reports whether major:minor is a character device the
// sandbox serves itself (kernel/fs/dev, devpts): the memory devices, the
// terminals and ptmx.
func isSandboxDevice(major, minor int64) bool {
	switch major {
	case 1: // mem: null, zero, full, random, urandom
		return minor == 3 || minor == 5 || minor == 7 || minor == 8 || minor == 9
	case 5: // tty, console, ptmx
		return minor == 0 || minor == 1 || minor == 2
	case 136: // the ptys of devpts
		return true
	}
	return false
}

func idExtents(maps []specs.LinuxIDMapping) []userns.Extent {
	var out []userns.Extent
	for _, m := range maps {
		out = append(out, userns.Extent{Inside: m.ContainerID, Outside: m.HostID, Count: m.Size})
	}
	return out
}
