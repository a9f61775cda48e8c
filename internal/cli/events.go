package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"magawa/internal/boot"
	"magawa/internal/cgroup"
	"magawa/internal/container"
)

func init() {
	register(command{name: "events", summary: "print a container's resource usage as JSON events: events [--stats] [--interval 5s] ID", run: runEvents})
	register(command{name: "update", summary: "change a container's resource limits: update [--resources FILE|-] [--memory N] [--pids-limit N] ... ID", run: runUpdate})
}

// event is one line `events` prints, as runc's.
type event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

// stats is runc's stats event data, for the sandbox as a whole: every
// host process of the sandbox is in the container's cgroup.
type stats struct {
	CPU struct {
		Usage struct {
			Total  uint64   `json:"total,omitempty"`
			Percpu []uint64 `json:"percpu,omitempty"`
			Kernel uint64   `json:"kernel"`
			User   uint64   `json:"user"`
		} `json:"usage"`
		Throttling struct {
			Periods          uint64 `json:"periods,omitempty"`
			ThrottledPeriods uint64 `json:"throttledPeriods,omitempty"`
			ThrottledTime    uint64 `json:"throttledTime,omitempty"`
		} `json:"throttling"`
	} `json:"cpu"`
	Memory struct {
		Cache uint64            `json:"cache,omitempty"`
		Usage memoryEntry       `json:"usage,omitempty"`
		Swap  memoryEntry       `json:"swap,omitempty"`
		Raw   map[string]uint64 `json:"raw,omitempty"`
	} `json:"memory"`
	Pids struct {
		Current uint64 `json:"current,omitempty"`
		Limit   uint64 `json:"limit,omitempty"`
	} `json:"pids"`
}

type memoryEntry struct {
	Limit   uint64 `json:"limit"`
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

func containerStats(c *container.Container) (*stats, error) {
	if c.SandboxID != "" {
		// A container that joined a pod's sandbox: the pod's cgroup
		// holds the whole sandbox; the container's own usage is the
		// sandbox kernel's account of its processes.
		u, err := c.Client().Usage()
		if err != nil {
			return nil, err
		}
		var s stats
		s.CPU.Usage.Total = uint64(u.CPUTime.Nanoseconds())
		s.Memory.Usage.Usage = u.Resident
		s.Pids.Current = uint64(u.Tasks)
		return &s, nil
	}
	if c.CgroupPath == "" {
		return nil, errors.New("the container has no cgroup")
	}
	cg, err := cgroup.New(c.CgroupPath, nil)
	if err != nil {
		return nil, err
	}
	cs, err := cg.Stats()
	if err != nil {
		return nil, err
	}
	var s stats
	s.CPU.Usage.Total = cs.CpuStats.CpuUsage.TotalUsage
	s.CPU.Usage.Percpu = cs.CpuStats.CpuUsage.PercpuUsage
	s.CPU.Usage.Kernel = cs.CpuStats.CpuUsage.UsageInKernelmode
	s.CPU.Usage.User = cs.CpuStats.CpuUsage.UsageInUsermode
	s.CPU.Throttling.Periods = cs.CpuStats.ThrottlingData.Periods
	s.CPU.Throttling.ThrottledPeriods = cs.CpuStats.ThrottlingData.ThrottledPeriods
	s.CPU.Throttling.ThrottledTime = cs.CpuStats.ThrottlingData.ThrottledTime
	m := cs.MemoryStats
	s.Memory.Cache = m.Cache
	s.Memory.Usage = memoryEntry{Limit: m.Usage.Limit, Usage: m.Usage.Usage, Max: m.Usage.MaxUsage, Failcnt: m.Usage.Failcnt}
	s.Memory.Swap = memoryEntry{Limit: m.SwapUsage.Limit, Usage: m.SwapUsage.Usage, Max: m.SwapUsage.MaxUsage, Failcnt: m.SwapUsage.Failcnt}
	s.Memory.Raw = m.Stats
	// The container's tasks are the sandbox's, not the host processes
	// of its cgroup.
	tasks, limit, err := c.Client().Tasks()
	if err != nil {
		return nil, err
	}
	s.Pids.Current = uint64(tasks)
	if limit > 0 {
		s.Pids.Limit = uint64(limit)
	}
	return &s, nil
}

func runEvents(g *globalFlags, args []string) int {
	fs := newFlagSet("events")
	once := fs.Bool("stats", false, "print the statistics once and exit")
	interval := fs.Duration("interval", 5*time.Second, "how often to print statistics")
	positional, err := parseArgs(fs, args)
	if err != nil {
		return g.runtimeError(fmt.Errorf("events: %w", err))
	}
	if *interval <= 0 {
		return g.runtimeError(errors.New("events: --interval must be positive"))
	}
	c, err := g.loadContainer("events", positional)
	if err != nil {
		return g.runtimeError(err)
	}
	enc := json.NewEncoder(os.Stdout)
	for {
		if c.Status() == boot.StatusStopped {
			return g.runtimeError(errors.New("events: container not running"))
		}
		s, err := containerStats(c)
		if err != nil {
			return g.runtimeError(fmt.Errorf("events: %w", err))
		}
		enc.Encode(event{Type: "stats", ID: c.ID, Data: s})
		if *once {
			return 0
		}
		time.Sleep(*interval)
	}
}

func runUpdate(g *globalFlags, args []string) int {
	fs := newFlagSet("update")
	resourcesFile := fs.String("resources", "", "a JSON file of the runtime spec's linux.resources (- for stdin)")
	fs.StringVar(resourcesFile, "r", "", "the same as --resources")
	memory := fs.Int64("memory", 0, "memory limit in bytes")
	memorySwap := fs.Int64("memory-swap", 0, "memory plus swap limit in bytes (-1: unlimited)")
	memoryReservation := fs.Int64("memory-reservation", 0, "memory soft limit in bytes")
	cpuShares := fs.Uint64("cpu-shares", 0, "CPU shares (relative weight)")
	cpuQuota := fs.Int64("cpu-quota", 0, "CPU CFS quota in microseconds")
	cpuPeriod := fs.Uint64("cpu-period", 0, "CPU CFS period in microseconds")
	cpusetCpus := fs.String("cpuset-cpus", "", "CPUs the sandbox may run on (0-3,5)")
	cpusetMems := fs.String("cpuset-mems", "", "memory nodes the sandbox may use")
	pidsLimit := fs.Int64("pids-limit", 0, "maximum number of host processes and threads of the sandbox")
	positional, err := parseArgs(fs, args)
	if err != nil {
		return g.runtimeError(fmt.Errorf("update: %w", err))
	}
	c, err := g.loadContainer("update", positional)
	if err != nil {
		return g.runtimeError(err)
	}
	r := &specs.LinuxResources{}
	if *resourcesFile != "" {
		var in io.Reader = os.Stdin
		if *resourcesFile != "-" {
			f, err := os.Open(*resourcesFile)
			if err != nil {
				return g.runtimeError(fmt.Errorf("update: %w", err))
			}
			defer f.Close()
			in = f
		}
		if err := json.NewDecoder(io.LimitReader(in, 1<<20)).Decode(r); err != nil {
			return g.runtimeError(fmt.Errorf("update: resources: %w", err))
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["memory"] || set["memory-swap"] || set["memory-reservation"] {
		if r.Memory == nil {
			r.Memory = &specs.LinuxMemory{}
		}
		if set["memory"] {
			r.Memory.Limit = memory
		}
		if set["memory-swap"] {
			r.Memory.Swap = memorySwap
		}
		if set["memory-reservation"] {
			r.Memory.Reservation = memoryReservation
		}
	}
	if set["cpu-shares"] || set["cpu-quota"] || set["cpu-period"] || set["cpuset-cpus"] || set["cpuset-mems"] {
		if r.CPU == nil {
			r.CPU = &specs.LinuxCPU{}
		}
		if set["cpu-shares"] {
			r.CPU.Shares = cpuShares
		}
		if set["cpu-quota"] {
			r.CPU.Quota = cpuQuota
		}
		if set["cpu-period"] {
			r.CPU.Period = cpuPeriod
		}
		if set["cpuset-cpus"] {
			r.CPU.Cpus = *cpusetCpus
		}
		if set["cpuset-mems"] {
			r.CPU.Mems = *cpusetMems
		}
	}
	if set["pids-limit"] {
		r.Pids = &specs.LinuxPids{Limit: pidsLimit}
	}
	if c.Status() == boot.StatusStopped {
		return g.runtimeError(errors.New("update: container not running"))
	}
	if c.Sandbox == sandboxVM {
		// The container's limits are its guest cgroup's; the host's
		// holds the VM, whose size is fixed.
		if err := c.Client().Update(r); err != nil {
			return g.runtimeError(fmt.Errorf("update: %w", err))
		}
		return 0
	}
	if c.CgroupPath == "" {
		return g.runtimeError(errors.New("update: the container has no cgroup"))
	}
	if r.Pids != nil {
		limit := int64(0)
		if r.Pids.Limit != nil {
			limit = *r.Pids.Limit
		}
		if err := c.Client().SetTaskLimit(limit); err != nil {
			return g.runtimeError(fmt.Errorf("update: %w", err))
		}
	}
	cg, err := cgroup.New(c.CgroupPath, r)
	if err == nil {
		err = cg.Update(r)
	}
	if err != nil {
		return g.runtimeError(fmt.Errorf("update: %w", err))
	}
	return 0
}
