package seccomp

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "install-child" {
		os.Exit(installChild())
	}
	os.Exit(m.Run())
}

const x86 = unix.AUDIT_ARCH_X86_64

func eval(t *testing.T, prog []unix.SockFilter, d Data) Action {
	t.Helper()
	a, err := Evaluate(prog, d)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func call(nr uint32, args ...uint64) Data {
	d := Data{Nr: nr, Arch: x86}
	copy(d.Args[:], args)
	return d
}

// TestProgram checks the decisions of a small filter: the architecture
// and x32 checks, each kind of check, rules of one call as
// alternatives, and the action for everything else.
func TestProgram(t *testing.T) {
	rules := []Rule{
		{Nr: unix.SYS_READ, Name: "read"},
		{Nr: unix.SYS_CLONE3, Name: "clone3", Action: Errno(unix.ENOSYS)},
		{Nr: unix.SYS_SOCKET, Name: "socket", Checks: []Check{ArgIs(0, unix.AF_UNIX)}},
		{Nr: unix.SYS_KILL, Name: "kill", Checks: []Check{ArgIs(0, 42)}},
		{Nr: unix.SYS_KILL, Name: "kill", Checks: []Check{ArgIs(1, uint32(unix.SIGKILL))}},
		{Nr: unix.SYS_MKNODAT, Name: "mknodat", Checks: []Check{ArgMasked(2, unix.S_IFMT, unix.S_IFIFO, unix.S_IFSOCK)}},
		{Nr: unix.SYS_CLONE, Name: "clone", Checks: []Check{ArgHasAny(0, unix.CLONE_THREAD)}},
		{Nr: unix.SYS_IOCTL, Name: "ioctl", Checks: []Check{ArgIs(0, 1), ArgIn(1, unix.TCGETS, unix.TIOCGWINSZ)}},
	}
	prog, err := Program(x86, rules, KillProcess)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		d    Data
		want Action
	}{
		"read":                      {call(unix.SYS_READ, 3), Allow},
		"write, not listed":         {call(unix.SYS_WRITE, 1), KillProcess},
		"read, 32-bit ABI":          {Data{Nr: unix.SYS_READ, Arch: unix.AUDIT_ARCH_I386}, KillProcess},
		"read, x32 number":          {call(unix.SYS_READ | X32SyscallBit), KillProcess},
		"clone3":                    {call(unix.SYS_CLONE3), Errno(unix.ENOSYS)},
		"socket AF_UNIX":            {call(unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_STREAM), Allow},
		"socket AF_UNIX, high bits": {call(unix.SYS_SOCKET, 1<<32|unix.AF_UNIX), Allow},
		"socket AF_INET":            {call(unix.SYS_SOCKET, unix.AF_INET), KillProcess},
		"kill, self":                {call(unix.SYS_KILL, 42, 15), Allow},
		"kill, SIGKILL":             {call(unix.SYS_KILL, 7, 9), Allow},
		"kill, other":               {call(unix.SYS_KILL, 7, 15), KillProcess},
		"mknodat FIFO":              {call(unix.SYS_MKNODAT, 3, 0, unix.S_IFIFO|0o644), Allow},
		"mknodat socket":            {call(unix.SYS_MKNODAT, 3, 0, unix.S_IFSOCK|0o600), Allow},
		"mknodat char device":       {call(unix.SYS_MKNODAT, 3, 0, unix.S_IFCHR|0o644), KillProcess},
		"clone, a thread":           {call(unix.SYS_CLONE, unix.CLONE_VM|unix.CLONE_THREAD|unix.CLONE_SIGHAND), Allow},
		"clone, a process":          {call(unix.SYS_CLONE, uint64(unix.SIGCHLD)), KillProcess},
		"ioctl TCGETS on 1":         {call(unix.SYS_IOCTL, 1, unix.TCGETS), Allow},
		"ioctl TIOCGWINSZ on 1":     {call(unix.SYS_IOCTL, 1, unix.TIOCGWINSZ), Allow},
		"ioctl TIOCSTI on 1":        {call(unix.SYS_IOCTL, 1, unix.TIOCSTI), KillProcess},
		"ioctl TCGETS on 2":         {call(unix.SYS_IOCTL, 2, unix.TCGETS), KillProcess},
		"number 1000":               {call(1000), KillProcess},
		"number 0xffffffff (no nr)": {call(0xffffffff), KillProcess},
	} {
		if got := eval(t, prog, tc.d); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
	// Another architecture gets no x32 check, and another answer.
	prog, err = Program(unix.AUDIT_ARCH_AARCH64, rules, Trap)
	if err != nil {
		t.Fatal(err)
	}
	if got := eval(t, prog, Data{Nr: unix.SYS_READ | X32SyscallBit, Arch: unix.AUDIT_ARCH_AARCH64}); got != Trap {
		t.Errorf("an unknown number: %v, want trap", got)
	}
	if got := eval(t, prog, Data{Nr: unix.SYS_READ, Arch: x86}); got != Trap {
		t.Errorf("a call of another architecture: %v, want trap", got)
	}
}

// decide is what a filter of rules must answer, written plainly.
func decide(arch uint32, rules []Rule, otherwise Action, d Data) Action {
	if d.Arch != arch || (arch == x86 && d.Nr&X32SyscallBit != 0) {
		return otherwise
	}
	for _, r := range rules {
		if r.Nr != d.Nr {
			continue
		}
		ok := true
		for _, c := range r.Checks {
			v := uint32(d.Args[c.Arg]) & c.Mask
			if c.AnyBit {
				ok = v != 0
			} else {
				ok = slices.Contains(c.Values, v)
			}
			if !ok {
				break
			}
		}
		if ok {
			return r.action()
		}
	}
	return otherwise
}

// TestProgramRandom compares the assembled filters' answers with
// decide's on random rule lists and calls drawn from a few values, so
// that matches, near misses and repeated calls are frequent.
func TestProgramRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	small := func() uint32 { return uint32(rng.Intn(6)) }
	for round := 0; round < 300; round++ {
		var rules []Rule
		for range rng.Intn(12) {
			r := Rule{Nr: small(), Name: "r"}
			for range rng.Intn(3) {
				arg := rng.Intn(6)
				switch rng.Intn(3) {
				case 0:
					r.Checks = append(r.Checks, ArgIs(arg, small()))
				case 1:
					r.Checks = append(r.Checks, ArgMasked(arg, 0x3, small(), small()))
				default:
					r.Checks = append(r.Checks, ArgHasAny(arg, 1<<uint(rng.Intn(3))))
				}
			}
			if rng.Intn(4) == 0 {
				r.Action = Errno(unix.Errno(1 + rng.Intn(100)))
			}
			rules = append(rules, r)
		}
		prog, err := Program(x86, rules, KillProcess)
		if err != nil {
			t.Fatal(err)
		}
		for range 200 {
			d := call(small())
			for i := range d.Args {
				d.Args[i] = uint64(small())
			}
			got := eval(t, prog, d)
			if want := decide(x86, rules, KillProcess, d); got != want {
				t.Fatalf("rules %+v, call %+v: %v, want %v", rules, d, got, want)
			}
		}
	}
}

func TestProgramLimits(t *testing.T) {
	for name, c := range map[string]Check{
		"argument 6":        ArgIs(6, 0),
		"negative argument": ArgIs(-1, 0),
		"no values":         ArgIn(0),
		"AnyBit of nothing": ArgHasAny(0, 0),
		"too many values":   ArgIn(0, make([]uint32, maxValues+1)...),
	} {
		if _, err := Program(x86, []Rule{{Nr: 1, Name: "write", Checks: []Check{c}}}, KillProcess); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	var many []Rule
	for i := range bpfMaxLen / 2 {
		many = append(many, Rule{Nr: uint32(i)})
	}
	if _, err := Program(x86, many, KillProcess); err == nil {
		t.Errorf("a filter longer than the host takes: no error")
	}
	if _, err := Program(0, nil, KillProcess); err == nil {
		t.Errorf("no architecture: no error")
	}
	// A rule as long as a rule can be.
	var checks []Check
	for arg := range 6 {
		checks = append(checks, ArgIn(arg, make([]uint32, maxValues)...))
	}
	if _, err := Program(x86, []Rule{{Nr: 1, Name: "long", Checks: checks}}, KillProcess); err != nil {
		t.Errorf("the longest rule: %v", err)
	}
}

func TestDescribe(t *testing.T) {
	var b bytes.Buffer
	err := Describe(&b, []Rule{
		{Nr: unix.SYS_READ, Name: "read"},
		{Nr: unix.SYS_CLONE, Name: "clone", Checks: []Check{ArgIn(0, 0x50f00, 0x4111)}},
		{Nr: unix.SYS_MKNODAT, Name: "mknodat", Checks: []Check{ArgMasked(2, unix.S_IFMT, unix.S_IFIFO), ArgHasAny(3, 4)}},
		{Nr: unix.SYS_CLONE3, Name: "clone3", Action: Errno(unix.ENOSYS)},
	}, KillProcess)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"NR ", "CALL", "ACTION",
		"0    read",
		"clone    arg0 in {0x50f00, 0x4111}",
		"arg2&0xf000 == 0x1000 && arg3&0x4 != 0",
		"errno ENOSYS",
		"*    others",
		"kill",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the listing lacks %q:\n%s", want, b.String())
		}
	}
}

// installChild is this test binary re-executed with "install-child":
// with threads already running, it installs a filter that lets
// everything through but getppid, which fails with EPERM, and reports
// what each thread sees.
func installChild() int {
	const threads = 4
	var ready, installed sync.WaitGroup
	ready.Add(threads)
	installed.Add(1)
	results := make(chan string, threads)
	for range threads {
		go func() {
			// A thread of its own, made before the filter.
			runtime.LockOSThread()
			ready.Done()
			installed.Wait()
			_, _, errno := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
			results <- fmt.Sprintf("thread %d: %v", unix.Gettid(), errno)
		}()
	}
	ready.Wait()
	prog, err := Program(NativeArch, []Rule{{Nr: unix.SYS_GETPPID, Name: "getppid", Action: Errno(unix.EPERM)}}, Allow)
	if err == nil {
		err = Install(prog)
	}
	if err != nil {
		fmt.Println(err)
		return 2
	}
	installed.Done()
	for range threads {
		fmt.Println(<-results)
	}
	status, _ := os.ReadFile("/proc/self/status")
	os.Stdout.Write(status)
	return 0
}

// TestInstall installs a filter in a child process: it holds on the
// threads that existed before it, with no_new_privs, and needs no
// privilege.
func TestInstall(t *testing.T) {
	if NativeArch == 0 {
		t.Skipf("no seccomp architecture for %s", runtime.GOARCH)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(exe, "install-child").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := strings.Count(string(out), ": operation not permitted\n"); n != 4 {
		t.Errorf("%d threads of 4 saw the filter:\n%s", n, out)
	}
	for _, want := range []string{"NoNewPrivs:\t1\n", "Seccomp:\t2\n", "Seccomp_filters:\t1\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the child's status lacks %q:\n%s", want, out)
		}
	}
}
