package suite

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"time"
)

// Metric is one row of the results: a number a case measures.
type Metric struct {
	Name   string `json:"name"`
	Unit   string `json:"unit"`
	Higher bool   `json:"higher,omitempty"` // higher is better (a rate)
}

// Case is one benchmark: the numbers it measures, and how one sample of
// them is taken under a runtime.
type Case struct {
	ID      string // what -run matches: "syscalls/getpid"
	Group   string // the section of the report
	Metrics []Metric
	// Requires are host programs the case runs (inside the sandbox too:
	// the host's /usr is the container's); missing ones skip the case.
	Requires []string
	Veth     bool // a server in the veth's namespace, its client on the host
	Network  bool // magawa's host-network variants run it too
	// Reps caps the repetitions of a long case (0: as many as the run's).
	Reps int
	// VM says the VM sandbox ("magawa vm") runs the case too, at most
	// VMReps times (0: as many as the others): each of its samples boots
	// a VM, seconds under TCG, so it takes part only where a boot is
	// what is measured or does not drown the number (start, memory).
	VM     bool
	VMReps int
	// only says why rt does not take part; nil: every runtime does.
	only func(rt *Runtime) string
	run  func(ctx context.Context, s *Sample) ([]float64, error)
}

// NotApplicable is the Skip of a runtime that only runs network cases
// (magawa's host-network variants) in the others: the report gives it
// no column there.
const NotApplicable = "n/a"

// Skip says why rt does not run c, "" when it does.
func (c *Case) Skip(w *Workspace, rt *Runtime) string {
	if rt.Skip != "" {
		return rt.Skip
	}
	if rt.HostNet && !c.Network {
		return NotApplicable
	}
	if rt.Sandbox == "vm" && !c.VM {
		return NotApplicable
	}
	if c.Veth {
		if w.VethErr != nil {
			return "no veth: " + w.VethErr.Error()
		}
		if rt.NoVeth != "" {
			return rt.NoVeth
		}
	}
	for _, p := range c.Requires {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Sprintf("%s is not installed", p)
		}
	}
	if c.only != nil {
		return c.only(rt)
	}
	return ""
}

// reps is how many samples of c rt takes in a run of runReps.
func (c *Case) reps(rt *Runtime, runReps int) int {
	n := runReps
	if c.Reps > 0 {
		n = min(n, c.Reps)
	}
	if rt.Sandbox == "vm" && c.VMReps > 0 {
		n = min(n, c.VMReps)
	}
	return n
}

// vmReps caps the VM sandbox's samples of a case: five boots of 4 to 6
// seconds under TCG per case would be most of a quick run.
const vmReps = 3

// Groups are the report's sections, in order.
var Groups = []string{"start", "system calls", "files", "network", "memory", "applications"}

// Cases are the benchmarks, in the report's order. Iteration counts are
// sized for a ptrace platform, where a system call costs tens of
// microseconds, and divided by ten with -quick.
func Cases(w *Workspace) []*Case {
	sz := w.sizes()
	n := func(full int) string { return strconv.Itoa(max(full/sz.scale, 1)) }
	perOp := func(c *Case, probe string, args ...string) *Case {
		c.run = func(ctx context.Context, s *Sample) ([]float64, error) {
			v, err := s.Probe(ctx, probe, args...)
			if err != nil {
				return nil, err
			}
			return []float64{v[0] / 1000}, nil // ns to µs
		}
		return c
	}
	rate := func(c *Case, probe string, args ...string) *Case {
		c.run = func(ctx context.Context, s *Sample) ([]float64, error) {
			return s.Probe(ctx, probe, args...)
		}
		return c
	}
	us := func(name string) []Metric { return []Metric{{Name: name, Unit: "µs"}} }
	mbs := func(name string) []Metric { return []Metric{{Name: name, Unit: "MB/s", Higher: true}} }
	ms := func(name string) []Metric { return []Metric{{Name: name, Unit: "ms"}} }
	sys := "system calls"

	cases := []*Case{
		{ID: "start/run", Group: "start", Metrics: ms("create+start+exit of /bin/true (`run`)"), VM: true, VMReps: vmReps,
			run: func(ctx context.Context, s *Sample) ([]float64, error) {
				v, err := s.TimeRun(ctx, "/bin/true")
				return []float64{v}, err
			}},
		{ID: "start/do", Group: "start", Metrics: ms("`do /bin/true`"),
			only: func(rt *Runtime) string {
				if rt.Kind == Runc {
					return "runc has no `do`"
				}
				return ""
			},
			run: func(ctx context.Context, s *Sample) ([]float64, error) {
				argv := []string{"/bin/true"}
				if s.RT.isContainer() {
					argv = s.RT.doArgv(argv...)
				}
				v, err := Time(ctx, argv...)
				return []float64{v}, err
			}},
		{ID: "start/first-output", Group: "start", VM: true, VMReps: vmReps,
			Metrics: []Metric{{Name: "`create` until it returns (the sandbox ready, the process not started)", Unit: "ms"},
				{Name: "`create`, then `start`, until the process's first output (echo)", Unit: "ms"}},
			only: func(rt *Runtime) string {
				if !rt.isContainer() {
					return "no container to create natively"
				}
				return ""
			},
			run: func(ctx context.Context, s *Sample) ([]float64, error) {
				return s.TimeFirstOutput(ctx, "/bin/echo", "hi")
			}},
		{ID: "start/vm-boot", Group: "start", VM: true, VMReps: vmReps,
			Metrics: []Metric{{Name: "VM: `create` until QEMU started (supervisor's log)", Unit: "ms"},
				{Name: "VM: `create` until the guest's agent answered (supervisor's log)", Unit: "ms"},
				{Name: "VM: `create` until the container was made in the guest (supervisor's log)", Unit: "ms"}},
			only: func(rt *Runtime) string {
				if rt.Sandbox != "vm" {
					return NotApplicable
				}
				return ""
			},
			run: func(ctx context.Context, s *Sample) ([]float64, error) {
				return s.VMBoot(ctx)
			}},

		perOp(&Case{ID: "syscalls/getpid", Group: sys, Metrics: us("getpid")}, "getpid", n(20000)),
		perOp(&Case{ID: "syscalls/clock", Group: sys, Metrics: us("clock_gettime (vDSO)")}, "clock", n(100000)),
		perOp(&Case{ID: "syscalls/openread", Group: sys, Metrics: us("open+read 4 KiB+close")}, "openread", n(5000), "/etc/passwd"),
		perOp(&Case{ID: "syscalls/stat", Group: sys, Metrics: us("stat")}, "stat", n(10000), "/etc/passwd"),
		perOp(&Case{ID: "syscalls/fork", Group: sys, Metrics: us("fork+exit+wait")}, "fork", n(300)),
		perOp(&Case{ID: "syscalls/thread", Group: sys, Metrics: us("thread create+join")}, "thread", n(1000)),
		perOp(&Case{ID: "syscalls/pipertt", Group: sys, Metrics: us("pipe round trip")}, "pipertt", n(5000)),
		rate(&Case{ID: "syscalls/pipebw", Group: sys, Metrics: mbs(fmt.Sprintf("pipe bandwidth, 64 KiB writes (%d MiB)", sz.pipeMiB))}, "pipebw", strconv.Itoa(sz.pipeMiB)),
		perOp(&Case{ID: "syscalls/mmap", Group: sys, Metrics: us("mmap+fault 16 pages+munmap")}, "mmap", n(2000), "16"),
		perOp(&Case{ID: "syscalls/epollrtt", Group: sys, Metrics: us("epoll round trip")}, "epollrtt", n(5000)),
	}

	for _, where := range []struct{ name, dir string }{{"root", "/tmp"}, {"bind", "/vol"}} {
		where := where
		label := map[string]string{"root": "root file system", "bind": "bind mount"}[where.name]
		cases = append(cases,
			&Case{ID: "files/seqio-" + where.name, Group: "files",
				Metrics: []Metric{
					{Name: fmt.Sprintf("sequential write %d MiB, %s", sz.seqMiB, label), Unit: "MB/s", Higher: true},
					{Name: fmt.Sprintf("sequential read %d MiB, %s", sz.seqMiB, label), Unit: "MB/s", Higher: true},
				},
				run: func(ctx context.Context, s *Sample) ([]float64, error) {
					return s.Probe(ctx, "seqio", strconv.Itoa(sz.seqMiB), s.P(where.dir+"/seqio"))
				}},
			&Case{ID: "files/walk-" + where.name, Group: "files", Metrics: us("find+stat walk, per entry, " + label),
				run: func(ctx context.Context, s *Sample) ([]float64, error) {
					src := "/bench/src"
					if where.name == "bind" {
						src = "/vol/src"
					}
					v, err := s.Probe(ctx, "walk", s.P(src))
					if err != nil {
						return nil, err
					}
					return []float64{v[0] / 1000}, nil
				}},
			&Case{ID: "files/untar-" + where.name, Group: "files", Metrics: ms("untar of the source tree, " + label),
				Requires: []string{"tar"},
				run: func(ctx context.Context, s *Sample) ([]float64, error) {
					tarFile, dst := s.P("/bench/src.tar"), s.P(where.dir+"/untar")
					if where.name == "bind" {
						tarFile = s.P("/vol/src.tar")
					}
					fresh := fmt.Sprintf("rm -rf %s && mkdir %s", dst, dst)
					return s.Probe(ctx, "timeit", "-b", fresh, "-a", "rm -rf "+dst, "/bin/tar", "-xf", tarFile, "-C", dst)
				}},
		)
	}

	port := func(p int) string { return strconv.Itoa(p) }
	cases = append(cases,
		perOp(&Case{ID: "network/loopback-rtt", Group: "network", Network: true, Metrics: us("TCP round trip, loopback in the sandbox")}, "tcprtt", n(5000)),
		rate(&Case{ID: "network/loopback-bw", Group: "network", Network: true, Metrics: mbs(fmt.Sprintf("TCP throughput, loopback in the sandbox (%d MiB)", sz.tcpMiB))}, "tcpbw", strconv.Itoa(sz.tcpMiB)),
		&Case{ID: "network/veth-rtt", Group: "network", Network: true, Veth: true, Metrics: us("TCP round trip, host to sandbox across the veth"),
			run: func(ctx context.Context, s *Sample) ([]float64, error) {
				v, err := s.vethClient(ctx, []string{s.P("/bench/probes/tcprtt"), "-s", port(7001)}, 7001,
					s.W.Rootfs+"/bench/probes/tcprtt", "-c", s.W.Veth.PeerAddr, port(7001), n(5000))
				if err != nil {
					return nil, err
				}
				return []float64{v[0] / 1000}, nil
			}},
		&Case{ID: "network/veth-bw", Group: "network", Network: true, Veth: true, Metrics: mbs(fmt.Sprintf("TCP throughput, host to sandbox across the veth (%d MiB)", sz.tcpMiB)),
			run: func(ctx context.Context, s *Sample) ([]float64, error) {
				return s.vethClient(ctx, []string{s.P("/bench/probes/tcpbw"), "-s", port(7002)}, 7002,
					s.W.Rootfs+"/bench/probes/tcpbw", "-c", s.W.Veth.PeerAddr, port(7002), strconv.Itoa(sz.tcpMiB))
			}},
		&Case{ID: "network/http", Group: "network", Network: true, Veth: true, Requires: []string{"wrk"},
			Metrics: []Metric{{Name: "HTTP requests/s across the veth (wrk to a Go server)", Unit: "req/s", Higher: true}},
			run: func(ctx context.Context, s *Sample) ([]float64, error) {
				secs := "3"
				if s.W.Quick {
					secs = "1"
				}
				out, err := s.vethClientOutput(ctx, []string{s.P("/bench/httpserve"), ":8080"}, 8080,
					"wrk", "-t1", "-c32", "-d"+secs+"s", "http://"+net.JoinHostPort(s.W.Veth.PeerAddr, "8080")+"/")
				if err != nil {
					return nil, err
				}
				return wrkRate(out)
			}},

		&Case{ID: "memory/idle", Group: "memory", Metrics: []Metric{{Name: "idle sandbox (sleep): PSS of its host processes", Unit: "MiB"}},
			Requires: []string{"sleep"}, VM: true, VMReps: vmReps,
			run: func(ctx context.Context, s *Sample) ([]float64, error) {
				srv, err := s.Start(ctx, false, "/bin/sleep", "1000")
				if err != nil {
					return nil, err
				}
				defer srv.Stop()
				// Settle: the runtimes' start-up garbage collected, the
				// sandbox asleep.
				settle := time.Second
				if s.W.Quick {
					settle = 500 * time.Millisecond
				}
				select {
				case <-time.After(settle):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				pids, err := srv.PIDs(ctx)
				if err != nil {
					return nil, err
				}
				return []float64{float64(PSS(pids)) / (1 << 20)}, nil
			}},
		&Case{ID: "memory/idle-cpu", Group: "memory",
			Metrics: []Metric{{Name: "idle sandbox after 16 threads made system calls for 0.5 s: CPU time of its host processes", Unit: "ms/s"}},
			run: func(ctx context.Context, s *Sample) ([]float64, error) {
				srv, err := s.Start(ctx, false, s.P("/bench/probes/burst"), "16", "500")
				if err != nil {
					return nil, err
				}
				defer srv.Stop()
				if err := srv.WaitOutput(ctx, "idle", time.Minute); err != nil {
					return nil, err
				}
				window := 2 * time.Second
				if s.W.Quick {
					window = 500 * time.Millisecond
				}
				// The last threads' exits settle first.
				time.Sleep(200 * time.Millisecond)
				pids, err := srv.PIDs(ctx)
				if err != nil {
					return nil, err
				}
				before := CPUTime(pids)
				select {
				case <-time.After(window):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				used := CPUTime(pids) - before
				return []float64{float64(used) / float64(time.Millisecond) / window.Seconds()}, nil
			}},
	)

	loops := n(100000) // the shell loop's iterations
	cases = append(cases,
		timed(&Case{ID: "apps/python-start", Group: "applications", Metrics: ms("python3 -c pass"), Requires: []string{"/usr/bin/python3"}},
			"-n", "5", "/usr/bin/python3", "-c", "pass"),
		timed(&Case{ID: "apps/python-script", Group: "applications", Metrics: ms("python3: a short script (json, re, hashlib)"), Requires: []string{"/usr/bin/python3"}},
			"/usr/bin/python3", "/bench/script.py"),
		timed(&Case{ID: "apps/gcc", Group: "applications", Metrics: ms("gcc -O2 of a 120-function C file, compile and link"), Requires: []string{"/usr/bin/gcc"}},
			"-a", "rm -f /tmp/prog", "/usr/bin/gcc", "-O2", "-o", "/tmp/prog", "/bench/prog.c"),
		// gzip takes seconds (about 9 MB/s here): three repetitions.
		timed(&Case{ID: "apps/gzip", Group: "applications", Metrics: ms(fmt.Sprintf("gzip of %d MiB of text (CPU-bound)", sz.blobMiB)), Requires: []string{"/bin/gzip"}, Reps: 3},
			"/bin/gzip", "-c", "/bench/blob"),
		timed(&Case{ID: "apps/shell", Group: "applications", Metrics: ms(fmt.Sprintf("busybox sh: a %s-iteration loop (CPU-bound)", loops)), Requires: []string{"/bin/busybox"}},
			"/bin/busybox", "sh", "-c", "i=0; while [ $i -lt "+loops+" ]; do i=$((i+1)); done"),
	)
	return cases
}

// timed makes c time a host program with the timeit probe, inside the
// sandbox. Arguments naming /bench or /tmp are the sandbox's paths, and
// so are shell commands of timeit's -b and -a: P maps them natively.
func timed(c *Case, args ...string) *Case {
	c.run = func(ctx context.Context, s *Sample) ([]float64, error) {
		mapped := make([]string, len(args))
		for i, a := range args {
			mapped[i] = pathsIn(s, a)
		}
		return s.Probe(ctx, "timeit", mapped...)
	}
	return c
}

var sandboxPath = regexp.MustCompile(`(^|[\s=])(/(?:bench|tmp|vol)(?:/[^\s]*)?)`)

// pathsIn maps the sandbox's paths in arg (a path, or a shell command
// with paths in it) with P.
func pathsIn(s *Sample, arg string) string {
	return sandboxPath.ReplaceAllStringFunc(arg, func(m string) string {
		sub := sandboxPath.FindStringSubmatch(m)
		return sub[1] + s.P(sub[2])
	})
}

// vethClient starts server in the veth's namespace (in a sandbox of the
// runtime, or natively), waits until it listens on port, runs the client
// on the host and returns the numbers it prints.
func (s *Sample) vethClient(ctx context.Context, server []string, port int, client ...string) ([]float64, error) {
	out, err := s.vethClientOutput(ctx, server, port, client...)
	if err != nil {
		return nil, err
	}
	return numbers(out)
}

func (s *Sample) vethClientOutput(ctx context.Context, server []string, port int, client ...string) ([]byte, error) {
	srv, err := s.Start(ctx, true, server...)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	if err := srv.WaitTCP(ctx, net.JoinHostPort(s.W.Veth.PeerAddr, strconv.Itoa(port))); err != nil {
		return nil, err
	}
	return output(command(ctx, client...))
}

// wrkRate is the requests per second of wrk's report, which must not
// count error responses. (Socket errors are not failures: wrk counts the
// connections it closes itself at the end among them.)
func wrkRate(out []byte) ([]float64, error) {
	text := string(out)
	if m := regexp.MustCompile(`Non-2xx or 3xx responses: \d+`).FindString(text); m != "" {
		return nil, fmt.Errorf("wrk: %s", m)
	}
	m := regexp.MustCompile(`Requests/sec:\s*([0-9.]+)`).FindStringSubmatch(text)
	if m == nil {
		return nil, fmt.Errorf("no Requests/sec in wrk's output: %s", lastLines(text, 3))
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return []float64{v}, err
}
