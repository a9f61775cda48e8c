package gofer

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/internal/seccomp"
	goferfs "magawa/kernel/fs/gofer"
	"magawa/kernel/fs/gofer/wire"
	"magawa/kernel/vfs"
)

// TestSeccompProgram checks the filter's decisions on made-up calls.
func TestSeccompProgram(t *testing.T) {
	if seccomp.NativeArch == 0 {
		skip(t, "no seccomp allowlist for %s", runtime.GOARCH)
	}
	const pid = 4242
	rules := seccompRules(pid)
	prog, err := seccomp.Program(seccomp.NativeArch, rules, seccomp.KillProcess)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rules, %d instructions", len(rules), len(prog))
	allow, kill := seccomp.Allow, seccomp.KillProcess
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
	// Every rule's call passes with arguments its checks accept.
	seen := map[uint32]bool{}
	for _, r := range rules {
		if seen[r.Nr] {
			t.Errorf("%s is listed twice", r.Name)
		}
		seen[r.Nr] = true
		d := call(r.Nr)
		for _, c := range r.Checks {
			switch {
			case c.AnyBit:
				d.Args[c.Arg] = uint64(c.Mask)
			default:
				d.Args[c.Arg] = uint64(c.Values[len(c.Values)-1])
			}
		}
		want := r.Action
		if want == 0 {
			want = allow
		}
		if got := run(d); got != want {
			t.Errorf("%s: %v, want %v", r.Name, got, want)
		}
	}
	for name, tc := range map[string]struct {
		d    seccomp.Data
		want seccomp.Action
	}{
		"ptrace":                       {call(unix.SYS_PTRACE), kill},
		"mount":                        {call(unix.SYS_MOUNT), kill},
		"execve":                       {call(unix.SYS_EXECVE), kill},
		"unshare":                      {call(unix.SYS_UNSHARE), kill},
		"setns":                        {call(unix.SYS_SETNS), kill},
		"socket":                       {call(unix.SYS_SOCKET, unix.AF_UNIX), kill},
		"connect":                      {call(unix.SYS_CONNECT), kill},
		"ioctl":                        {call(unix.SYS_IOCTL), kill},
		"setuid":                       {call(unix.SYS_SETUID), kill},
		"open_by_handle_at":            {call(unix.SYS_OPEN_BY_HANDLE_AT), kill},
		"bpf":                          {call(unix.SYS_BPF), kill},
		"seccomp":                      {call(unix.SYS_SECCOMP), kill},
		"prctl":                        {call(unix.SYS_PRCTL), kill},
		"mprotect":                     {call(unix.SYS_MPROTECT), kill},
		"number 1000":                  {call(1000), kill},
		"getpid, 32-bit ABI":           {seccomp.Data{Nr: unix.SYS_GETPID, Arch: unix.AUDIT_ARCH_I386}, kill},
		"getpid, x32 number":           {call(unix.SYS_GETPID | seccomp.X32SyscallBit), kill},
		"getpid":                       {call(unix.SYS_GETPID), allow},
		"clone, a thread":              {call(unix.SYS_CLONE, unix.CLONE_VM|unix.CLONE_THREAD|unix.CLONE_SIGHAND), allow},
		"clone, a process":             {call(unix.SYS_CLONE, unix.CLONE_VM|unix.CLONE_VFORK), kill},
		"fork via clone":               {call(unix.SYS_CLONE, uint64(unix.SIGCHLD)), kill},
		"clone3":                       {call(unix.SYS_CLONE3), seccomp.Errno(unix.ENOSYS)},
		"tgkill, self":                 {call(unix.SYS_TGKILL, pid, 7, 23), allow},
		"tgkill, other":                {call(unix.SYS_TGKILL, 1, 1, 9), kill},
		"tgkill, other, high bits":     {call(unix.SYS_TGKILL, 1<<32|1, 1, 9), kill},
		"kill, self":                   {call(unix.SYS_KILL, pid, 6), allow},
		"kill, everyone":               {call(unix.SYS_KILL, uint64(0xffffffff), 9), kill},
		"kill, group":                  {call(unix.SYS_KILL, 0, 9), kill},
		"mknodat FIFO":                 {call(unix.SYS_MKNODAT, 3, 0, unix.S_IFIFO|0o644), allow},
		"mknodat socket":               {call(unix.SYS_MKNODAT, 3, 0, unix.S_IFSOCK|0o644), allow},
		"mknodat char device":          {call(unix.SYS_MKNODAT, 3, 0, unix.S_IFCHR|0o644, 0x0103), kill},
		"mknodat block device":         {call(unix.SYS_MKNODAT, 3, 0, unix.S_IFBLK|0o644), kill},
		"mknodat regular":              {call(unix.SYS_MKNODAT, 3, 0, unix.S_IFREG|0o644), kill},
		"linkat":                       {call(unix.SYS_LINKAT, 3, 0, 4, 0, 0), allow},
		"linkat AT_EMPTY_PATH":         {call(unix.SYS_LINKAT, 3, 0, 4, 0, unix.AT_EMPTY_PATH), kill},
		"linkat AT_SYMLINK_FOLLOW":     {call(unix.SYS_LINKAT, 3, 0, 4, 0, unix.AT_SYMLINK_FOLLOW), kill},
		"renameat2 EXCHANGE":           {call(unix.SYS_RENAMEAT2, 3, 0, 4, 0, unix.RENAME_EXCHANGE), allow},
		"renameat2 WHITEOUT":           {call(unix.SYS_RENAMEAT2, 3, 0, 4, 0, unix.RENAME_WHITEOUT), kill},
		"socketpair AF_UNIX":           {call(unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_SEQPACKET), allow},
		"socketpair AF_INET":           {call(unix.SYS_SOCKETPAIR, unix.AF_INET, unix.SOCK_STREAM), kill},
		"socketpair AF_UNIX, high":     {call(unix.SYS_SOCKETPAIR, 1<<32|unix.AF_UNIX), allow}, // the kernel takes an int
		"statx with any arguments":     {call(unix.SYS_STATX, ^uint64(0), ^uint64(0), ^uint64(0)), allow},
		"openat2":                      {call(unix.SYS_OPENAT2, 3), allow},
		"exit_group":                   {call(unix.SYS_EXIT_GROUP, 2), allow},
		"restart_syscall":              {call(unix.SYS_RESTART_SYSCALL), allow},
		"rt_sigreturn":                 {call(unix.SYS_RT_SIGRETURN), allow},
		"process_vm_readv":             {call(unix.SYS_PROCESS_VM_READV), kill},
		"pidfd_open":                   {call(unix.SYS_PIDFD_OPEN), kill},
		"memfd_create":                 {call(unix.SYS_MEMFD_CREATE), kill},
		"name_to_handle_at":            {call(unix.SYS_NAME_TO_HANDLE_AT), kill},
		"chroot":                       {call(unix.SYS_CHROOT), kill},
		"pivot_root":                   {call(unix.SYS_PIVOT_ROOT), kill},
		"capset":                       {call(unix.SYS_CAPSET), kill},
		"fsopen":                       {call(unix.SYS_FSOPEN), kill},
		"open_tree":                    {call(unix.SYS_OPEN_TREE), kill},
		"move_mount":                   {call(unix.SYS_MOVE_MOUNT), kill},
		"keyctl":                       {call(unix.SYS_KEYCTL), kill},
		"userfaultfd":                  {call(unix.SYS_USERFAULTFD), kill},
		"perf_event_open":              {call(unix.SYS_PERF_EVENT_OPEN), kill},
		"io_uring_setup":               {call(unix.SYS_IO_URING_SETUP), kill},
		"sendmmsg (not sendmsg)":       {call(unix.SYS_SENDMMSG), kill},
		"creat (only openat, openat2)": {call(unix.SYS_CREAT), kill},
	} {
		if got := run(tc.d); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}

// serveUnderFilter serves a temporary directory in this process and
// works on it through a client: every kind of request. It returns the
// directory.
func serveUnderFilter() (string, error) {
	dir, err := os.MkdirTemp("", "seccomp-child-")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(dir+"/file", []byte("contents"), 0o644); err != nil {
		return "", err
	}
	srv, err := NewServer([]Export{{Path: dir}})
	if err != nil {
		return "", err
	}
	fds, err := wire.SocketPair()
	if err != nil {
		return "", err
	}
	go srv.Serve(fds[0])
	c, err := goferfs.NewClient(fds[1], goferfs.ClientOptions{})
	if err != nil {
		return "", err
	}
	// Not closed: Client.Close shuts the control socket down, a call of
	// the client's that the gofer does not make.
	fs, err := c.Mount(0, goferfs.MountOptions{})
	if err != nil {
		return "", err
	}
	ctx := &vfs.Context{Creds: &vfs.RootCreds}
	root := fs.Root().(vfs.DirInode)
	attrs := vfs.NewAttrs{Mode: unix.S_IFDIR | 0o755}
	steps := []func() error{
		func() error { return root.Readdir(ctx, 0, func(vfs.Dirent) bool { return true }) },
		func() error {
			in, err := root.Lookup(ctx, "file")
			if err != nil {
				return err
			}
			f, err := in.Open(ctx, unix.O_RDONLY)
			if err != nil {
				return err
			}
			defer f.Release()
			buf := make([]byte, 16)
			if n, _ := f.ReadAt(buf, 0); string(buf[:n]) != "contents" {
				return fmt.Errorf("read %q", buf[:n])
			}
			return in.(vfs.SetStatInode).SetStat(ctx, &vfs.SetAttr{Mask: unix.STATX_MODE | unix.STATX_SIZE, Mode: 0o600, Size: 3})
		},
		func() error { _, err := root.Mkdir(ctx, "d", attrs); return err },
		func() error {
			_, err := root.Create(ctx, "fifo", vfs.NewAttrs{Mode: unix.S_IFIFO | 0o644})
			return err
		},
		func() error {
			_, err := root.Symlink(ctx, "sym", "file", vfs.NewAttrs{Mode: unix.S_IFLNK | 0o777})
			return err
		},
		func() error {
			x := root.(vfs.XattrInode)
			if err := x.SetXattr(ctx, "user.k", []byte("v"), 0); err != nil {
				return err
			}
			if _, err := x.ListXattr(ctx); err != nil {
				return err
			}
			_, err := x.GetXattr(ctx, "user.k")
			return err
		},
		func() error { return root.Rename(ctx, "fifo", root, "fifo2", 0) },
		func() error { return root.Unlink(ctx, "fifo2") },
		func() error { return root.Rmdir(ctx, "d") },
		func() error { _, err := root.(vfs.StatfsInode).Statfs(ctx); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			return "", fmt.Errorf("step %d: %w", i, err)
		}
	}
	return dir, nil
}

// seccompChild is a test binary re-executed with "seccomp-child" first:
// it installs the filter, shows that the runtime and the server's calls
// go on working, then makes the call named by its argument, which must
// kill it.
func seccompChild(call string) int {
	if err := installSeccomp(); err != nil {
		fmt.Println(err)
		return 2
	}
	// The runtime at work: threads, garbage, timers, preemption.
	done := make(chan int)
	for i := range 8 {
		go func() {
			var keep [][]byte
			for j := range 2000 {
				keep = append(keep, make([]byte, 1<<10*(j%64+1)))
				if len(keep) > 100 {
					keep = keep[:0]
				}
			}
			runtime.GC()
			time.Sleep(time.Millisecond)
			done <- i
		}()
	}
	for range 8 {
		<-done
	}
	// A server at work, over a real channel.
	dir, err := serveUnderFilter()
	if err != nil {
		fmt.Println("serving:", err)
		return 2
	}
	fmt.Println("alive")
	switch call {
	case "none":
		return 0
	case "ptrace":
		unix.Syscall(unix.SYS_PTRACE, unix.PTRACE_TRACEME, 0, 0)
	case "mount":
		unix.Mount("none", dir, "tmpfs", 0, "")
	case "exec":
		exec.Command("/bin/true").Run()
	case "socket":
		unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	case "kill":
		unix.Kill(1, 0)
	}
	fmt.Println("survived")
	return 0
}

// TestSeccompKills runs the filter in child processes: the runtime
// lives with it, and a forbidden call kills the process (SIGSYS).
func TestSeccompKills(t *testing.T) {
	if seccomp.NativeArch == 0 {
		skip(t, "no seccomp allowlist for %s", runtime.GOARCH)
	}
	if raceEnabled {
		// As for the gofer itself (requireRoot): the race runtime
		// makes calls of its own, and a gofer never runs with it.
		t.Skip("the race detector's runtime makes system calls the filter does not allow")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range []string{"none", "ptrace", "mount", "exec", "socket", "kill"} {
		t.Run(call, func(t *testing.T) {
			cmd := exec.Command(exe, "seccomp-child", call)
			out, err := cmd.Output()
			if !strings.HasPrefix(string(out), "alive\n") {
				t.Fatalf("the child did not get going: %q %v", out, err)
			}
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if call == "none" {
				if err != nil {
					t.Errorf("a child making only allowed calls: %v", err)
				}
				return
			}
			if !ws.Signaled() || ws.Signal() != unix.SIGSYS || strings.Contains(string(out), "survived") {
				t.Errorf("after %s: %v, output %q; want killed by SIGSYS", call, cmd.ProcessState, out)
			}
		})
	}
}

// TestGoferSeccomp: the gofer process runs under its filter (every
// other gofer test then runs with it).
func TestGoferSeccomp(t *testing.T) {
	dir := t.TempDir()
	g, _ := confined(t, Export{Path: dir})
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Seccomp:\t2\n", "Seccomp_filters:\t1\n", "NoNewPrivs:\t1\n"} {
		if !strings.Contains(string(status), want) {
			t.Errorf("the gofer's status lacks %q", want)
		}
	}
	// Every thread has it.
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", g.Pid()))
	for _, task := range tasks {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", g.Pid(), task.Name()))
		if err == nil && !strings.Contains(string(st), "Seccomp:\t2\n") {
			t.Errorf("thread %s of the gofer has no filter", task.Name())
		}
	}
}
