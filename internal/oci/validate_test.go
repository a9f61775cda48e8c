package oci

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// validSpec is a small configuration that passes, for the cases below to
// break one thing at a time.
func validSpec() *specs.Spec {
	return &specs.Spec{
		Version: "1.0.2",
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{
			Args: []string{"sh"},
			Cwd:  "/",
			Env:  []string{"PATH=/bin", "EMPTY="},
		},
		Hostname: "box",
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.MountNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.NetworkNamespace},
			},
			MaskedPaths:   []string{"/proc/kcore"},
			ReadonlyPaths: []string{"/proc/sys"},
		},
	}
}

func bundleDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func withoutNamespace(s *specs.Spec, t specs.LinuxNamespaceType) {
	var nss []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type != t {
			nss = append(nss, ns)
		}
	}
	s.Linux.Namespaces = nss
}

func intp(i int) *int { return &i }

func TestValidateAccepts(t *testing.T) {
	dir := bundleDir(t)
	for _, tc := range []struct {
		name   string
		modify func(*specs.Spec)
	}{
		{"as is", func(*specs.Spec) {}},
		{"prerelease version", func(s *specs.Spec) { s.Version = "1.0.0-rc5" }},
		{"newer minor version", func(s *specs.Spec) { s.Version = "1.9.0" }},
		{"absolute root", func(s *specs.Spec) { s.Root.Path = filepath.Join(dir, "rootfs") }},
		{"relative mount destination", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "tmp", Type: "tmpfs", Source: "tmpfs"}}
		}},
		{"rlimit soft equals hard", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 1024}}
		}},
		{"namespace joined by path", func(s *specs.Spec) {
			s.Linux.Namespaces[4].Path = "/run/netns/cni-1234"
		}},
		{"user namespace with mappings", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		}},
		{"joined user namespace with mappings", func(s *specs.Spec) {
			// containerd and CRI-O send both; runc tolerates it.
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: "/proc/42/ns/user"})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 1000, HostID: 1000, Size: 1}}
		}},
		{"namespaced sysctls", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{
				"net.ipv4.ip_forward":              "1",
				"net/ipv4/conf/eth0.100/rp_filter": "1",
				"kernel.shmmax":                    "68719476736",
				"fs.mqueue.msg_max":                "100",
				"kernel.domainname":                "example.com",
			}
		}},
		{"console size without a terminal is ignored", func(s *specs.Spec) {
			s.Process.ConsoleSize = &specs.Box{Height: 1 << 20, Width: 1 << 20}
		}},
		{"hook with timeout", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true", Timeout: intp(5)}}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			tc.modify(s)
			if err := Validate(s, dir); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
}

func TestValidateRefuses(t *testing.T) {
	dir := bundleDir(t)
	for _, tc := range []struct {
		name   string
		modify func(*specs.Spec)
		want   string
	}{
		{"no version", func(s *specs.Spec) { s.Version = "" },
			`config.json: ociVersion: missing`},
		{"version 2", func(s *specs.Spec) { s.Version = "2.0.0" },
			`config.json: ociVersion "2.0.0": version 2 of the runtime specification is not supported (1.x is)`},
		{"version 0", func(s *specs.Spec) { s.Version = "0.5.0-dev" },
			`config.json: ociVersion "0.5.0-dev": version 0 of the runtime specification is not supported (1.x is)`},
		{"not semver", func(s *specs.Spec) { s.Version = "1.0" },
			`config.json: ociVersion "1.0": not a version of the form 1.MINOR.PATCH`},
		{"no root", func(s *specs.Spec) { s.Root = nil },
			`config.json: root: missing`},
		{"empty root path", func(s *specs.Spec) { s.Root.Path = "" },
			`config.json: root.path: must not be empty`},
		{"missing root", func(s *specs.Spec) { s.Root.Path = "nope" },
			`config.json: root.path "nope": no such directory`},
		{"root is a file", func(s *specs.Spec) { s.Root.Path = "file" },
			`config.json: root.path "file": not a directory`},
		{"no process", func(s *specs.Spec) { s.Process = nil },
			`config.json: process: missing (a container needs a process to run)`},
		{"no args", func(s *specs.Spec) { s.Process.Args = nil },
			`config.json: process.args: must not be empty`},
		{"empty program", func(s *specs.Spec) { s.Process.Args = []string{"", "x"} },
			`config.json: process.args[0]: must not be empty`},
		{"NUL in an argument", func(s *specs.Spec) { s.Process.Args = []string{"sh", "a\x00b"} },
			`config.json: process.args[1]: contains a NUL byte`},
		{"no cwd", func(s *specs.Spec) { s.Process.Cwd = "" },
			`config.json: process.cwd: must not be empty`},
		{"relative cwd", func(s *specs.Spec) { s.Process.Cwd = "tmp" },
			`config.json: process.cwd "tmp": not an absolute path`},
		{"env without =", func(s *specs.Spec) { s.Process.Env = []string{"A=1", "FOO"} },
			`config.json: process.env[1] "FOO": not of the form NAME=VALUE`},
		{"env without name", func(s *specs.Spec) { s.Process.Env = []string{"=x"} },
			`config.json: process.env[0] "=x": empty variable name`},
		{"env with NUL", func(s *specs.Spec) { s.Process.Env = []string{"A=\x00"} },
			`config.json: process.env[0]: contains a NUL byte`},
		{"uid -1", func(s *specs.Spec) { s.Process.User.UID = 4294967295 },
			`config.json: process.user.uid: 4294967295 is not a valid user ID`},
		{"additional gid -1", func(s *specs.Spec) { s.Process.User.AdditionalGids = []uint32{5, 4294967295} },
			`config.json: process.user.additionalGids[1]: 4294967295 is not a valid group ID`},
		{"console too large", func(s *specs.Spec) {
			s.Process.Terminal = true
			s.Process.ConsoleSize = &specs.Box{Height: 70000, Width: 80}
		}, `config.json: process.consoleSize.height: 70000 is larger than 65535`},
		{"unknown rlimit", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1, Hard: 1}, {Type: "RLIMIT_FILES", Soft: 1, Hard: 1}}
		}, `config.json: process.rlimits[1].type "RLIMIT_FILES": unknown resource`},
		{"rlimit soft above hard", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 2048, Hard: 1024}}
		}, `config.json: process.rlimits[0]: soft limit 2048 is above hard limit 1024`},
		{"rlimit twice", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_CORE"}, {Type: "RLIMIT_CORE"}}
		}, `config.json: process.rlimits[1].type "RLIMIT_CORE": listed twice`},
		{"unknown capability", func(s *specs.Spec) {
			s.Process.Capabilities = &specs.LinuxCapabilities{Effective: []string{"CAP_KILL", "CAP_SYS_ADMN"}}
		}, `config.json: process.capabilities.effective[1] "CAP_SYS_ADMN": unknown capability`},
		{"capability without prefix", func(s *specs.Spec) {
			s.Process.Capabilities = &specs.LinuxCapabilities{Ambient: []string{"NET_RAW"}}
		}, `config.json: process.capabilities.ambient[0] "NET_RAW": unknown capability`},
		{"oom score", func(s *specs.Spec) { s.Process.OOMScoreAdj = intp(1001) },
			`config.json: process.oomScoreAdj: 1001 is outside -1000..1000`},
		{"hostname without UTS namespace", func(s *specs.Spec) { withoutNamespace(s, specs.UTSNamespace) },
			`config.json: hostname "box": needs a UTS namespace in linux.namespaces`},
		{"hostname without linux", func(s *specs.Spec) { s.Linux = nil },
			`config.json: hostname "box": needs a UTS namespace in linux.namespaces`},
		{"domainname without UTS namespace", func(s *specs.Spec) {
			s.Hostname = ""
			s.Domainname = "example.com"
			withoutNamespace(s, specs.UTSNamespace)
		}, `config.json: domainname "example.com": needs a UTS namespace in linux.namespaces`},
		{"mount without destination", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "/proc", Type: "proc"}, {Type: "tmpfs"}}
		}, `config.json: mounts[1].destination: must not be empty`},
		{"relative hook", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true"}, {Path: "hook.sh"}}}
		}, `config.json: hooks.createRuntime[1].path "hook.sh": not an absolute path`},
		{"hook without path", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{}}}
		}, `config.json: hooks.prestart[0].path: must not be empty`},
		{"hook timeout zero", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true", Timeout: intp(0)}}}
		}, `config.json: hooks.poststop[0].timeout: must be greater than zero`},
		{"empty annotation key", func(s *specs.Spec) { s.Annotations = map[string]string{"": "x"} },
			`config.json: annotations: empty key`},
		{"unknown namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "net"})
		}, `config.json: linux.namespaces[5].type "net": unknown namespace type`},
		{"namespace twice", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "pid", Path: "/proc/1/ns/pid"})
		}, `config.json: linux.namespaces[5].type "pid": listed twice`},
		{"relative namespace path", func(s *specs.Spec) { s.Linux.Namespaces[4].Path = "netns" },
			`config.json: linux.namespaces[4].path "netns": not an absolute path`},
		{"mappings without user namespace", func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
		}, `config.json: linux.uidMappings: set without a user namespace in linux.namespaces`},
		{"user namespace without mappings", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
		}, `config.json: linux.gidMappings: a new user namespace needs mappings`},
		{"root not mapped", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 1, HostID: 1000, Size: 10}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
		}, `config.json: linux.uidMappings: container ID 0 is not mapped`},
		{"empty mapping", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 5, HostID: 5}}
		}, `config.json: linux.gidMappings[1].size: must not be zero`},
		{"overlapping mappings", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 1000}, {ContainerID: 500, HostID: 200000, Size: 10}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
		}, `config.json: linux.uidMappings: extents (0 100000 1000) and (500 200000 10) overlap`},
		{"mapping past the end", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 4294967295, Size: 2}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
		}, "config.json: linux.uidMappings[0]: range goes past 4294967295\nconfig.json: linux.uidMappings: container ID 0 is not mapped"},
		{"time offsets without time namespace", func(s *specs.Spec) {
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 1}}
		}, `config.json: linux.timeOffsets: set without a time namespace in linux.namespaces`},
		{"device type", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "x"}}
		}, `config.json: linux.devices[0].type "x": not one of c, b, u, p`},
		{"relative masked path", func(s *specs.Spec) { s.Linux.MaskedPaths = []string{"/proc/kcore", "proc/keys"} },
			`config.json: linux.maskedPaths[1] "proc/keys": not an absolute path`},
		{"relative read-only path", func(s *specs.Spec) { s.Linux.ReadonlyPaths = []string{"sys"} },
			`config.json: linux.readonlyPaths[0] "sys": not an absolute path`},
		{"masked paths without mount namespace", func(s *specs.Spec) {
			s.Linux.ReadonlyPaths = nil
			withoutNamespace(s, specs.MountNamespace)
		}, `config.json: linux.maskedPaths: needs a mount namespace in linux.namespaces`},
		{"IPC sysctl without IPC namespace", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"kernel.msgmax": "8192"}
			withoutNamespace(s, specs.IPCNamespace)
		}, `config.json: linux.sysctl["kernel.msgmax"]: needs an IPC namespace in linux.namespaces`},
		{"net sysctl without network namespace", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net/core/somaxconn": "1024"}
			withoutNamespace(s, specs.NetworkNamespace)
		}, `config.json: linux.sysctl["net/core/somaxconn"]: needs a network namespace in linux.namespaces`},
		{"host-wide sysctl", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"vm.swappiness": "0"} },
			`config.json: linux.sysctl["vm.swappiness"]: not held by a namespace of the container's own`},
		{"hostname sysctl", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"kernel.hostname": "x"} },
			`config.json: linux.sysctl["kernel.hostname"]: conflicts with the hostname field`},
		{"sysctl names", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net..core": "1", "net/ipv4/../x": "1", "": "1", "net.core.a b": "1"}
		}, "config.json: linux.sysctl[\"\"]: not a parameter name\n" +
			"config.json: linux.sysctl[\"net..core\"]: not a parameter name\n" +
			"config.json: linux.sysctl[\"net.core.a b\"]: not a parameter name\n" +
			"config.json: linux.sysctl[\"net/ipv4/../x\"]: not a parameter name"},
		{"sysctl spelled twice", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "net/ipv4/ip_forward": "0"}
		}, `config.json: linux.sysctl["net/ipv4/ip_forward"]: names a parameter already set under another spelling`},
		{"rootfs propagation", func(s *specs.Spec) { s.Linux.RootfsPropagation = "rprivat" },
			`config.json: linux.rootfsPropagation "rprivat": unknown propagation`},
		{"device rule without access", func(s *specs.Spec) {
			s.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "c"}}}
		}, `config.json: linux.resources.devices[1].access: must not be empty`},
		{"device rule access", func(s *specs.Spec) {
			s.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Type: "u", Access: "rwx"}}}
		}, "config.json: linux.resources.devices[0].type \"u\": not one of a, b, c\n" +
			"config.json: linux.resources.devices[0].access \"rwx\": not a combination of r, w, m"},
		{"personality", func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: "LINUX64"} },
			`config.json: linux.personality.domain "LINUX64": not LINUX or LINUX32`},
		{"several problems, in the file's order", func(s *specs.Spec) {
			s.Version = ""
			s.Process.Cwd = "x"
			s.Linux.MaskedPaths = []string{"y"}
		}, "config.json: ociVersion: missing\n" +
			"config.json: process.cwd \"x\": not an absolute path\n" +
			"config.json: linux.maskedPaths[0] \"y\": not an absolute path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			tc.modify(s)
			err := Validate(s, dir)
			if err == nil {
				t.Fatalf("accepted; want %s", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got %s\nwant %s", err, tc.want)
			}
			var fe *FieldError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &fe) {
				t.Errorf("error %q is not a *FieldError wrapping ErrInvalid", err)
			}
		})
	}
}

func TestSysctlName(t *testing.T) {
	for raw, want := range map[string]string{
		"net.ipv4.ip_forward":              "net.ipv4.ip_forward",
		"net/ipv4/ip_forward":              "net.ipv4.ip_forward",
		"net/ipv4/conf/eth0.100/rp_filter": "net.ipv4.conf.eth0/100.rp_filter",
		"net.ipv4.conf.eth0/100.rp_filter": "net.ipv4.conf.eth0/100.rp_filter",
		"kernel.shm_rmid_forced":           "kernel.shm_rmid_forced",
	} {
		got, ok := sysctlName(raw)
		if !ok || got != want {
			t.Errorf("sysctlName(%q) = %q, %v; want %q", raw, got, ok, want)
		}
	}
	for _, raw := range []string{"", ".", "net.", ".net", "net..x", "net/./x", "net/../x", "net.a\tb", "net.a\x00"} {
		if got, ok := sysctlName(raw); ok {
			t.Errorf("sysctlName(%q) = %q; want refusal", raw, got)
		}
	}
}

func TestCheckNamespacePaths(t *testing.T) {
	spec := func(t specs.LinuxNamespaceType, path string) *specs.Spec {
		return &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: t, Path: path}}}}
	}
	if err := CheckNamespacePaths(spec(specs.NetworkNamespace, "/proc/self/ns/net")); err != nil {
		t.Errorf("a network namespace as network: %v", err)
	}
	for _, c := range []struct {
		t    specs.LinuxNamespaceType
		path string
		want string
	}{
		{specs.CgroupNamespace, "/proc/self/ns/ipc", `linux.namespaces[0].path "/proc/self/ns/ipc": a namespace of another type than cgroup`},
		{specs.NetworkNamespace, "/etc/hostname", `linux.namespaces[0].path "/etc/hostname": not a namespace file`},
	} {
		err := CheckNamespacePaths(spec(c.t, c.path))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s as %s: %v; want %q", c.path, c.t, err, c.want)
		}
	}
}
