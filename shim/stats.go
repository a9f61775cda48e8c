package shim

import (
	v1 "github.com/containerd/cgroups/v3/cgroup1/stats"
)

// metrics is the sandbox's usage in containerd's cgroup v1 metrics,
// which the CRI plugin reads for `crictl stats`: every host process of
// the sandbox is in its cgroup, so the sandbox's CPU time and memory
// are the container's; its task count is the sandbox kernel's own.
func metrics(st *runtimeStats) *v1.Metrics {
	m := &v1.Metrics{
		CPU: &v1.CPUStat{
			Usage: &v1.CPUUsage{
				Total:  st.CPU.Usage.Total,
				Kernel: st.CPU.Usage.Kernel,
				User:   st.CPU.Usage.User,
				PerCPU: st.CPU.Usage.Percpu,
			},
			Throttling: &v1.Throttle{
				Periods:          st.CPU.Throttling.Periods,
				ThrottledPeriods: st.CPU.Throttling.ThrottledPeriods,
				ThrottledTime:    st.CPU.Throttling.ThrottledTime,
			},
		},
		Memory: &v1.MemoryStat{
			Cache: st.Memory.Cache,
			Usage: &v1.MemoryEntry{
				Limit:   st.Memory.Usage.Limit,
				Usage:   st.Memory.Usage.Usage,
				Max:     st.Memory.Usage.Max,
				Failcnt: st.Memory.Usage.Failcnt,
			},
			RSS:               st.Memory.Raw["rss"],
			TotalInactiveFile: st.Memory.Raw["total_inactive_file"],
			InactiveFile:      st.Memory.Raw["inactive_file"],
		},
		Pids: &v1.PidsStat{Current: st.Pids.Current, Limit: st.Pids.Limit},
	}
	return m
}
