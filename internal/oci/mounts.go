package oci

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"magawa/internal/sandbox"
	"magawa/kernel/vfs"
)

// sandboxTypes are the file system types the sandbox serves itself;
// everything else comes from the host as a bind mount through the gofer.
var sandboxTypes = map[string]bool{
	"tmpfs":   true,
	"proc":    true,
	"sysfs":   true,
	"devpts":  true,
	"mqueue":  true,
	"cgroup":  true,
	"cgroup2": true,
}

type optionEffect int

const (
	setFlag optionEffect = iota
	clearFlag
	// noEffect options are accepted and change nothing in the sandbox;
	// warn, when set, says what the caller may have expected.
	noEffect
	bindOption
	rbindOption
	// unsupported options ask for something the sandbox cannot do and
	// that must not be dropped silently.
	unsupported
)

type mountOption struct {
	effect optionEffect
	flag   uint32
	warn   string
}

// propagationOptions are accepted everywhere and change nothing: the
// sandbox's mounts live in its own kernel and never propagate to or from
// the host's, which is what private and unbindable ask for anyway.
var propagationOptions = map[string]mountOption{
	"private":     {effect: noEffect},
	"rprivate":    {effect: noEffect},
	"unbindable":  {effect: noEffect},
	"runbindable": {effect: noEffect},
	"shared":      {effect: noEffect, warn: "mounts do not propagate between the host and the sandbox"},
	"rshared":     {effect: noEffect, warn: "mounts do not propagate between the host and the sandbox"},
	"slave":       {effect: noEffect, warn: "mounts do not propagate from the host into the sandbox"},
	"rslave":      {effect: noEffect, warn: "mounts do not propagate from the host into the sandbox"},
}

// mountOptions are the options that are not file-system data, as
// mount(8) names them. Anything else is data for the file system
// ("mode=755", "newinstance"), as with runc.
var mountOptions = map[string]mountOption{
	"ro":      {effect: setFlag, flag: vfs.MountReadOnly},
	"rw":      {effect: clearFlag, flag: vfs.MountReadOnly},
	"nosuid":  {effect: setFlag, flag: vfs.MountNoSuid},
	"suid":    {effect: clearFlag, flag: vfs.MountNoSuid},
	"nodev":   {effect: setFlag, flag: vfs.MountNoDev},
	"dev":     {effect: clearFlag, flag: vfs.MountNoDev},
	"noexec":  {effect: setFlag, flag: vfs.MountNoExec},
	"exec":    {effect: clearFlag, flag: vfs.MountNoExec},
	"noatime": {effect: setFlag, flag: vfs.MountNoAtime},
	"atime":   {effect: clearFlag, flag: vfs.MountNoAtime},
	// Linux: fs/namespace.c, path_mount(): MS_STRICTATIME clears
	// MNT_NOATIME whatever came before it.
	"strictatime": {effect: clearFlag, flag: vfs.MountNoAtime},

	// The recursive forms (mount_setattr(2) with AT_RECURSIVE) are the
	// plain ones here: a sandbox mount of a host tree is a single mount,
	// with no submounts the attribute could miss.
	"rro":      {effect: setFlag, flag: vfs.MountReadOnly},
	"rrw":      {effect: clearFlag, flag: vfs.MountReadOnly},
	"rnosuid":  {effect: setFlag, flag: vfs.MountNoSuid},
	"rsuid":    {effect: clearFlag, flag: vfs.MountNoSuid},
	"rnodev":   {effect: setFlag, flag: vfs.MountNoDev},
	"rdev":     {effect: clearFlag, flag: vfs.MountNoDev},
	"rnoexec":  {effect: setFlag, flag: vfs.MountNoExec},
	"rexec":    {effect: clearFlag, flag: vfs.MountNoExec},
	"rnoatime": {effect: setFlag, flag: vfs.MountNoAtime},
	"ratime":   {effect: clearFlag, flag: vfs.MountNoAtime},

	"bind":  {effect: bindOption},
	"rbind": {effect: rbindOption},

	// Access-time refinements the sandbox's file systems do not keep
	// apart from its default, and options with no meaning for its
	// file systems.
	"defaults":       {effect: noEffect},
	"relatime":       {effect: noEffect},
	"norelatime":     {effect: noEffect},
	"nostrictatime":  {effect: noEffect},
	"nodiratime":     {effect: noEffect},
	"diratime":       {effect: noEffect},
	"rrelatime":      {effect: noEffect},
	"rnorelatime":    {effect: noEffect},
	"rstrictatime":   {effect: noEffect},
	"rnostrictatime": {effect: noEffect},
	"rnodiratime":    {effect: noEffect},
	"rdiratime":      {effect: noEffect},
	"lazytime":       {effect: noEffect},
	"nolazytime":     {effect: noEffect},
	"iversion":       {effect: noEffect},
	"noiversion":     {effect: noEffect},
	"silent":         {effect: noEffect},
	"loud":           {effect: noEffect},
	"async":          {effect: noEffect},
	"symfollow":      {effect: noEffect},
	"rsymfollow":     {effect: noEffect},
	// Mandatory locks are gone from Linux since 5.15; it ignores them too.
	"mand":    {effect: noEffect},
	"nomand":  {effect: noEffect},
	"sync":    {effect: noEffect, warn: "writes are not synchronous"},
	"dirsync": {effect: noEffect, warn: "directory changes are not synchronous"},
	// runc's extension, which podman adds to its tmpfs mounts.
	"tmpcopyup": {effect: noEffect, warn: "the tmpfs starts empty: what the image has at the destination is not copied in"},

	"nosymfollow":  {effect: unsupported, warn: "the sandbox's mounts cannot refuse to follow symbolic links"},
	"rnosymfollow": {effect: unsupported, warn: "the sandbox's mounts cannot refuse to follow symbolic links"},
	"remount":      {effect: unsupported, warn: "a configuration's mounts are new mounts"},
	"idmap":        {effect: unsupported, warn: "ID-mapped mounts are not supported"},
	"ridmap":       {effect: unsupported, warn: "ID-mapped mounts are not supported"},
}

func lookupOption(name string) (mountOption, bool) {
	if o, ok := mountOptions[name]; ok {
		return o, true
	}
	o, ok := propagationOptions[name]
	return o, ok
}

// knownMountOptions lists the options accepted as other than file-system
// data, for Features.
func knownMountOptions() []string {
	var names []string
	for name, o := range mountOptions {
		if o.effect != unsupported {
			names = append(names, name)
		}
	}
	for name := range propagationOptions {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// parsedOptions are a mount's options taken apart.
type parsedOptions struct {
	flags     uint32
	bind      bool
	recursive bool
	// data are the file system's own options, in their order.
	data []string
	// ignored are accepted options without their effect, with why.
	ignored []string
}

// parseMountOptions separates flags from file-system data as mount(8)
// does. Later options win over earlier ones ("ro,rw" is read-write).
func parseMountOptions(options []string) (parsedOptions, error) {
	var p parsedOptions
	for _, o := range options {
		if o == "" {
			continue
		}
		opt, ok := lookupOption(o)
		if !ok {
			p.data = append(p.data, o)
			continue
		}
		switch opt.effect {
		case setFlag:
			p.flags |= opt.flag
		case clearFlag:
			p.flags &^= opt.flag
		case bindOption:
			p.bind = true
		case rbindOption:
			p.bind, p.recursive = true, true
		case noEffect:
			if opt.warn != "" {
				p.ignored = append(p.ignored, fmt.Sprintf("%q: %s", o, opt.warn))
			}
		case unsupported:
			return p, fmt.Errorf("%q is not supported: %s", o, opt.warn)
		}
	}
	return p, nil
}

// isBind says whether a mount is a bind mount: config.md says a "bind"
// or "rbind" option makes one whatever the type, and type "bind" is what
// Docker and containerd write.
func isBind(m specs.Mount) bool {
	if m.Type == "bind" {
		return true
	}
	for _, o := range m.Options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

// mountTarget is a destination made absolute: config.md takes a
// relative one relative to "/".
func mountTarget(dest string) string {
	return filepath.Clean("/" + dest)
}

// toMount translates mount i. bundle is absolute.
func toMount(i int, m specs.Mount, bundle string) (sandbox.Mount, error) {
	field := fmt.Sprintf("mounts[%d]", i)
	if m.Destination == "" {
		return sandbox.Mount{}, &FieldError{Field: field + ".destination", Problem: "must not be empty"}
	}
	if len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 {
		return sandbox.Mount{}, &FieldError{Field: field, Problem: "ID-mapped mounts are not supported"}
	}
	opts, err := parseMountOptions(m.Options)
	if err != nil {
		return sandbox.Mount{}, &FieldError{Field: field + ".options", Problem: err.Error()}
	}
	out := sandbox.Mount{
		Target: mountTarget(m.Destination),
		Source: m.Source,
		Flags:  opts.flags,
	}
	if !opts.bind && !isBind(m) {
		if !sandboxTypes[m.Type] {
			if m.Type == "" {
				return sandbox.Mount{}, &FieldError{Field: field, Problem: `no file system type, and not a bind mount (no "bind" or "rbind" option)`}
			}
			return sandbox.Mount{}, &FieldError{Field: field, Problem: fmt.Sprintf("file system type %q is not supported", m.Type)}
		}
		out.Type = m.Type
		out.Data = strings.Join(opts.data, ",")
		return out, nil
	}
	// A bind mount. Its data is dropped: Linux ignores the data of
	// MS_BIND, so options a client adds there have never meant anything.
	out.Type = "bind"
	out.Recursive = opts.recursive
	if m.Source == "" {
		return sandbox.Mount{}, &FieldError{Field: field + ".source", Problem: "must not be empty for a bind mount"}
	}
	src := m.Source
	if !filepath.IsAbs(src) {
		// config.md: a bind mount's relative source is relative to the
		// bundle.
		src = filepath.Join(bundle, src)
	}
	out.Source = filepath.Clean(src)
	if _, err := os.Stat(out.Source); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return sandbox.Mount{}, &FieldError{Field: field + ".source", Value: m.Source, Problem: "no such file or directory"}
		}
		return sandbox.Mount{}, &FieldError{Field: field + ".source", Value: m.Source, Problem: unwrapPathError(err).Error()}
	}
	return out, nil
}
