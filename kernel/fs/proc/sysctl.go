package proc

import (
	"bytes"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
)

// This file is /proc/sys. The sandbox's tunables are fixed: their files
// are read-only (0444) and refuse write opens with EACCES, except the
// host name, which the kernel keeps for the sandbox.

// sysctl is one /proc/sys file.
type sysctl struct {
	path  string // below /proc/sys
	value func(fs *FS) string
	// set, when present, makes the file writable (0644).
	set func(fs *FS, data []byte) error
}

func fixed(v string) func(*FS) string { return func(*FS) string { return v } }

// sysctls are Linux's defaults (or the sandbox's values) for the files
// programs commonly read. Multi-valued files separate values with tabs,
// as Linux's proc_dointvec does.
var sysctls = []sysctl{
	{path: "fs/file-max", value: fixed("9223372036854775807")},
	{path: "fs/inotify/max_queued_events", value: fixed("16384")},
	{path: "fs/inotify/max_user_instances", value: fixed("128")},
	{path: "fs/inotify/max_user_watches", value: fixed("8192")},
	{path: "fs/nr_open", value: fixed(fmt.Sprint(kernel.NrOpen))},
	{path: "fs/pipe-max-size", value: fixed("1048576")},
	{path: "kernel/cap_last_cap", value: fixed(fmt.Sprint(kernel.CapLastCap))},
	{path: "kernel/domainname", value: func(fs *FS) string { return fs.k.Domainname() }, set: utsSetter(Kernel.SetDomainname)},
	{path: "kernel/hostname", value: func(fs *FS) string { return fs.k.Hostname() }, set: utsSetter(Kernel.SetHostname)},
	{path: "kernel/msgmax", value: fixed("8192")},
	{path: "kernel/msgmnb", value: fixed("16384")},
	{path: "kernel/msgmni", value: fixed("32000")},
	{path: "kernel/ngroups_max", value: fixed(fmt.Sprint(kernel.NgroupsMax))},
	{path: "kernel/osrelease", value: func(fs *FS) string { return fs.opts.Release }},
	{path: "kernel/ostype", value: fixed("Linux")},
	{path: "kernel/overflowgid", value: fixed("65534")},
	{path: "kernel/overflowuid", value: fixed("65534")},
	{path: "kernel/pid_max", value: fixed(fmt.Sprint(kernel.PIDMax))},
	{path: "kernel/random/boot_id", value: func(fs *FS) string { return fs.bootID }},
	{path: "kernel/random/entropy_avail", value: fixed("256")},
	{path: "kernel/random/poolsize", value: fixed("256")},
	{path: "kernel/random/uuid", value: func(*FS) string { return newUUID() }},
	{path: "kernel/sem", value: fixed("32000\t1024000000\t500\t32000")},
	{path: "kernel/shmall", value: fixed("18446744073692774399")},
	{path: "kernel/shmmax", value: fixed("18446744073692774399")},
	{path: "kernel/shmmni", value: fixed("4096")},
	{path: "kernel/threads-max", value: fixed("126956")},
	{path: "kernel/version", value: func(fs *FS) string { return fs.opts.Version }},
	{path: "kernel/yama/ptrace_scope", value: fixed("1")},
	{path: "net/core/somaxconn", value: fixed("4096")},
	{path: "vm/max_map_count", value: fixed("65530")},
	{path: "vm/mmap_min_addr", value: fixed("65536")},
	{path: "vm/overcommit_memory", value: fixed("0")},
	{path: "vm/overcommit_ratio", value: fixed("50")},
}

// addSys fills /proc/sys from sysctls.
func (fs *FS) addSys(sys *staticDir) {
	for _, s := range sysctls {
		s := s
		dir := sys
		parts := strings.Split(s.path, "/")
		for _, p := range parts[:len(parts)-1] {
			if c, ok := dir.children[p].(*staticDir); ok {
				dir = c
			} else {
				dir = dir.subdir(p)
			}
		}
		name := parts[len(parts)-1]
		read := func(*reader) ([]byte, error) { return []byte(s.value(fs) + "\n"), nil }
		var f *fileNode
		if s.set != nil {
			f = fs.newFile(childPath(dir.path, name), 0o644, nil, false, read, func(r *reader, data []byte) error {
				return s.set(fs, data)
			})
		} else {
			f = fs.newFile(childPath(dir.path, name), 0o444, nil, false, read, nil)
		}
		dir.add(name, f)
	}
}

// utsSetter writes a UTS name with set: the string up to the first
// newline or NUL, cut to the 64 bytes a UTS name holds.
// Linux: kernel/sysctl.c, proc_dostring().
func utsSetter(set func(Kernel, string) error) func(fs *FS, data []byte) error {
	return func(fs *FS, data []byte) error {
		if i := bytes.IndexAny(data, "\n\x00"); i >= 0 {
			data = data[:i]
		}
		if len(data) > 64 {
			data = data[:64]
		}
		if err := set(fs.k, string(data)); err != nil {
			return unix.EINVAL
		}
		return nil
	}
}
