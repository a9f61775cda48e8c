package cgroup

import (
	"fmt"
	"path"
	"strings"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/fs"
	"github.com/opencontainers/cgroups/fs2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Path is the cgroup of a container: linux.cgroupsPath, or
// /magawa/ID without one. A systemd-style "slice:prefix:name" becomes
// the cgroupfs path systemd would have made.
func Path(cgroupsPath, id string) (string, error) {
	if cgroupsPath == "" {
		return "/magawa/" + id, nil
	}
	if parts := strings.Split(cgroupsPath, ":"); len(parts) == 3 && !strings.HasPrefix(cgroupsPath, "/") {
		slice, prefix, name := parts[0], parts[1], parts[2]
		if slice == "" {
			slice = "system.slice"
		}
		return path.Join("/", expandSlice(slice), prefix+"-"+name+".scope"), nil
	}
	p := path.Clean("/" + cgroupsPath)
	if strings.Contains(p, "..") {
		return "", fmt.Errorf("cgroupsPath %q: not a clean path", cgroupsPath)
	}
	return p, nil
}

// expandSlice turns a-b-c.slice into a.slice/a-b.slice/a-b-c.slice, as
// systemd nests slices.
func expandSlice(slice string) string {
	name := strings.TrimSuffix(slice, ".slice")
	if name == "" || name == "-" {
		return ""
	}
	var dirs []string
	parts := strings.Split(name, "-")
	for i := range parts {
		dirs = append(dirs, strings.Join(parts[:i+1], "-")+".slice")
	}
	return path.Join(dirs...)
}

// Cgroup is one container's cgroup.
type Cgroup struct {
	m   cgroups.Manager
	res *cgroups.Resources
}

// New makes a manager for the cgroup at path (see Path) with the
// resources r (nil: none).
func New(cgroupPath string, r *specs.LinuxResources) (*Cgroup, error) {
	res, err := resources(r)
	if err != nil {
		return nil, err
	}
	config := &cgroups.Cgroup{Path: cgroupPath, Resources: res}
	var m cgroups.Manager
	if cgroups.IsCgroup2UnifiedMode() {
		m, err = fs2.NewManager(config, "")
	} else {
		m, err = fs.NewManager(config, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", cgroupPath, err)
	}
	return &Cgroup{m: m, res: res}, nil
}

// Enter creates the cgroup, moves process pid into it and applies the
// limits.
func (c *Cgroup) Enter(pid int) error {
	if err := c.m.Apply(pid); err != nil {
		return fmt.Errorf("joining the cgroup: %w", err)
	}
	if err := c.m.Set(c.res); err != nil {
		return fmt.Errorf("setting the cgroup's limits: %w", err)
	}
	return nil
}

// Update changes the limits of an existing cgroup (`update`).
func (c *Cgroup) Update(r *specs.LinuxResources) error {
	res, err := resources(r)
	if err != nil {
		return err
	}
	return c.m.Set(res)
}

// Destroy removes the cgroup; its processes must be gone.
func (c *Cgroup) Destroy() error { return c.m.Destroy() }

// Stats reads the cgroup's statistics.
func (c *Cgroup) Stats() (*cgroups.Stats, error) { return c.m.GetStats() }

// Pids lists the host processes in the cgroup. With cgroup v1 they are
// read from the pids hierarchy (the library's own choice, devices, is
// skipped here).
func (c *Cgroup) Pids() ([]int, error) {
	if cgroups.IsCgroup2UnifiedMode() {
		return c.m.GetAllPids()
	}
	for _, controller := range []string{"pids", "memory", "cpu"} {
		if p := c.m.Path(controller); p != "" {
			return cgroups.GetAllPids(p)
		}
	}
	return nil, fmt.Errorf("no cgroup v1 hierarchy to list the processes of")
}

// resources translates the OCI resources the host applies: every one a
// cgroup can hold for the sandbox as a whole. Device rules are
// skipped: the container's devices are the sandbox's own, never the
// host's, and the sandbox process must keep opening the host's ptmx.
func resources(r *specs.LinuxResources) (*cgroups.Resources, error) {
	res := &cgroups.Resources{SkipDevices: true}
	if r == nil {
		return res, nil
	}
	if m := r.Memory; m != nil {
		if m.Limit != nil {
			res.Memory = *m.Limit
		}
		if m.Reservation != nil {
			res.MemoryReservation = *m.Reservation
		}
		if m.Swap != nil {
			res.MemorySwap = *m.Swap
		}
		if m.Swappiness != nil {
			res.MemorySwappiness = m.Swappiness
		}
		if m.DisableOOMKiller != nil {
			res.OomKillDisable = *m.DisableOOMKiller
		}
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil {
			res.CpuShares = *c.Shares
		}
		if c.Quota != nil {
			res.CpuQuota = *c.Quota
		}
		if c.Burst != nil {
			res.CpuBurst = c.Burst
		}
		if c.Period != nil {
			res.CpuPeriod = *c.Period
		}
		if c.RealtimeRuntime != nil {
			res.CpuRtRuntime = *c.RealtimeRuntime
		}
		if c.RealtimePeriod != nil {
			res.CpuRtPeriod = *c.RealtimePeriod
		}
		res.CpusetCpus = c.Cpus
		res.CpusetMems = c.Mems
		res.CPUIdle = c.Idle
	}
	// linux.resources.pids is the sandbox kernel's to enforce on the
	// container's tasks (sandbox.Config.TaskLimit): the host's pids
	// controller would count the sandbox process's own threads and the
	// stubs, and a Go runtime that cannot make a thread dies.
	if b := r.BlockIO; b != nil {
		blockIO(res, b)
	}
	// The network classifiers tag the host sockets of the sandbox (its
	// packet sockets or, with --network=host, the container's own).
	// Given and not applicable on a host without the controller, they
	// fail create, as with runc, rather than be dropped.
	if n := r.Network; n != nil {
		if n.ClassID != nil {
			res.NetClsClassid = *n.ClassID
		}
		for _, p := range n.Priorities {
			res.NetPrioIfpriomap = append(res.NetPrioIfpriomap, &cgroups.IfPrioMap{Interface: p.Name, Priority: int64(p.Priority)})
		}
	}
	for name, l := range r.Rdma {
		if res.Rdma == nil {
			res.Rdma = make(map[string]cgroups.LinuxRdma)
		}
		res.Rdma[name] = cgroups.LinuxRdma{HcaHandles: l.HcaHandles, HcaObjects: l.HcaObjects}
	}
	if len(r.Unified) > 0 {
		if !cgroups.IsCgroup2UnifiedMode() {
			return nil, fmt.Errorf("linux.resources.unified needs cgroup v2, and this host uses v1")
		}
		res.Unified = r.Unified
	}
	for _, h := range r.HugepageLimits {
		res.HugetlbLimit = append(res.HugetlbLimit, &cgroups.HugepageLimit{Pagesize: h.Pagesize, Limit: h.Limit})
	}
	return res, nil
}

// blockIO translates linux.resources.blockIO: weights and throttles of
// the host's block devices, which the gofer's and the sandbox's I/O go
// through.
func blockIO(res *cgroups.Resources, b *specs.LinuxBlockIO) {
	if b.Weight != nil {
		res.BlkioWeight = *b.Weight
	}
	if b.LeafWeight != nil {
		res.BlkioLeafWeight = *b.LeafWeight
	}
	for _, d := range b.WeightDevice {
		var weight, leaf uint16
		if d.Weight != nil {
			weight = *d.Weight
		}
		if d.LeafWeight != nil {
			leaf = *d.LeafWeight
		}
		res.BlkioWeightDevice = append(res.BlkioWeightDevice, cgroups.NewWeightDevice(d.Major, d.Minor, weight, leaf))
	}
	throttles := func(ds []specs.LinuxThrottleDevice) []*cgroups.ThrottleDevice {
		var out []*cgroups.ThrottleDevice
		for _, d := range ds {
			out = append(out, cgroups.NewThrottleDevice(d.Major, d.Minor, d.Rate))
		}
		return out
	}
	res.BlkioThrottleReadBpsDevice = throttles(b.ThrottleReadBpsDevice)
	res.BlkioThrottleWriteBpsDevice = throttles(b.ThrottleWriteBpsDevice)
	res.BlkioThrottleReadIOPSDevice = throttles(b.ThrottleReadIOPSDevice)
	res.BlkioThrottleWriteIOPSDevice = throttles(b.ThrottleWriteIOPSDevice)
}
