package oci

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"magawa/kernel/userns"
)

// namespaceTypes are the namespace types config-linux.md defines, in the
// order `runc features` lists them.
var namespaceTypes = []specs.LinuxNamespaceType{
	specs.CgroupNamespace,
	specs.IPCNamespace,
	specs.MountNamespace,
	specs.NetworkNamespace,
	specs.PIDNamespace,
	specs.TimeNamespace,
	specs.UserNamespace,
	specs.UTSNamespace,
}

// semver is SemVer 2.0.0's shape, which config.md requires of ociVersion.
var semver = regexp.MustCompile(`^([0-9]+)\.([0-9]+)\.([0-9]+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// Validate checks a configuration for what a runtime must reject: the
// specification's MUSTs and runc's rules. All problems are reported, one
// per line, each a *FieldError; the result wraps ErrInvalid.
//
// bundleDir is where a relative root.path is found.
func Validate(spec *specs.Spec, bundleDir string) error {
	if spec == nil {
		return &FieldError{Problem: "no configuration"}
	}
	v := &validator{spec: spec, ns: namespaceSet(spec)}
	v.version()
	v.process()
	v.root(bundleDir)
	v.uts()
	v.mounts()
	v.hooks()
	v.annotations()
	v.linux()
	return errors.Join(v.errs...)
}

type validator struct {
	spec *specs.Spec
	// ns are the namespace types the configuration lists, whether new or
	// joined by path: runc's rules ask only whether one is listed.
	ns   map[specs.LinuxNamespaceType]bool
	errs []error
}

func (v *validator) fail(field, value, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Field: field, Value: value, Problem: fmt.Sprintf(format, args...)})
}

// absolute checks a path that config.md or config-linux.md says MUST be
// absolute.
func (v *validator) absolute(field, path string) {
	switch {
	case path == "":
		v.fail(field, "", "must not be empty")
	case strings.IndexByte(path, 0) >= 0:
		v.fail(field, "", "contains a NUL byte")
	case !filepath.IsAbs(path):
		v.fail(field, path, "not an absolute path")
	}
}

func namespaceSet(spec *specs.Spec) map[specs.LinuxNamespaceType]bool {
	set := map[specs.LinuxNamespaceType]bool{}
	if spec.Linux != nil {
		for _, ns := range spec.Linux.Namespaces {
			set[ns.Type] = true
		}
	}
	return set
}

func (v *validator) version() {
	ver := v.spec.Version
	if ver == "" {
		v.fail("ociVersion", "", "missing")
		return
	}
	m := semver.FindStringSubmatch(ver)
	if m == nil {
		v.fail("ociVersion", ver, "not a version of the form 1.MINOR.PATCH")
		return
	}
	// The specification keeps compatibility within a major version, so
	// any 1.x loads: fields newer than ours are ignored as unknown.
	if m[1] != "1" {
		v.fail("ociVersion", ver, "version %s of the runtime specification is not supported (1.x is)", m[1])
	}
}

func (v *validator) root(bundleDir string) {
	root := v.spec.Root
	if root == nil {
		v.fail("root", "", "missing")
		return
	}
	if root.Path == "" {
		v.fail("root.path", "", "must not be empty")
		return
	}
	path := root.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(bundleDir, path)
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		v.fail("root.path", root.Path, "no such directory")
	case err != nil:
		v.fail("root.path", root.Path, "%v", unwrapPathError(err))
	case !fi.IsDir():
		v.fail("root.path", root.Path, "not a directory")
	}
}

// unwrapPathError drops the path from an *os.PathError, which the field
// already names.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (v *validator) process() {
	p := v.spec.Process
	if p == nil {
		v.fail("process", "", "missing (a container needs a process to run)")
		return
	}
	if len(p.Args) == 0 {
		v.fail("process.args", "", "must not be empty")
	} else if p.Args[0] == "" {
		v.fail("process.args[0]", "", "must not be empty")
	}
	for i, a := range p.Args {
		if strings.IndexByte(a, 0) >= 0 {
			v.fail(fmt.Sprintf("process.args[%d]", i), "", "contains a NUL byte")
		}
	}
	v.absolute("process.cwd", p.Cwd)
	for i, kv := range p.Env {
		field := fmt.Sprintf("process.env[%d]", i)
		name, _, ok := strings.Cut(kv, "=")
		switch {
		case strings.IndexByte(kv, 0) >= 0:
			v.fail(field, "", "contains a NUL byte")
		case !ok:
			v.fail(field, kv, "not of the form NAME=VALUE")
		case name == "":
			v.fail(field, kv, "empty variable name")
		}
	}
	v.user(&p.User)
	if p.Terminal && p.ConsoleSize != nil {
		// Only checked with a terminal: config.md has runtimes ignore
		// consoleSize without one.
		if p.ConsoleSize.Height > math.MaxUint16 {
			v.fail("process.consoleSize.height", "", "%d is larger than %d", p.ConsoleSize.Height, math.MaxUint16)
		}
		if p.ConsoleSize.Width > math.MaxUint16 {
			v.fail("process.consoleSize.width", "", "%d is larger than %d", p.ConsoleSize.Width, math.MaxUint16)
		}
	}
	v.rlimits(p.Rlimits)
	if c := p.Capabilities; c != nil {
		v.capabilities("bounding", c.Bounding)
		v.capabilities("effective", c.Effective)
		v.capabilities("inheritable", c.Inheritable)
		v.capabilities("permitted", c.Permitted)
		v.capabilities("ambient", c.Ambient)
	}
	// Linux: mm/oom_kill.c and fs/proc/base.c accept -1000..1000 in
	// oom_score_adj; runc would fail later writing anything else.
	if p.OOMScoreAdj != nil && (*p.OOMScoreAdj < -1000 || *p.OOMScoreAdj > 1000) {
		v.fail("process.oomScoreAdj", "", "%d is outside -1000..1000", *p.OOMScoreAdj)
	}
}

func (v *validator) user(u *specs.User) {
	// (uid_t)-1 is "leave unchanged" to setresuid(2) and setresgid(2):
	// a runtime passing it on would run the process as root.
	const unchanged = math.MaxUint32
	if u.UID == unchanged {
		v.fail("process.user.uid", "", "%d is not a valid user ID", u.UID)
	}
	if u.GID == unchanged {
		v.fail("process.user.gid", "", "%d is not a valid group ID", u.GID)
	}
	for i, g := range u.AdditionalGids {
		if g == unchanged {
			v.fail(fmt.Sprintf("process.user.additionalGids[%d]", i), "", "%d is not a valid group ID", g)
		}
	}
}

func (v *validator) rlimits(rlimits []specs.POSIXRlimit) {
	seen := map[string]bool{}
	for i, rl := range rlimits {
		field := fmt.Sprintf("process.rlimits[%d]", i)
		if _, ok := rlimitResources[rl.Type]; !ok {
			v.fail(field+".type", rl.Type, "unknown resource")
			continue
		}
		// config.md: duplicated entries with the same type MUST be an error.
		if seen[rl.Type] {
			v.fail(field+".type", rl.Type, "listed twice")
		}
		seen[rl.Type] = true
		if rl.Soft > rl.Hard {
			v.fail(field, "", "soft limit %d is above hard limit %d", rl.Soft, rl.Hard)
		}
	}
}

func (v *validator) capabilities(set string, names []string) {
	for i, name := range names {
		if _, ok := capabilityBits[name]; !ok {
			v.fail(fmt.Sprintf("process.capabilities.%s[%d]", set, i), name, "unknown capability")
		}
	}
}

// uts applies runc's rule: the UTS names belong to a UTS namespace of the
// container's own.
func (v *validator) uts() {
	if v.spec.Hostname != "" && !v.ns[specs.UTSNamespace] {
		v.fail("hostname", v.spec.Hostname, "needs a UTS namespace in linux.namespaces")
	}
	if v.spec.Domainname != "" && !v.ns[specs.UTSNamespace] {
		v.fail("domainname", v.spec.Domainname, "needs a UTS namespace in linux.namespaces")
	}
}

func (v *validator) mounts() {
	for i, m := range v.spec.Mounts {
		field := fmt.Sprintf("mounts[%d]", i)
		// A relative destination is deprecated but allowed: config.md has
		// it taken relative to "/", as runc does (with a warning).
		switch {
		case m.Destination == "":
			v.fail(field+".destination", "", "must not be empty")
		case strings.IndexByte(m.Destination, 0) >= 0:
			v.fail(field+".destination", "", "contains a NUL byte")
		}
		if strings.IndexByte(m.Source, 0) >= 0 {
			v.fail(field+".source", "", "contains a NUL byte")
		}
		if strings.IndexByte(m.Type, 0) >= 0 {
			v.fail(field+".type", "", "contains a NUL byte")
		}
	}
}

func (v *validator) hooks() {
	h := v.spec.Hooks
	if h == nil {
		return
	}
	for _, kind := range hookKinds(h) {
		for i, hook := range kind.hooks {
			field := fmt.Sprintf("hooks.%s[%d]", kind.name, i)
			v.absolute(field+".path", hook.Path)
			if hook.Timeout != nil && *hook.Timeout <= 0 {
				v.fail(field+".timeout", "", "must be greater than zero")
			}
		}
	}
}

type hookKind struct {
	name  string
	hooks []specs.Hook
}

// hookKinds lists the hooks in the order of a container's life.
func hookKinds(h *specs.Hooks) []hookKind {
	return []hookKind{
		{"prestart", h.Prestart}, //nolint:staticcheck // deprecated, still sent by Docker
		{"createRuntime", h.CreateRuntime},
		{"createContainer", h.CreateContainer},
		{"startContainer", h.StartContainer},
		{"poststart", h.Poststart},
		{"poststop", h.Poststop},
	}
}

func (v *validator) annotations() {
	if _, ok := v.spec.Annotations[""]; ok {
		v.fail("annotations", "", "empty key")
	}
}

func (v *validator) linux() {
	l := v.spec.Linux
	if l == nil {
		return
	}
	v.namespaces(l.Namespaces)
	v.idMappings("linux.uidMappings", l.UIDMappings)
	v.idMappings("linux.gidMappings", l.GIDMappings)
	if len(l.TimeOffsets) > 0 && !v.ns[specs.TimeNamespace] {
		v.fail("linux.timeOffsets", "", "set without a time namespace in linux.namespaces")
	}
	for i, d := range l.Devices {
		field := fmt.Sprintf("linux.devices[%d]", i)
		v.absolute(field+".path", d.Path)
		switch d.Type {
		case "c", "b", "u", "p":
		default:
			v.fail(field+".type", d.Type, "not one of c, b, u, p")
		}
	}
	v.paths("linux.maskedPaths", l.MaskedPaths)
	v.paths("linux.readonlyPaths", l.ReadonlyPaths)
	v.sysctls(l.Sysctl)
	if p := l.RootfsPropagation; p != "" {
		if _, ok := propagationOptions[p]; !ok {
			v.fail("linux.rootfsPropagation", p, "unknown propagation")
		}
	}
	if r := l.Resources; r != nil {
		for i, d := range r.Devices {
			field := fmt.Sprintf("linux.resources.devices[%d]", i)
			switch d.Type {
			case "", "a", "b", "c":
			default:
				v.fail(field+".type", d.Type, "not one of a, b, c")
			}
			if d.Access == "" {
				v.fail(field+".access", "", "must not be empty")
			} else if strings.Trim(d.Access, "rwm") != "" {
				v.fail(field+".access", d.Access, "not a combination of r, w, m")
			}
		}
	}
	if p := l.Personality; p != nil && p.Domain != specs.PerLinux && p.Domain != specs.PerLinux32 {
		v.fail("linux.personality.domain", string(p.Domain), "not LINUX or LINUX32")
	}
}

func (v *validator) namespaces(nss []specs.LinuxNamespace) {
	seen := map[specs.LinuxNamespaceType]bool{}
	for i, ns := range nss {
		field := fmt.Sprintf("linux.namespaces[%d]", i)
		known := false
		for _, t := range namespaceTypes {
			known = known || t == ns.Type
		}
		if !known {
			v.fail(field+".type", string(ns.Type), "unknown namespace type")
			continue
		}
		// config-linux.md: duplicated namespaces MUST be an error.
		if seen[ns.Type] {
			v.fail(field+".type", string(ns.Type), "listed twice")
		}
		seen[ns.Type] = true
		if ns.Path != "" {
			v.absolute(field+".path", ns.Path)
		}
	}
}

// CheckNamespacePaths checks that each namespace joined by path is a
// namespace file of the listed type, as config-linux.md requires of a
// runtime ("MUST generate an error" for a namespace of another type),
// by the namespace's own answer to NS_GET_NSTYPE. The sandbox joins none
// of them (its namespaces are its kernel's), but a configuration that
// names the wrong one is still wrong. It looks at the host, so it is not
// part of Validate.
func CheckNamespacePaths(spec *specs.Spec) error {
	if spec.Linux == nil {
		return nil
	}
	var errs []error
	for i, ns := range spec.Linux.Namespaces {
		if ns.Path == "" || !filepath.IsAbs(ns.Path) {
			continue
		}
		if problem := namespaceFileProblem(ns.Path, ns.Type); problem != "" {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("linux.namespaces[%d].path", i), Value: ns.Path, Problem: problem})
		}
	}
	return errors.Join(errs...)
}

// nsTypeFlags are the CLONE_NEW* flags NS_GET_NSTYPE answers with.
var nsTypeFlags = map[specs.LinuxNamespaceType]int{
	specs.PIDNamespace:     unix.CLONE_NEWPID,
	specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.MountNamespace:   unix.CLONE_NEWNS,
	specs.IPCNamespace:     unix.CLONE_NEWIPC,
	specs.UTSNamespace:     unix.CLONE_NEWUTS,
	specs.UserNamespace:    unix.CLONE_NEWUSER,
	specs.CgroupNamespace:  unix.CLONE_NEWCGROUP,
	specs.TimeNamespace:    unix.CLONE_NEWTIME,
}

// namespaceFileProblem checks that path is a namespace file of type t,
// as config-linux.md requires of a runtime ("MUST generate an error" for
// a namespace of another type): the namespace's own answer to
// NS_GET_NSTYPE.
func namespaceFileProblem(path string, t specs.LinuxNamespaceType) string {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Sprintf("cannot open the namespace: %v", unwrapPathError(err))
	}
	defer unix.Close(fd)
	got, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil {
		return "not a namespace file"
	}
	if want, ok := nsTypeFlags[t]; ok && got != want {
		return fmt.Sprintf("a namespace of another type than %s", t)
	}
	return ""
}

// idMappings checks one of the user namespace's mappings; the rules are
// runc's: mappings belong to a user namespace, and a new one needs them
// (with the container's root mapped) to be of any use.
func (v *validator) idMappings(field string, maps []specs.LinuxIDMapping) {
	if !v.ns[specs.UserNamespace] {
		if len(maps) > 0 {
			v.fail(field, "", "set without a user namespace in linux.namespaces")
		}
		return
	}
	if userNamespacePath(v.spec) != "" {
		// Joining a namespace: its mappings are what they are. runc
		// tolerates matching mappings here (containerd and CRI-O send
		// them), so they are not checked.
		return
	}
	if len(maps) == 0 {
		v.fail(field, "", "a new user namespace needs mappings")
		return
	}
	rootMapped := false
	failures := len(v.errs)
	for i, m := range maps {
		if m.Size == 0 {
			v.fail(fmt.Sprintf("%s[%d].size", field, i), "", "must not be zero")
			continue
		}
		if uint64(m.ContainerID)+uint64(m.Size) > 1<<32 || uint64(m.HostID)+uint64(m.Size) > 1<<32 {
			v.fail(fmt.Sprintf("%s[%d]", field, i), "", "range goes past 4294967295")
			continue
		}
		rootMapped = rootMapped || m.ContainerID == 0
	}
	if !rootMapped {
		v.fail(field, "", "container ID 0 is not mapped")
	}
	if _, err := userns.New(idExtents(maps)); err != nil && len(v.errs) == failures {
		v.fail(field, "", "%v", err)
	}
}

func userNamespacePath(spec *specs.Spec) string {
	if spec.Linux == nil {
		return ""
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			return ns.Path
		}
	}
	return ""
}

func (v *validator) paths(field string, paths []string) {
	for i, p := range paths {
		v.absolute(fmt.Sprintf("%s[%d]", field, i), p)
	}
	// runc's rule: masking and read-only remounts happen in a mount
	// namespace of the container's own.
	if len(paths) > 0 && !v.ns[specs.MountNamespace] {
		v.fail(field, "", "needs a mount namespace in linux.namespaces")
	}
}

// ipcSysctls are the System V IPC parameters an IPC namespace has its
// own copy of (Linux: ipc/ipc_sysctl.c); fs.mqueue.* are too.
var ipcSysctls = map[string]bool{
	"kernel.msgmax":          true,
	"kernel.msgmnb":          true,
	"kernel.msgmni":          true,
	"kernel.sem":             true,
	"kernel.shmall":          true,
	"kernel.shmmax":          true,
	"kernel.shmmni":          true,
	"kernel.shm_rmid_forced": true,
}

// sysctls applies runc's rule: a parameter may be set only when the
// namespace that holds it is the container's own, so that setting it
// cannot change the host.
func (v *validator) sysctls(sysctl map[string]string) {
	names := make([]string, 0, len(sysctl))
	for k := range sysctl {
		names = append(names, k)
	}
	sort.Strings(names)
	seen := map[string]bool{}
	for _, raw := range names {
		field := "linux.sysctl[" + strconv.Quote(raw) + "]"
		name, ok := sysctlName(raw)
		switch {
		case !ok:
			v.fail(field, "", "not a parameter name")
		case seen[name]:
			// "net/ipv4/ip_forward" and "net.ipv4.ip_forward": which value
			// would win depends on map order.
			v.fail(field, "", "names a parameter already set under another spelling")
		case ipcSysctls[name] || strings.HasPrefix(name, "fs.mqueue."):
			if !v.ns[specs.IPCNamespace] {
				v.fail(field, "", "needs an IPC namespace in linux.namespaces")
			}
		case strings.HasPrefix(name, "net."):
			if !v.ns[specs.NetworkNamespace] {
				v.fail(field, "", "needs a network namespace in linux.namespaces")
			}
		case name == "kernel.domainname" && v.ns[specs.UTSNamespace]:
		case name == "kernel.hostname" && v.ns[specs.UTSNamespace]:
			v.fail(field, "", "conflicts with the hostname field")
		default:
			v.fail(field, "", "not held by a namespace of the container's own")
		}
		seen[name] = true
	}
}

// sysctlName returns a parameter's dotted name. sysctl.d(5) also accepts
// '/' as the separator, in which case '.' may appear inside a component
// ("net/ipv4/conf/eth0.100/rp_filter"); the dotted form keeps such dots
// as '/' ("net.ipv4.conf.eth0/100.rp_filter"), as procps does. Names with
// empty components, "..", spaces or control characters are refused: the
// name becomes a path under /proc/sys.
func sysctlName(raw string) (string, bool) {
	name := raw
	if i := strings.IndexAny(raw, "./"); i >= 0 && raw[i] == '/' {
		name = strings.Map(func(r rune) rune {
			switch r {
			case '.':
				return '/'
			case '/':
				return '.'
			}
			return r
		}, raw)
	}
	if name == "" {
		return "", false
	}
	for _, c := range strings.Split(name, ".") {
		if c == "" || c == ".." || strings.Trim(c, "/") == "" {
			return "", false
		}
		for _, r := range c {
			if r <= ' ' || r == 0x7f {
				return "", false
			}
		}
	}
	return name, true
}
