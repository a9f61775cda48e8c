package oci

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"magawa/internal/sandbox"
	"magawa/kernel/vfs"
)

// loadFixture installs testdata/name as a bundle's config.json, with
// @HOST@ standing for a scratch directory that plays the host's /, and
// makes the root and the bind mount sources it names.
func loadFixture(t *testing.T, name string) (spec *specs.Spec, bundle, host string) {
	t.Helper()
	host = t.TempDir()
	bundle = filepath.Join(host, "bundle")
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	config := strings.ReplaceAll(string(raw), "@HOST@", host)
	parsed, err := Parse([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	mustMkdir(t, bundle)
	root := parsed.Root.Path
	if !filepath.IsAbs(root) {
		root = filepath.Join(bundle, root)
	}
	mustMkdir(t, root)
	for _, m := range parsed.Mounts {
		if !isBind(m) {
			continue
		}
		if m.Destination == "/dev/shm" || m.Destination == "/data" {
			mustMkdir(t, m.Source)
		} else {
			mustMkdir(t, filepath.Dir(m.Source))
			if err := os.WriteFile(m.Source, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(bundle, ConfigName), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err = Load(bundle)
	if err != nil {
		t.Fatalf("loading %s: %v", name, err)
	}
	return spec, bundle, host
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

const (
	nosuid = vfs.MountNoSuid
	nodev  = vfs.MountNoDev
	noexec = vfs.MountNoExec
	ro     = vfs.MountReadOnly
)

func checkMounts(t *testing.T, got, want []sandbox.Mount) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d mounts, want %d: %+v", len(got), len(want), got)
	}
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("mount %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestDockerFixture(t *testing.T) {
	spec, bundle, host := loadFixture(t, "docker.json")
	cfg, err := ToSandbox(spec, bundle)
	if err != nil {
		t.Fatal(err)
	}
	if want := host + "/var/lib/docker/overlay2/8c1f5e0a2b7d/merged"; cfg.RootDir != want {
		t.Errorf("RootDir %q, want %q", cfg.RootDir, want)
	}
	if cfg.RootReadOnly || !cfg.ProtectInit || cfg.TTY != sandbox.TTYOn {
		t.Errorf("RootReadOnly %v ProtectInit %v TTY %v", cfg.RootReadOnly, cfg.ProtectInit, cfg.TTY)
	}
	p := cfg.Process
	if !p.Terminal || p.ConsoleRows != 50 || p.ConsoleColumns != 200 {
		t.Errorf("terminal %v %dx%d, want a 50x200 terminal", p.Terminal, p.ConsoleRows, p.ConsoleColumns)
	}
	if want := []uint32{0, 1, 2, 3, 4, 6, 10, 11, 20, 26, 27}; !reflect.DeepEqual(p.AdditionalGIDs, want) {
		t.Errorf("AdditionalGIDs %v, want %v", p.AdditionalGIDs, want)
	}
	// Docker's 14 default capabilities: CHOWN 0, DAC_OVERRIDE 1, FOWNER
	// 3, FSETID 4, KILL 5, SETGID 6, SETUID 7, SETPCAP 8,
	// NET_BIND_SERVICE 10, NET_RAW 13, SYS_CHROOT 18, MKNOD 27,
	// AUDIT_WRITE 29, SETFCAP 31.
	const dockerCaps = 0xa80425fb
	if want := (sandbox.Capabilities{Bounding: dockerCaps, Effective: dockerCaps, Permitted: dockerCaps}); p.Capabilities == nil || *p.Capabilities != want {
		t.Errorf("capabilities %+v, want %+v", p.Capabilities, want)
	}
	if p.Rlimits != nil {
		t.Errorf("rlimits %v, want none", p.Rlimits)
	}
	if cfg.Hostname != "3f1e2b6c9a7d" {
		t.Errorf("hostname %q", cfg.Hostname)
	}
	containers := host + "/var/lib/docker/containers/3f1e2b6c9a7d"
	checkMounts(t, cfg.Mounts, []sandbox.Mount{
		{Target: "/proc", Type: "proc", Source: "proc", Flags: nosuid | noexec | nodev},
		{Target: "/dev", Type: "tmpfs", Source: "tmpfs", Flags: nosuid, Data: "mode=755,size=65536k"},
		{Target: "/dev/pts", Type: "devpts", Source: "devpts", Flags: nosuid | noexec, Data: "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		{Target: "/sys", Type: "sysfs", Source: "sysfs", Flags: nosuid | noexec | nodev | ro},
		{Target: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Flags: nosuid | noexec | nodev | ro},
		{Target: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Flags: nosuid | noexec | nodev},
		{Target: "/dev/shm", Type: "bind", Source: containers + "/mounts/shm", Recursive: true},
		{Target: "/etc/resolv.conf", Type: "bind", Source: containers + "/resolv.conf", Recursive: true},
		{Target: "/etc/hostname", Type: "bind", Source: containers + "/hostname", Recursive: true},
		{Target: "/etc/hosts", Type: "bind", Source: containers + "/hosts", Recursive: true},
	})
	if len(cfg.MaskedPaths) != 12 || cfg.MaskedPaths[2] != "/proc/interrupts" || len(cfg.ReadonlyPaths) != 5 {
		t.Errorf("masked %v read-only %v", cfg.MaskedPaths, cfg.ReadonlyPaths)
	}
	if want := map[string]string{"net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647"}; !reflect.DeepEqual(cfg.Sysctl, want) {
		t.Errorf("sysctl %v, want %v", cfg.Sysctl, want)
	}

	h := HostConfig(spec)
	if path, ok := h.Namespace(specs.NetworkNamespace); !ok || path != "" {
		t.Errorf("network namespace %q %v, want a new one", path, ok)
	}
	if _, ok := h.Namespace(specs.UserNamespace); ok {
		t.Error("a user namespace, none asked for")
	}
	if h.CgroupsPath != "system.slice:docker:3f1e2b6c9a7d" || h.Resources == nil || len(h.Resources.Devices) != 9 {
		t.Errorf("cgroup %q resources %+v", h.CgroupsPath, h.Resources)
	}
	if h.Hooks == nil || len(h.Hooks.Prestart) != 1 || h.Hooks.Prestart[0].Args[0] != "libnetwork-setkey" { //nolint:staticcheck // Docker's
		t.Errorf("hooks %+v", h.Hooks)
	}
	if h.OOMScoreAdj == nil || *h.OOMScoreAdj != 0 {
		t.Errorf("oomScoreAdj %v", h.OOMScoreAdj)
	}
	checkWarnings(t, spec, []string{
		`config.json: process.apparmorProfile "docker-default": not applied: AppArmor is not supported (the sandbox confines the application)`,
		`config.json: linux.seccomp: not applied: the application's system calls are served by magawa's kernel and never reach the host's`,
	})
}

func TestPodmanFixture(t *testing.T) {
	spec, bundle, host := loadFixture(t, "podman.json")
	cfg, err := ToSandbox(spec, bundle)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Process
	if want := []string{"/bin/sh", "-c", "echo hello"}; !reflect.DeepEqual(p.Argv, want) {
		t.Errorf("argv %q, want %q", p.Argv, want)
	}
	// TERM is given twice: the last wins, where it stands.
	if want := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"container=podman",
		"HOME=/root",
		"HOSTNAME=0d5b9e4a1c22",
		"TERM=xterm-256color",
	}; !reflect.DeepEqual(p.Env, want) {
		t.Errorf("env %q,\nwant %q", p.Env, want)
	}
	if p.Umask == nil || *p.Umask != 0o22 {
		t.Errorf("umask %v, want 022", p.Umask)
	}
	if p.Terminal || cfg.TTY != sandbox.TTYOff {
		t.Errorf("terminal %v TTY %v, want none", p.Terminal, cfg.TTY)
	}
	if want := []sandbox.Rlimit{{Resource: 7, Soft: 524288, Hard: 524288}, {Resource: 6, Soft: 4194304, Hard: 4194304}}; !reflect.DeepEqual(p.Rlimits, want) {
		t.Errorf("rlimits %+v, want %+v", p.Rlimits, want)
	}
	// CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, FSETID 4, KILL 5, SETGID 6,
	// SETUID 7, SETPCAP 8, NET_BIND_SERVICE 10, SYS_CHROOT 18, SETFCAP 31.
	const podmanCaps = 0x800405fb
	if want := (sandbox.Capabilities{Bounding: podmanCaps, Effective: podmanCaps, Permitted: podmanCaps}); p.Capabilities == nil || *p.Capabilities != want {
		t.Errorf("capabilities %+v, want %+v", p.Capabilities, want)
	}
	userdata := host + "/run/containers/storage/overlay-containers/0d5b9e4a1c22/userdata"
	checkMounts(t, cfg.Mounts, []sandbox.Mount{
		{Target: "/proc", Type: "proc", Source: "proc", Flags: nosuid | noexec | nodev},
		{Target: "/dev", Type: "tmpfs", Source: "tmpfs", Flags: nosuid, Data: "mode=755,size=65536k"},
		{Target: "/sys", Type: "sysfs", Source: "sysfs", Flags: nosuid | noexec | nodev | ro},
		{Target: "/dev/pts", Type: "devpts", Source: "devpts", Flags: nosuid | noexec, Data: "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		{Target: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Flags: nosuid | noexec | nodev},
		{Target: "/etc/hostname", Type: "bind", Source: userdata + "/hostname"},
		{Target: "/run/.containerenv", Type: "bind", Source: userdata + "/.containerenv"},
		{Target: "/etc/resolv.conf", Type: "bind", Source: userdata + "/resolv.conf"},
		{Target: "/etc/hosts", Type: "bind", Source: userdata + "/hosts"},
		{Target: "/dev/shm", Type: "bind", Source: host + "/var/lib/containers/storage/overlay-containers/0d5b9e4a1c22/userdata/shm", Flags: nosuid | noexec | nodev},
		{Target: "/tmp", Type: "tmpfs", Source: "tmpfs", Flags: nosuid | noexec | nodev},
		{Target: "/data", Type: "bind", Source: host + "/srv/data", Flags: ro | nosuid | nodev, Recursive: true},
		{Target: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Flags: nosuid | noexec | nodev | ro},
	})
	if want := map[string]string{"net.ipv4.ping_group_range": "0 0"}; !reflect.DeepEqual(cfg.Sysctl, want) {
		t.Errorf("sysctl %v", cfg.Sysctl)
	}
	h := HostConfig(spec)
	if path, ok := h.Namespace(specs.NetworkNamespace); !ok || path != "/run/netns/netns-6f3c2a1b-9d8e-7f6a-5b4c-3d2e1f0a9b8c" {
		t.Errorf("network namespace %q %v, want podman's", path, ok)
	}
	if h.Annotations["io.container.manager"] != "libpod" {
		t.Errorf("annotations %v", h.Annotations)
	}
	if h.Resources == nil || h.Resources.Pids == nil || h.Resources.Pids.Limit == nil || *h.Resources.Pids.Limit != 2048 {
		t.Errorf("resources %+v, want a pids limit of 2048", h.Resources)
	}
	checkWarnings(t, spec, []string{
		`config.json: process.selinuxLabel "system_u:system_r:container_t:s0:c123,c456": not applied: SELinux is not supported (the sandbox confines the application)`,
		`config.json: mounts[10].options: "tmpcopyup": the tmpfs starts empty: what the image has at the destination is not copied in`,
		`config.json: linux.seccomp: not applied: the application's system calls are served by magawa's kernel and never reach the host's`,
		`config.json: linux.mountLabel "system_u:object_r:container_file_t:s0:c123,c456": not applied: SELinux is not supported`,
	})
}

func TestContainerdFixture(t *testing.T) {
	spec, bundle, _ := loadFixture(t, "containerd.json")
	cfg, err := ToSandbox(spec, bundle)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(bundle, "rootfs"); cfg.RootDir != want {
		t.Errorf("RootDir %q, want %q", cfg.RootDir, want)
	}
	p := cfg.Process
	if !p.NoNewPrivileges || p.Terminal || p.Cwd != "/" || p.UID != 0 || p.Umask != nil {
		t.Errorf("process %+v", p)
	}
	if want := []sandbox.Rlimit{{Resource: 7, Soft: 1024, Hard: 1024}}; !reflect.DeepEqual(p.Rlimits, want) {
		t.Errorf("rlimits %+v, want %+v", p.Rlimits, want)
	}
	if cfg.Hostname != "" || cfg.Sysctl != nil {
		t.Errorf("hostname %q sysctl %v", cfg.Hostname, cfg.Sysctl)
	}
	checkMounts(t, cfg.Mounts, []sandbox.Mount{
		{Target: "/proc", Type: "proc", Source: "proc", Flags: nosuid | noexec | nodev},
		{Target: "/dev", Type: "tmpfs", Source: "tmpfs", Flags: nosuid, Data: "mode=755,size=65536k"},
		{Target: "/dev/pts", Type: "devpts", Source: "devpts", Flags: nosuid | noexec, Data: "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		{Target: "/dev/shm", Type: "tmpfs", Source: "shm", Flags: nosuid | noexec | nodev, Data: "mode=1777,size=65536k"},
		{Target: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Flags: nosuid | noexec | nodev},
		{Target: "/sys", Type: "sysfs", Source: "sysfs", Flags: nosuid | noexec | nodev | ro},
		{Target: "/run", Type: "tmpfs", Source: "tmpfs", Flags: nosuid, Data: "mode=755,size=65536k"},
	})
	if h := HostConfig(spec); h.CgroupsPath != "/default/demo" || h.Hooks != nil {
		t.Errorf("host %+v", h)
	}
	checkWarnings(t, spec, nil)
}

func checkWarnings(t *testing.T, spec *specs.Spec, want []string) {
	t.Helper()
	got := Warnings(spec)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
}

func TestParseMountOptions(t *testing.T) {
	for _, tc := range []struct {
		options   []string
		flags     uint32
		bind, rec bool
		data      []string
	}{
		{options: nil},
		{options: []string{"ro"}, flags: ro},
		{options: []string{"ro", "rw"}, flags: 0},
		{options: []string{"rw", "ro"}, flags: ro},
		{options: []string{"nosuid", "suid", "nodev", "noexec"}, flags: nodev | noexec},
		{options: []string{"noexec", "exec", "dev", "nodev"}, flags: nodev},
		{options: []string{"noatime"}, flags: vfs.MountNoAtime},
		{options: []string{"noatime", "strictatime"}, flags: 0},
		{options: []string{"noatime", "relatime", "nodiratime"}, flags: vfs.MountNoAtime},
		{options: []string{"rro", "rnosuid", "rnoexec"}, flags: ro | nosuid | noexec},
		{options: []string{"bind"}, bind: true},
		{options: []string{"rbind", "rprivate", "rw"}, bind: true, rec: true},
		{options: []string{"rshared", "slave", "unbindable", "defaults", "", "sync"}},
		{options: []string{"nosuid", "mode=1777", "size=65536k", "newinstance", "uid=0"}, flags: nosuid, data: []string{"mode=1777", "size=65536k", "newinstance", "uid=0"}},
		{options: []string{"tmpcopyup", "nr_inodes=100"}, data: []string{"nr_inodes=100"}},
	} {
		got, err := parseMountOptions(tc.options)
		if err != nil {
			t.Errorf("%q: %v", tc.options, err)
			continue
		}
		if got.flags != tc.flags || got.bind != tc.bind || got.recursive != tc.rec || !reflect.DeepEqual(got.data, tc.data) {
			t.Errorf("%q: flags %#x bind %v rbind %v data %q; want %#x %v %v %q",
				tc.options, got.flags, got.bind, got.recursive, got.data, tc.flags, tc.bind, tc.rec, tc.data)
		}
	}
	for _, o := range []string{"nosymfollow", "rnosymfollow", "remount", "idmap", "ridmap"} {
		if _, err := parseMountOptions([]string{"ro", o}); err == nil {
			t.Errorf("%q accepted", o)
		}
	}
}

func TestToSandboxMounts(t *testing.T) {
	dir := bundleDir(t)
	mustMkdir(t, filepath.Join(dir, "vol"))
	for _, tc := range []struct {
		name  string
		mount specs.Mount
		want  sandbox.Mount
	}{
		{"relative destination", specs.Mount{Destination: "tmp", Type: "tmpfs", Source: "tmpfs"},
			sandbox.Mount{Target: "/tmp", Type: "tmpfs", Source: "tmpfs"}},
		{"unclean destination", specs.Mount{Destination: "/run//lock/", Type: "tmpfs", Source: "tmpfs"},
			sandbox.Mount{Target: "/run/lock", Type: "tmpfs", Source: "tmpfs"}},
		{"bind relative to the bundle", specs.Mount{Destination: "/data", Type: "bind", Source: "vol", Options: []string{"rbind", "ro"}},
			sandbox.Mount{Target: "/data", Type: "bind", Source: filepath.Join(dir, "vol"), Flags: ro, Recursive: true}},
		{"type bind without option", specs.Mount{Destination: "/data", Type: "bind", Source: dir + "/vol/"},
			sandbox.Mount{Target: "/data", Type: "bind", Source: filepath.Join(dir, "vol")}},
		{"bind option on type none", specs.Mount{Destination: "/sys", Type: "none", Source: dir, Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}},
			sandbox.Mount{Target: "/sys", Type: "bind", Source: dir, Flags: nosuid | noexec | nodev | ro, Recursive: true}},
		{"bind data dropped", specs.Mount{Destination: "/x", Type: "bind", Source: dir, Options: []string{"bind", "mode=755"}},
			sandbox.Mount{Target: "/x", Type: "bind", Source: dir}},
		{"cgroup2", specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup2", Source: "cgroup2", Options: []string{"nsdelegate", "ro"}},
			sandbox.Mount{Target: "/sys/fs/cgroup", Type: "cgroup2", Source: "cgroup2", Flags: ro, Data: "nsdelegate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			s.Mounts = []specs.Mount{tc.mount}
			cfg, err := ToSandbox(s, dir)
			if err != nil {
				t.Fatal(err)
			}
			checkMounts(t, cfg.Mounts, []sandbox.Mount{tc.want})
		})
	}
}

func TestToSandboxRefuses(t *testing.T) {
	dir := bundleDir(t)
	for _, tc := range []struct {
		name   string
		modify func(*specs.Spec)
		want   string
	}{
		{"nfs", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "/proc", Type: "proc"}, {Destination: "/tmp", Type: "tmpfs"}, {Destination: "/mnt", Type: "nfs", Source: "server:/export"}}
		}, `config.json: mounts[2]: file system type "nfs" is not supported`},
		{"no type", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "/mnt", Source: "/srv"}}
		}, `config.json: mounts[0]: no file system type, and not a bind mount (no "bind" or "rbind" option)`},
		{"missing bind source", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "/mnt", Type: "bind", Source: "missing", Options: []string{"rbind"}}}
		}, `config.json: mounts[0].source "missing": no such file or directory`},
		{"bind without source", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "/mnt", Type: "bind"}}
		}, `config.json: mounts[0].source: must not be empty for a bind mount`},
		{"nosymfollow", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "/mnt", Type: "tmpfs", Options: []string{"nosuid", "nosymfollow"}}}
		}, `config.json: mounts[0].options: "nosymfollow" is not supported: the sandbox's mounts cannot refuse to follow symbolic links`},
		{"ID-mapped", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "/mnt", Type: "bind", Source: dir, UIDMappings: []specs.LinuxIDMapping{{Size: 1}}}}
		}, `config.json: mounts[0]: ID-mapped mounts are not supported`},
		{"unknown capability", func(s *specs.Spec) {
			s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL", "CAP_FOO"}}
		}, `config.json: process.capabilities.bounding[1] "CAP_FOO": unknown capability`},
		{"every problem", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_BOGUS"}}
			s.Mounts = []specs.Mount{{Destination: "/a", Type: "9p"}, {Destination: "/b", Type: "ext4"}}
		}, "config.json: process.rlimits[0].type \"RLIMIT_BOGUS\": unknown resource\n" +
			"config.json: mounts[0]: file system type \"9p\" is not supported\n" +
			"config.json: mounts[1]: file system type \"ext4\" is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			tc.modify(s)
			_, err := ToSandbox(s, dir)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error:\n got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestToSandboxWithoutMounts(t *testing.T) {
	// nil Mounts would give the sandbox's default mounts.
	cfg, err := ToSandbox(validSpec(), bundleDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Mounts == nil || len(cfg.Mounts) != 0 {
		t.Errorf("mounts %#v, want an empty, non-nil list", cfg.Mounts)
	}
	if cfg.Process.Capabilities != nil {
		t.Errorf("capabilities %+v without process.capabilities", cfg.Process.Capabilities)
	}
}

func TestRlimitTranslation(t *testing.T) {
	// The numbers of <asm-generic/resource.h>, which x86-64 uses.
	want := map[string]int{
		"RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3,
		"RLIMIT_CORE": 4, "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7,
		"RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11,
		"RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
	}
	for name, res := range want {
		p, err := ToProcess(&specs.Process{Args: []string{"x"}, Cwd: "/", Rlimits: []specs.POSIXRlimit{{Type: name, Soft: 3, Hard: 1<<64 - 1}}})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if w := []sandbox.Rlimit{{Resource: res, Soft: 3, Hard: 1<<64 - 1}}; !reflect.DeepEqual(p.Rlimits, w) {
			t.Errorf("%s: %+v, want %+v", name, p.Rlimits, w)
		}
	}
	if len(rlimitResources) != len(want) {
		t.Errorf("%d resources known, want %d", len(rlimitResources), len(want))
	}
}

func TestCapabilityTranslation(t *testing.T) {
	p, err := ToProcess(&specs.Process{Args: []string{"x"}, Cwd: "/", Capabilities: &specs.LinuxCapabilities{
		Bounding:    []string{"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_CHECKPOINT_RESTORE"},
		Effective:   []string{"CAP_NET_ADMIN", "CAP_NET_ADMIN"},
		Inheritable: []string{"CAP_SETFCAP"},
		Permitted:   []string{"CAP_AUDIT_READ", "CAP_BPF"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := sandbox.Capabilities{
		Bounding:    1<<0 | 1<<21 | 1<<40,
		Effective:   1 << 12,
		Inheritable: 1 << 31,
		Permitted:   1<<37 | 1<<39,
	}
	if p.Capabilities == nil || *p.Capabilities != want {
		t.Errorf("capabilities %+v, want %+v", p.Capabilities, want)
	}
	// 41 capabilities, numbered 0..40 without gaps.
	seen := map[int]bool{}
	for name, bit := range capabilityBits {
		if bit < 0 || bit > 40 || seen[bit] || !strings.HasPrefix(name, "CAP_") {
			t.Errorf("%s = %d", name, bit)
		}
		seen[bit] = true
	}
	if len(seen) != 41 {
		t.Errorf("%d capabilities, want 41", len(seen))
	}
}

func TestToProcessChecks(t *testing.T) {
	// exec's process.json goes through the same rules as config.json's.
	_, err := ToProcess(&specs.Process{Args: []string{"ls"}, Cwd: "tmp"})
	if want := `config.json: process.cwd "tmp": not an absolute path`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}

func TestDedupEnv(t *testing.T) {
	got := dedupEnv([]string{"A=1", "B=2", "A=3", "C=", "B=4", "D=5"})
	if want := []string{"A=3", "C=", "B=4", "D=5"}; !reflect.DeepEqual(got, want) {
		t.Errorf("%q, want %q", got, want)
	}
}
