package test

import (
	"strings"
	"testing"
)

// busyboxCases are busybox applet runs whose output must be the same
// natively and in the sandbox: file reading and walking, stat, symlinks,
// text processing, exit codes. Applets that would show what legitimately
// differs (uname, ls /, ps, date, nproc) are left out, and so is the root
// directory's own entry: "/" is an overlay whose merged directory reports
// what Linux's overlayfs does (one link, the upper layer's size).
var busyboxCases = [][]string{
	{"cat", "/etc/os-release"},
	{"ls", "-l", "/etc"},
	{"ls", "-lan", "/usr/bin"},
	{"ls", "-laL", "/bin/sh", "/lib64"},
	{"stat", "-c", "%n:%s:%a:%F:%U:%G:%h:%b", "/etc/os-release", "/bin", "/usr/bin/busybox", "/etc"},
	{"wc", "/etc/services"},
	{"md5sum", "/usr/bin/busybox"},
	{"sha1sum", "/etc/os-release"},
	{"cksum", "/usr/bin/busybox"},
	{"od", "-A", "x", "-t", "x1", "-N", "64", "/usr/bin/busybox"},
	{"hexdump", "-C", "-n", "64", "/etc/os-release"},
	{"strings", "-n", "20", "/usr/bin/busybox"},
	{"find", "/etc", "-maxdepth", "1", "-type", "l"},
	{"find", "/usr/lib/os-release", "/etc/apt", "-name", "*.list"},
	{"du", "-s", "/etc/apt"},
	{"readlink", "-f", "/bin/sh"},
	{"realpath", "/lib64/ld-linux-x86-64.so.2"},
	{"cmp", "/etc/os-release", "/usr/lib/os-release"},
	{"sort", "/etc/passwd"},
	{"grep", "-c", "root", "/etc/passwd"},
	{"awk", "-F:", "{print $1}", "/etc/passwd"},
	{"sed", "-n", "2p", "/etc/os-release"},
	{"cut", "-d=", "-f1", "/etc/os-release"},
	{"tail", "-n", "3", "/etc/services"},
	{"head", "-c", "100", "/etc/services"},
	{"tac", "/etc/os-release"},
	{"nl", "/etc/os-release"},
	{"uniq", "-c", "/etc/passwd"},
	{"seq", "1", "1000"},
	{"expr", "6", "*", "7"},
	{"printf", `%s-%d\n`, "a", "1", "b", "2"},
	{"echo", "-n", "no newline"},
	{"basename", "/usr/bin/x.x", ".x"},
	{"dirname", "/usr/lib/os-release"},
	{"env"},
	{"id"},
	{"pwd"},
	{"which", "busybox"},
	{"sleep", "0.05"},
	{"true"},
	{"false"},
	{"test", "-f", "/etc"},
	{"cat", "/nonexistent-magawa-test"},
	{"ls", "/etc/os-release/"},
}

// subtestName keeps letters, digits, '.' and '-' of s and turns every run
// of anything else into one '_', so that -run patterns stay simple (a '/'
// would start a new level of subtest).
func subtestName(s string) string {
	var b strings.Builder
	under := false
	for _, r := range s {
		if r < 128 && (r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	return b.String()
}

// TestBusybox runs each of busyboxCases natively and in the sandbox, on
// every platform, and compares stdout, stderr and exit status.
func TestBusybox(t *testing.T) {
	magawaBin(t)
	requireStaticBusybox(t)
	forEachPlatform(t, func(t *testing.T, platform string) {
		for _, args := range busyboxCases {
			name := subtestName(strings.Join(args, " "))
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				native := runNative(t, busybox, args...)
				compareResults(t, native, runSandbox(t, platform, busybox, args...))
			})
		}
	})
}
