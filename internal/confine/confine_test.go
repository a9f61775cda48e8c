package confine_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"magawa/internal/confine"
	"magawa/internal/seccomp"
)

// TestRules checks the allowlist's decisions on made-up calls: each
// rule's call with arguments its checks accept, and the calls and
// arguments it must refuse.
func TestRules(t *testing.T) {
	if seccomp.NativeArch == 0 {
		skip(t, "no seccomp allowlist for %s", runtime.GOARCH)
	}
	const pid = 1
	rules := confine.Rules(pid)
	prog, err := seccomp.Program(seccomp.NativeArch, rules, seccomp.KillProcess)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rules, %d instructions", len(rules), len(prog))
	call := func(nr uint32, args ...uint64) seccomp.Data {
		d := seccomp.Data{Nr: nr, Arch: seccomp.NativeArch}
		copy(d.Args[:], args)
		return d
	}
	run := func(d seccomp.Data) seccomp.Action {
		t.Helper()
		a, err := seccomp.Evaluate(prog, d)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, r := range rules {
		d := call(r.Nr)
		for _, c := range r.Checks {
			if c.AnyBit {
				d.Args[c.Arg] = uint64(c.Mask)
			} else {
				d.Args[c.Arg] = uint64(c.Values[len(c.Values)-1])
			}
		}
		want := r.Action
		if want == 0 {
			want = seccomp.Allow
		}
		if got := run(d); got != want {
			t.Errorf("%s %v: %v, want %v", r.Name, r.Checks, got, want)
		}
	}
	allow, kill := seccomp.Allow, seccomp.KillProcess
	const atFDCWD = 1<<64 + unix.AT_FDCWD
	stubThread := uint64(unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_SYSVSEM | unix.CLONE_THREAD)
	goThread := stubThread | unix.CLONE_SETTLS
	for name, tc := range map[string]struct {
		d    seccomp.Data
		want seccomp.Action
	}{
		"ptrace SYSEMU":                {call(unix.SYS_PTRACE, unix.PTRACE_SYSEMU, 5), allow},
		"ptrace TRACEME":               {call(unix.SYS_PTRACE, unix.PTRACE_TRACEME), allow},
		"ptrace ATTACH":                {call(unix.SYS_PTRACE, unix.PTRACE_ATTACH, 5), kill},
		"ptrace POKEDATA":              {call(unix.SYS_PTRACE, unix.PTRACE_POKEDATA, 5), kill},
		"ptrace PEEKDATA":              {call(unix.SYS_PTRACE, unix.PTRACE_PEEKDATA, 5), kill},
		"clone, a Go thread":           {call(unix.SYS_CLONE, goThread), allow},
		"clone, a stub thread":         {call(unix.SYS_CLONE, stubThread), allow},
		"clone, a stub":                {call(unix.SYS_CLONE, unix.CLONE_VM|unix.CLONE_VFORK|uint64(unix.SIGCHLD)), allow},
		"clone, fork":                  {call(unix.SYS_CLONE, uint64(unix.SIGCHLD)), kill},
		"clone, a thread, new net":     {call(unix.SYS_CLONE, goThread|unix.CLONE_NEWNET), kill},
		"clone, a stub, new user":      {call(unix.SYS_CLONE, unix.CLONE_VM|unix.CLONE_VFORK|unix.CLONE_NEWUSER|uint64(unix.SIGCHLD)), kill},
		"clone3":                       {call(unix.SYS_CLONE3), seccomp.Errno(unix.ENOSYS)},
		"fork":                         {call(unix.SYS_FORK), kill},
		"vfork":                        {call(unix.SYS_VFORK), kill},
		"unshare":                      {call(unix.SYS_UNSHARE, unix.CLONE_NEWUSER), kill},
		"setns":                        {call(unix.SYS_SETNS), kill},
		"kill, self":                   {call(unix.SYS_KILL, pid, uint64(unix.SIGTERM)), allow},
		"kill SIGKILL":                 {call(unix.SYS_KILL, 7, uint64(unix.SIGKILL)), allow},
		"kill SIGTERM to another":      {call(unix.SYS_KILL, 7, uint64(unix.SIGTERM)), kill},
		"kill SIGTERM to all":          {call(unix.SYS_KILL, 0xffffffff, uint64(unix.SIGTERM)), kill},
		"tgkill, own thread":           {call(unix.SYS_TGKILL, pid, 9, uint64(unix.SIGURG)), allow},
		"tgkill SIGSTOP to a stub":     {call(unix.SYS_TGKILL, 7, 8, uint64(unix.SIGSTOP)), allow},
		"tgkill SIGTERM to a stub":     {call(unix.SYS_TGKILL, 7, 8, uint64(unix.SIGTERM)), kill},
		"tkill":                        {call(unix.SYS_TKILL, 7, uint64(unix.SIGKILL)), kill},
		"openat /proc read-only":       {call(unix.SYS_OPENAT, atFDCWD, 0, unix.O_RDONLY|unix.O_CLOEXEC), allow},
		"openat a directory":           {call(unix.SYS_OPENAT, atFDCWD, 0, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC), allow},
		"openat for writing":           {call(unix.SYS_OPENAT, atFDCWD, 0, unix.O_WRONLY), kill},
		"openat read-write":            {call(unix.SYS_OPENAT, atFDCWD, 0, unix.O_RDWR), kill},
		"openat O_CREAT":               {call(unix.SYS_OPENAT, atFDCWD, 0, unix.O_RDONLY|unix.O_CREAT), kill},
		"openat O_TMPFILE":             {call(unix.SYS_OPENAT, atFDCWD, 0, unix.O_RDWR|unix.O_TMPFILE), kill},
		"openat from a descriptor":     {call(unix.SYS_OPENAT, 5, 0, unix.O_RDONLY), kill},
		"open":                         {call(unix.SYS_OPEN, 0, unix.O_RDONLY), kill},
		"openat2":                      {call(unix.SYS_OPENAT2, atFDCWD), kill},
		"open_by_handle_at":            {call(unix.SYS_OPEN_BY_HANDLE_AT), kill},
		"newfstatat from a descriptor": {call(unix.SYS_NEWFSTATAT, 5), kill},
		"newfstatat":                   {call(unix.SYS_NEWFSTATAT, atFDCWD), allow},
		"getdents64":                   {call(unix.SYS_GETDENTS64), kill},
		"chdir":                        {call(unix.SYS_CHDIR), kill},
		"fchdir":                       {call(unix.SYS_FCHDIR, 5), kill},
		"chroot":                       {call(unix.SYS_CHROOT), kill},
		"mkdirat":                      {call(unix.SYS_MKDIRAT, atFDCWD), kill},
		"unlinkat":                     {call(unix.SYS_UNLINKAT, atFDCWD), kill},
		"socket AF_INET":               {call(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM), kill},
		"socket AF_UNIX":               {call(unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_STREAM), kill},
		"socket AF_NETLINK":            {call(unix.SYS_SOCKET, unix.AF_NETLINK, unix.SOCK_RAW), kill},
		"socketpair AF_UNIX":           {call(unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_SEQPACKET), allow},
		"socketpair AF_INET":           {call(unix.SYS_SOCKETPAIR, unix.AF_INET, unix.SOCK_STREAM), kill},
		"connect":                      {call(unix.SYS_CONNECT), kill},
		"bind":                         {call(unix.SYS_BIND), kill},
		"setsockopt SOL_SOCKET":        {call(unix.SYS_SETSOCKOPT, 5, unix.SOL_SOCKET, unix.SO_SNDBUF), allow},
		"setsockopt SOL_TCP":           {call(unix.SYS_SETSOCKOPT, 5, unix.SOL_TCP, 1), kill},
		"ioctl TCGETS":                 {call(unix.SYS_IOCTL, 0, unix.TCGETS), allow},
		"ioctl TCSETS":                 {call(unix.SYS_IOCTL, 0, unix.TCSETS), allow},
		"ioctl TIOCGWINSZ":             {call(unix.SYS_IOCTL, 1, unix.TIOCGWINSZ), allow},
		"ioctl TIOCSTI":                {call(unix.SYS_IOCTL, 0, unix.TIOCSTI), kill},
		"ioctl TIOCSCTTY":              {call(unix.SYS_IOCTL, 0, unix.TIOCSCTTY), kill},
		"ioctl TIOCSWINSZ":             {call(unix.SYS_IOCTL, 0, unix.TIOCSWINSZ), kill},
		"ioctl FIONREAD":               {call(unix.SYS_IOCTL, 0, unix.TIOCINQ), kill},
		"fcntl F_GETFL":                {call(unix.SYS_FCNTL, 0, unix.F_GETFL), allow},
		"fcntl F_DUPFD_CLOEXEC":        {call(unix.SYS_FCNTL, 0, unix.F_DUPFD_CLOEXEC, 3), allow},
		"fcntl F_SETOWN":               {call(unix.SYS_FCNTL, 0, unix.F_SETOWN, 7), kill},
		"fcntl F_SETSIG":               {call(unix.SYS_FCNTL, 0, unix.F_SETSIG, 9), kill},
		"fcntl F_ADD_SEALS":            {call(unix.SYS_FCNTL, 3, unix.F_ADD_SEALS, 1), kill},
		"prctl PR_SET_PDEATHSIG":       {call(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uint64(unix.SIGKILL)), allow},
		"prctl PR_SET_NO_NEW_PRIVS":    {call(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1), allow},
		"prctl PR_SET_NO_NEW_PRIVS 0":  {call(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 0), kill},
		"prctl PR_SET_VMA anon name":   {call(unix.SYS_PRCTL, unix.PR_SET_VMA, unix.PR_SET_VMA_ANON_NAME, 0x1000, 0x1000, 0), allow},
		"prctl PR_SET_DUMPABLE":        {call(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 1), kill},
		"prctl PR_CAP_AMBIENT":         {call(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, 21), kill},
		"prctl PR_SET_SECUREBITS":      {call(unix.SYS_PRCTL, unix.PR_SET_SECUREBITS, 0), kill},
		"prctl PR_SET_MM":              {call(unix.SYS_PRCTL, unix.PR_SET_MM), kill},
		"setpgid(0, 0)":                {call(unix.SYS_SETPGID, 0, 0), allow},
		"setpgid of another":           {call(unix.SYS_SETPGID, 7, 0), kill},
		"setsid":                       {call(unix.SYS_SETSID), kill},
		"prlimit64 own RLIMIT_NOFILE":  {call(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, 0, 0), allow},
		"prlimit64 another's":          {call(unix.SYS_PRLIMIT64, 7, unix.RLIMIT_NOFILE, 0, 0), kill},
		"prlimit64 RLIMIT_CORE":        {call(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_CORE, 0, 0), kill},
		"seccomp, a filter":            {call(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0), allow},
		"seccomp, a listener":          {call(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER), kill},
		"seccomp, TSYNC":               {call(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC), kill},
		"execve":                       {call(unix.SYS_EXECVE), allow},
		"execveat":                     {call(unix.SYS_EXECVEAT), kill},
		"mount":                        {call(unix.SYS_MOUNT), kill},
		"umount2":                      {call(unix.SYS_UMOUNT2), kill},
		"pivot_root":                   {call(unix.SYS_PIVOT_ROOT), kill},
		"fsopen":                       {call(unix.SYS_FSOPEN), kill},
		"open_tree":                    {call(unix.SYS_OPEN_TREE), kill},
		"move_mount":                   {call(unix.SYS_MOVE_MOUNT), kill},
		"mount_setattr":                {call(unix.SYS_MOUNT_SETATTR), kill},
		"setuid":                       {call(unix.SYS_SETUID), kill},
		"setresuid":                    {call(unix.SYS_SETRESUID), kill},
		"setgroups":                    {call(unix.SYS_SETGROUPS), kill},
		"capset":                       {call(unix.SYS_CAPSET), kill},
		"bpf":                          {call(unix.SYS_BPF), kill},
		"perf_event_open":              {call(unix.SYS_PERF_EVENT_OPEN), kill},
		"io_uring_setup":               {call(unix.SYS_IO_URING_SETUP), kill},
		"keyctl":                       {call(unix.SYS_KEYCTL), kill},
		"add_key":                      {call(unix.SYS_ADD_KEY), kill},
		"userfaultfd":                  {call(unix.SYS_USERFAULTFD), kill},
		"process_vm_writev":            {call(unix.SYS_PROCESS_VM_WRITEV), kill},
		"pidfd_open":                   {call(unix.SYS_PIDFD_OPEN), kill},
		"pidfd_getfd":                  {call(unix.SYS_PIDFD_GETFD), kill},
		"memfd_create":                 {call(unix.SYS_MEMFD_CREATE), kill},
		"init_module":                  {call(unix.SYS_INIT_MODULE), kill},
		"kexec_load":                   {call(unix.SYS_KEXEC_LOAD), kill},
		"reboot":                       {call(unix.SYS_REBOOT), kill},
		"swapon":                       {call(unix.SYS_SWAPON), kill},
		"syslog":                       {call(unix.SYS_SYSLOG), kill},
		"getcwd":                       {call(unix.SYS_GETCWD), kill},
		"getpid, 32-bit ABI":           {seccomp.Data{Nr: unix.SYS_GETPID, Arch: unix.AUDIT_ARCH_I386}, kill},
		"getpid, x32 number":           {call(unix.SYS_GETPID | seccomp.X32SyscallBit), kill},
	} {
		if got := run(tc.d); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}

func TestDescribeSeccomp(t *testing.T) {
	if seccomp.NativeArch == 0 {
		skip(t, "no seccomp allowlist for %s", runtime.GOARCH)
	}
	t.Setenv(confine.TrapEnv, "")
	t.Setenv(confine.LogEnv, "")
	for _, c := range []struct {
		opts  confine.Options
		extra int
	}{
		{confine.Options{Network: true}, len(confine.NetworkRules())},
		{confine.Options{HostNetwork: true}, len(confine.HostNetworkRules())},
	} {
		var b bytes.Buffer
		if err := confine.DescribeSeccomp(&b, c.opts); err != nil {
			t.Fatal(err)
		}
		if n, want := strings.Count(b.String(), "\n"), len(confine.Rules(1))+c.extra+2; n != want {
			t.Errorf("%+v: %d lines, want %d (the network mode's rules too)", c.opts, n, want)
		}
	}
	var b bytes.Buffer
	if err := confine.DescribeSeccomp(&b, confine.Options{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if want := len(confine.Rules(1)) + 2; len(lines) != want {
		t.Errorf("%d lines, want %d (a header, the rules, the others)", len(lines), want)
	}
	if !strings.HasPrefix(lines[1], "101 ") || !strings.Contains(lines[1], "ptrace") {
		t.Errorf("the first rule is not ptrace's: %q", lines[1])
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "*") || !strings.HasSuffix(last, "kill") {
		t.Errorf("the last line is %q", last)
	}
}

func TestOnDeniedFromEnv(t *testing.T) {
	for _, tc := range []struct {
		trap, log string
		want      seccomp.Action
	}{
		{"", "", seccomp.KillProcess},
		{"0", "", seccomp.KillProcess},
		{"1", "", seccomp.Trap},
		{"", "1", seccomp.Log},
		{"1", "1", seccomp.Trap},
	} {
		t.Setenv(confine.TrapEnv, tc.trap)
		t.Setenv(confine.LogEnv, tc.log)
		if got := confine.OnDeniedFromEnv(); got != tc.want {
			t.Errorf("%s=%q %s=%q: %v, want %v", confine.TrapEnv, tc.trap, confine.LogEnv, tc.log, got, tc.want)
		}
	}
}

// TestNotInit: a process that is not the init of its own PID namespace
// refuses, before it changes anything.
func TestNotInit(t *testing.T) {
	requireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout)
	defer cancel()
	cmd := command(ctx, t, "probe-child", "wait")
	// A mount namespace of its own all the same: should the check ever
	// fail, the pivot happens there.
	cmd.SysProcAttr.Cloneflags = unix.CLONE_NEWNS
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "not the init of a PID namespace") {
		t.Errorf("outside a PID namespace of its own: %q", out)
	}
}

// TestRefusals: a process holding a directory open is not confined (the
// directory would lead out of the new root), and one confined already is
// not confined again.
func TestRefusals(t *testing.T) {
	requireRoot(t)
	if c := runChild(t, nil, "probe-child", "directory"); !strings.Contains(c.stdout, "confine: descriptor") ||
		!strings.Contains(c.stdout, "is a directory (/etc)") {
		t.Errorf("with a directory open: %v", c)
	}
	if c := runChild(t, nil, "probe-child", "twice"); c.stdout != "confined\nagain: the sandbox process confines itself once\n" {
		t.Errorf("confining twice: %v", c)
	}
}

// TestConfinedState looks at a confined process from the outside: no
// capabilities on any thread, no_new_privs, the filter, a root holding
// only /proc, a read-only proc of its own PID namespace, and no host
// file reachable from the inside.
func TestConfinedState(t *testing.T) {
	requireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout)
	defer cancel()
	cmd := command(ctx, t, "probe-child", "wait")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var said []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "waiting" {
		said = append(said, sc.Text())
	}
	if len(said) == 0 || said[0] != "confined" {
		stdin.Close()
		cmd.Wait()
		t.Fatalf("the probe did not confine itself: %q\n%s", said, stderr.String())
	}
	for _, want := range []string{
		"open /etc/passwd: open /etc/passwd: no such file or directory",
		"stat /bin/sh: stat /bin/sh: no such file or directory",
		"read /proc/self/status: <nil>",
		"Seccomp:\t2",
		"Seccomp_filters:\t1",
	} {
		if !slices.Contains(said, want) {
			t.Errorf("the probe did not say %q: %q", want, said)
		}
	}

	proc := fmt.Sprintf("/proc/%d", cmd.Process.Pid)
	tasks, err := os.ReadDir(proc + "/task")
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) < 2 {
		t.Errorf("the probe has %d thread: the check of every thread shows nothing", len(tasks))
	}
	for _, task := range tasks {
		status, err := os.ReadFile(proc + "/task/" + task.Name() + "/status")
		if err != nil {
			continue // gone
		}
		for _, want := range []string{
			"CapInh:\t0000000000000000\n", "CapPrm:\t0000000000000000\n", "CapEff:\t0000000000000000\n",
			"CapBnd:\t0000000000000000\n", "CapAmb:\t0000000000000000\n",
			"NoNewPrivs:\t1\n", "Seccomp:\t2\n", "Seccomp_filters:\t1\n",
		} {
			if !strings.Contains(string(status), want) {
				t.Errorf("thread %s lacks %q:\n%s", task.Name(), strings.TrimSpace(want), status)
			}
		}
	}
	for _, ns := range []string{"mnt", "pid", "net", "ipc", "uts", "cgroup"} {
		ours, _ := os.Readlink("/proc/self/ns/" + ns)
		theirs, err := os.Readlink(proc + "/ns/" + ns)
		if err != nil || theirs == ours {
			t.Errorf("%s namespace %q (%v), ours %q", ns, theirs, err, ours)
		}
	}

	// The root holds /proc and nothing else, and /proc only the
	// sandbox's processes.
	names := func(dir string) []string {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range ents {
			out = append(out, e.Name())
		}
		return out
	}
	if got := names(proc + "/root"); !slices.Equal(got, []string{"proc"}) {
		t.Errorf("the probe's root holds %v", got)
	}
	for _, name := range names(proc + "/root/proc") {
		if _, err := strconv.Atoi(name); err != nil && name != "self" && name != "thread-self" {
			t.Errorf("the probe's /proc holds %q", name)
		}
	}
	mountinfo, err := os.ReadFile(proc + "/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	mounts := strings.Split(strings.TrimSpace(string(mountinfo)), "\n")
	if len(mounts) != 2 {
		t.Errorf("the probe's mounts:\n%s", mountinfo)
	}
	for _, m := range mounts {
		f := strings.Fields(m)
		if len(f) < 10 {
			t.Fatalf("mountinfo line %q", m)
		}
		point, opts, fsType := f[4], f[5], f[len(f)-3]
		switch {
		case point == "/" && fsType == "tmpfs":
		case point == "/proc" && fsType == "proc":
			if !strings.Contains(m, "subset=pid") {
				t.Logf("no subset=pid on the probe's /proc (Linux before 5.8?): %s", m)
			}
		default:
			t.Errorf("the probe has %s mounted at %s", fsType, point)
		}
		for _, want := range []string{"ro", "nosuid", "nodev", "noexec"} {
			if !slices.Contains(strings.Split(opts, ","), want) {
				t.Errorf("%s is mounted without %s: %s", point, want, m)
			}
		}
	}
	// Its descriptors: no directory among them.
	fds, err := os.ReadDir(proc + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		if st, err := os.Stat(proc + "/fd/" + fd.Name()); err == nil && st.IsDir() {
			target, _ := os.Readlink(proc + "/fd/" + fd.Name())
			t.Errorf("the probe holds descriptor %s of directory %s", fd.Name(), target)
		}
	}

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("the probe: %v\n%s", err, stderr.String())
	}
}

// deniedCalls are calls outside the allowlist, each harmless should it
// ever run.
var deniedCalls = map[string]func(){
	"socket AF_INET":     func() { unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0) },
	"socket AF_UNIX":     func() { unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0) },
	"socketpair AF_INET": func() { unix.Socketpair(unix.AF_INET, unix.SOCK_STREAM, 0) },
	"mount":              func() { unix.Mount("none", "/proc", "tmpfs", 0, "") },
	"open for writing":   func() { unix.Open("/proc/self/comm", unix.O_WRONLY, 0) },
	"open O_CREAT":       func() { unix.Open("/new", unix.O_RDONLY|unix.O_CREAT, 0o644) },
	"openat from a descriptor": func() {
		unix.Openat(0, "x", unix.O_RDONLY, 0)
	},
	"list a directory": func() { os.ReadDir("/") },
	"chdir":            func() { unix.Chdir("/proc") },
	"ptrace PEEKDATA": func() {
		unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_PEEKDATA, 1, 0, 0, 0, 0)
	},
	"unshare":      func() { unix.Unshare(unix.CLONE_NEWUSER) },
	"setuid":       func() { unix.RawSyscall(unix.SYS_SETUID, 0, 0, 0) },
	"kill SIGTERM": func() { unix.Kill(2, unix.SIGTERM) },
	"ioctl TIOCSTI": func() {
		c := byte('x')
		unix.Syscall(unix.SYS_IOCTL, 0, unix.TIOCSTI, uintptr(unsafe.Pointer(&c)))
	},
	"fcntl F_SETOWN":        func() { unix.FcntlInt(0, unix.F_SETOWN, 1) },
	"prctl PR_SET_DUMPABLE": func() { unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0) },
	"execveat":              func() { unix.RawSyscall6(unix.SYS_EXECVEAT, 0, 0, 0, 0, 0, 0) },
	"bpf":                   func() { unix.RawSyscall(unix.SYS_BPF, 0, 0, 0) },
	"io_uring_setup":        func() { unix.RawSyscall(unix.SYS_IO_URING_SETUP, 0, 0, 0) },
	"getcwd":                func() { unix.Getwd() },
}

// TestDeniedCallsKill: after confining itself, a process making a call
// outside the allowlist is killed by SIGSYS before the call runs.
func TestDeniedCallsKill(t *testing.T) {
	requireRoot(t)
	for name := range deniedCalls {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			c := runChild(t, nil, "probe-child", name)
			if !strings.HasPrefix(c.stdout, "confined\n") {
				t.Fatalf("the probe did not confine itself: %v", c)
			}
			if !c.killedBy(syscall.SIGSYS) || strings.Contains(c.stdout, "survived") {
				t.Errorf("after %s: %v; want killed by SIGSYS", name, c)
			}
		})
	}
}

// hostTool returns the path of a host program, or skips.
func hostTool(t *testing.T, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		skip(t, "needs %s: %v", path, err)
	}
	return path
}

// compareConfined runs argv in a sandbox confined and not, and fails
// unless both end alike and print the same. It returns the confined
// run's output.
func compareConfined(t *testing.T, opts sandboxOptions, argv ...string) string {
	t.Helper()
	free := runSandbox(t, false, opts, argv...)
	if free.state == nil || strings.Contains(free.stderr, "sandbox-child:") {
		t.Fatalf("the unconfined sandbox failed: %v", free)
	}
	confined := runSandbox(t, true, opts, argv...)
	switch {
	case confined.killedBy(syscall.SIGSYS):
		t.Fatalf("the confined sandbox was killed by its seccomp filter (dmesg names the call): %v", confined)
	case confined.state == nil || strings.Contains(confined.stderr, "sandbox-child:"):
		t.Fatalf("the confined sandbox failed: %v", confined)
	}
	if confined.state.ExitCode() != free.state.ExitCode() || confined.stdout != free.stdout || confined.stderr != free.stderr {
		t.Errorf("confined and unconfined runs differ\nconfined: %v\nunconfined: %v", confined, free)
	}
	return confined.stdout
}

func requireStaticBusybox(t *testing.T) string {
	t.Helper()
	const busybox = "/bin/busybox"
	out, err := exec.Command("file", "-L", busybox).Output()
	if err != nil || !bytes.Contains(out, []byte("statically linked")) {
		skip(t, "needs a static %s (apt-get install busybox-static): %s %v", busybox, out, err)
	}
	return busybox
}

// TestConfinedPrograms runs real programs in a confined sandbox and
// compares what they do with an unconfined one: a missing call in the
// allowlist kills the sandbox, and a call the confinement breaks shows
// as a difference.
func TestConfinedPrograms(t *testing.T) {
	requireRoot(t)
	t.Run("busybox", func(t *testing.T) {
		t.Parallel()
		busybox := requireStaticBusybox(t)
		script := `set -e
cd /tmp && mkdir -p confine && cd confine
seq 1 3000 > numbers && sort -rn numbers | head -3 && grep -c 7 numbers
for i in 1 2 3 4 5 6; do (echo "sub $i" > out.$i; sleep 0.0$i) & done; wait
cat out.* | sort | tr '\n' ' '; echo
dd if=/dev/zero of=big bs=64k count=64 2>/dev/null && md5sum big | cut -d' ' -f1
cp big big2 && cmp big big2 && rm big big2 && echo copied
ls /proc | grep -q '^1$' && echo "proc lists init"
test -e /proc/self/fd/0 && echo "own descriptors"
trap 'echo got USR1' USR1; kill -USR1 $$
sleep 5 & pid=$!; kill -TERM $pid; wait $pid || echo "sleep ended with $?"
yes | head -n 50000 | wc -l
printf 'b\na\nc\n' | sort | while read x; do printf '%s.' "$x"; done; echo
echo $((6*7)) >&2
ln -s numbers link && readlink link && mkfifo fifo && (echo through-fifo > fifo &) && cat fifo
cd / && rm -r /tmp/confine && echo done`
		out := compareConfined(t, sandboxOptions{}, busybox, "sh", "-c", script)
		if !strings.HasSuffix(out, "done\n") {
			t.Errorf("the script did not finish:\n%s", out)
		}
	})
	t.Run("python3", func(t *testing.T) {
		t.Parallel()
		py := hostTool(t, "/usr/bin/python3")
		script := `
import json, hashlib, sqlite3, threading, subprocess, tempfile, os, signal, time
db = sqlite3.connect("/tmp/confine-test.db")
db.execute("create table t(x)")
db.executemany("insert into t values (?)", [(i,) for i in range(1000)])
db.commit()
print("sqlite", db.execute("select sum(x) from t").fetchone()[0])
os.unlink("/tmp/confine-test.db")
with tempfile.NamedTemporaryFile("w+", dir="/tmp", delete=False) as f:
    f.write("temp data")
print("tempfile", open(f.name).read())
os.unlink(f.name)
out = []
ts = [threading.Thread(target=lambda i=i: out.append(hashlib.sha256(str(i).encode() * 100000).hexdigest())) for i in range(8)]
[t.start() for t in ts]
[t.join() for t in ts]
print("threads", len(set(out)))
print(subprocess.run(["sh", "-c", "echo child $((6*7))"], capture_output=True, text=True).stdout.strip())
p = subprocess.Popen(["sleep", "10"])
p.send_signal(signal.SIGTERM)
print("sleep", p.wait())
got = []
signal.signal(signal.SIGALRM, lambda *a: got.append("alarm"))
signal.setitimer(signal.ITIMER_REAL, 0.01)
time.sleep(0.2)
print(got)
print(json.dumps({"sha256": hashlib.sha256(b"magawa").hexdigest()[:16]}, sort_keys=True))
`
		out := compareConfined(t, sandboxOptions{}, py, "-c", script)
		if !strings.Contains(out, "threads 8\nchild 42\n") {
			t.Errorf("python3 printed:\n%s", out)
		}
	})
	t.Run("gcc", func(t *testing.T) {
		t.Parallel()
		hostTool(t, "/usr/bin/gcc")
		script := `set -e; cd /tmp
printf '#include <stdio.h>\nint main(void) { printf("compiled %%d\\n", 6 * 7); return 0; }\n' > confine-hello.c
gcc -O1 -o confine-hello confine-hello.c && ./confine-hello
gcc -static -O1 -o confine-hello-static confine-hello.c && ./confine-hello-static
rm -f confine-hello confine-hello-static confine-hello.c`
		out := compareConfined(t, sandboxOptions{}, "/bin/sh", "-c", script)
		if out != "compiled 42\ncompiled 42\n" {
			t.Errorf("gcc in the sandbox printed:\n%s", out)
		}
	})
	t.Run("go", func(t *testing.T) {
		t.Parallel()
		dir := buildGoPrograms(t)
		for _, name := range []string{"goroutines", "sigexec", "unixhttp"} {
			t.Run(name, func(t *testing.T) {
				compareConfined(t, sandboxOptions{}, filepath.Join(dir, name))
			})
		}
	})
	t.Run("c", func(t *testing.T) {
		t.Parallel()
		busybox := requireStaticBusybox(t)
		dir := buildCPrograms(t)
		// Every program, one after the other, in one sandbox, with its
		// output and status. /tmp is a host directory the gofer serves
		// read-write, so that the programs' files there are host files
		// the kernel reads, writes, syncs, truncates and changes through
		// descriptors the gofer donates.
		script := `cd /
for p in ` + dir + `/*; do
	name=${p##*/}
	case $name in *.sh) continue;; args) set -- one "two words" "" -x;; exitcode) set -- 259;; *) set --;; esac
	echo "== $name"
	"$p" "$@" 2>&1
	echo "== $name: $?"
done`
		out := compareConfined(t, sandboxOptions{volume: t.TempDir() + ":/tmp"}, busybox, "sh", "-c", script)
		if n := strings.Count(out, "\n== "); n < 20 {
			t.Errorf("only %d programs ran:\n%s", n, out)
		}
	})
	t.Run("volume", func(t *testing.T) {
		t.Parallel()
		busybox := requireStaticBusybox(t)
		script := `set -e; cd /vol
echo one > f; echo two >> f; cat f
printf 'abcdefghijklmnop' > g; dd if=f of=g bs=1 seek=4 conv=notrunc,fsync 2>/dev/null; cat g; echo
chmod 640 f; stat -c %a f
chown 12:34 f; stat -c %u:%g f
touch -d '2001-02-03 04:05:06' f; stat -c %y f | cut -c1-19
truncate -s 3 f; cat f; echo
mkdir d; mv f d/f; ls d; ln -s d/f l; readlink l; cat l; echo
exec 3<g; rm g; cat <&3; exec 3<&-; echo
sync; rm -r d l; ls -A; echo done`
		out := compareConfined(t, sandboxOptions{volume: t.TempDir() + ":/vol"}, busybox, "sh", "-c", script)
		if !strings.HasSuffix(out, "done\n") {
			t.Errorf("the script did not finish:\n%s", out)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		t.Parallel()
		busybox := requireStaticBusybox(t)
		// Input that comes late: the program waits for the host's
		// descriptor to be readable (the kernel polls it).
		stdin := func() io.Reader {
			r, w := io.Pipe()
			go func() {
				for _, chunk := range []string{"first\n", "second\n", strings.Repeat("x", 100000)} {
					time.Sleep(200 * time.Millisecond)
					w.Write([]byte(chunk))
				}
				w.Close()
			}()
			return r
		}
		out := compareConfined(t, sandboxOptions{stdin: stdin}, busybox, "sh", "-c", `read a; echo "got $a"; read b; echo "got $b"; wc -c`)
		if out != "got first\ngot second\n100000\n" {
			t.Errorf("the program read:\n%s", out)
		}
	})
}

// moduleDir is the module's root directory (go test runs in the
// package's).
func moduleDir(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}

// buildGoPrograms builds test/goprograms, static, and returns the
// directory holding them.
func buildGoPrograms(t *testing.T) string {
	t.Helper()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		skip(t, "needs the go command: %v", err)
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	cmd := exec.Command(gobin, "build", "-trimpath", "-o", dir+"/", "./test/goprograms/...")
	cmd.Dir = moduleDir(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./test/goprograms/...: %v\n%s", err, out)
	}
	return dir
}

// buildCPrograms builds test/programs/*.c as the differential harness
// does (gcc -static) beside the scripts they execute, and returns the
// directory holding them.
func buildCPrograms(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		skip(t, "needs gcc to build the test programs (apt-get install gcc libc6-dev)")
	}
	src := filepath.Join(moduleDir(t), "test", "programs")
	// Not below /tmp, which the programs get on a volume of its own.
	dir, err := os.MkdirTemp("/var/tmp", "confine-programs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	scripts, _ := filepath.Glob(filepath.Join(src, "*.sh"))
	for _, s := range scripts {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(s)), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(src, "*.c"))
	if len(files) == 0 {
		t.Fatalf("no C programs in %s", src)
	}
	errs := make(chan error, len(files))
	sem := make(chan struct{}, runtime.NumCPU())
	for _, f := range files {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(f), ".c"))
			b, err := exec.Command("gcc", "-static", "-O1", "-Wall", "-Werror", "-o", out, f).CombinedOutput()
			if err != nil {
				err = fmt.Errorf("gcc %s: %v\n%s", f, err, b)
			}
			errs <- err
		}()
	}
	for range files {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// openPTY returns a new host pseudo-terminal pair: master and slave.
func openPTY(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		skip(t, "needs /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

// TestConfinedTerminal runs a program on the sandbox's terminal, relayed
// to a host terminal, in a confined sandbox: the console reads the host
// terminal's settings and size, puts it in raw mode, follows its
// resizes (SIGWINCH) and a continue (SIGCONT), and restores it at the
// end, all through the ioctls the allowlist lets through.
func TestConfinedTerminal(t *testing.T) {
	requireRoot(t)
	busybox := requireStaticBusybox(t)
	master, slave := openPTY(t)
	if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		t.Fatal(err)
	}
	before, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout)
	defer cancel()
	cmd := command(ctx, t, "sandbox-child", "-tty", "--", busybox, "sh", "-c",
		`stty size; read line; echo "got $line"; read line; stty size; echo done`)
	cmd.Stdin, cmd.Stdout = slave, slave
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	var mu sync.Mutex
	var out bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	waitFor := func(s string) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			ok := strings.Contains(out.String(), s)
			mu.Unlock()
			if ok {
				return
			}
		}
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("the terminal never showed %q: %q\nstderr:\n%s", s, out.String(), stderr.String())
	}
	waitFor("24 80\r\n")
	// The host terminal is raw now: the sandbox's own line discipline
	// echoes.
	if now, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS); err != nil || now.Lflag&unix.ICANON != 0 {
		t.Errorf("the host terminal is not in raw mode: %+v %v", now, err)
	}
	master.Write([]byte("hello\r"))
	waitFor("got hello\r\n")
	if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 30, Col: 100}); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGWINCH)
	cmd.Process.Signal(syscall.SIGCONT)
	// Let the console take the resize in before the program asks.
	time.Sleep(300 * time.Millisecond)
	master.Write([]byte("\r"))
	waitFor("30 100\r\ndone\r\n")
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Fatalf("the confined sandbox died of %v\nstderr:\n%s", ws.Signal(), stderr.String())
	}
	if err != nil {
		t.Errorf("the confined sandbox: %v\nstderr:\n%s", err, stderr.String())
	}
	after, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil || *after != *before {
		t.Errorf("the host terminal was not restored: %+v, was %+v (%v)", after, before, err)
	}
}
