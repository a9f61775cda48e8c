package cgroup

import (
	"testing"

	"github.com/opencontainers/cgroups"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestPath(t *testing.T) {
	for _, c := range []struct{ in, id, want string }{
		{"", "abc", "/magawa/abc"},
		{"/a/b", "x", "/a/b"},
		{"a/./b/", "x", "/a/b"},
		{"system.slice:libpod:abc", "x", "/system.slice/libpod-abc.scope"},
		{"user-1000.slice:podman:abc", "x", "/user.slice/user-1000.slice/podman-abc.scope"},
		{":prefix:abc", "x", "/system.slice/prefix-abc.scope"},
	} {
		got, err := Path(c.in, c.id)
		if err != nil || got != c.want {
			t.Errorf("Path(%q, %q) = %q, %v; want %q", c.in, c.id, got, err, c.want)
		}
	}
}

// TestResourcesNotDropped checks that every resource the host's
// controllers hold reaches the cgroup manager: a limit dropped here
// would let create succeed on a host that cannot apply it, where runc
// fails.
func TestResourcesNotDropped(t *testing.T) {
	u16 := func(v uint16) *uint16 { return &v }
	u32 := func(v uint32) *uint32 { return &v }
	r := &specs.LinuxResources{
		BlockIO: &specs.LinuxBlockIO{
			Weight:     u16(500),
			LeafWeight: u16(300),
			WeightDevice: []specs.LinuxWeightDevice{
				{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Weight: u16(200), LeafWeight: u16(100)},
			},
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1 << 20}},
			ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 2 << 20}},
			ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 300}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 400}},
		},
		Network: &specs.LinuxNetwork{
			ClassID:    u32(0x100001),
			Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 5}},
		},
		Rdma: map[string]specs.LinuxRdma{"mlx5_1": {HcaHandles: u32(3), HcaObjects: u32(10000)}},
	}
	res, err := resources(r)
	if err != nil {
		t.Fatal(err)
	}
	if res.BlkioWeight != 500 || res.BlkioLeafWeight != 300 {
		t.Errorf("blkio weights: %d, leaf %d", res.BlkioWeight, res.BlkioLeafWeight)
	}
	if len(res.BlkioWeightDevice) != 1 || res.BlkioWeightDevice[0].Weight != 200 || res.BlkioWeightDevice[0].LeafWeight != 100 || res.BlkioWeightDevice[0].Major != 8 {
		t.Errorf("weight devices: %+v", res.BlkioWeightDevice)
	}
	for name, ds := range map[string]struct {
		got  int
		rate uint64
		want uint64
	}{
		"read bps":   {len(res.BlkioThrottleReadBpsDevice), first(res.BlkioThrottleReadBpsDevice), 1 << 20},
		"write bps":  {len(res.BlkioThrottleWriteBpsDevice), first(res.BlkioThrottleWriteBpsDevice), 2 << 20},
		"read iops":  {len(res.BlkioThrottleReadIOPSDevice), first(res.BlkioThrottleReadIOPSDevice), 300},
		"write iops": {len(res.BlkioThrottleWriteIOPSDevice), first(res.BlkioThrottleWriteIOPSDevice), 400},
	} {
		if ds.got != 1 || ds.rate != ds.want {
			t.Errorf("throttle %s: %d devices, rate %d; want 1, %d", name, ds.got, ds.rate, ds.want)
		}
	}
	if res.NetClsClassid != 0x100001 {
		t.Errorf("net_cls classid %#x", res.NetClsClassid)
	}
	if len(res.NetPrioIfpriomap) != 1 || res.NetPrioIfpriomap[0].Interface != "eth0" || res.NetPrioIfpriomap[0].Priority != 5 {
		t.Errorf("net_prio map: %+v", res.NetPrioIfpriomap)
	}
	if l, ok := res.Rdma["mlx5_1"]; !ok || *l.HcaHandles != 3 || *l.HcaObjects != 10000 {
		t.Errorf("rdma: %+v", res.Rdma)
	}
	if !res.SkipDevices {
		t.Error("device rules must be skipped: the container's devices are the sandbox's")
	}
}

func first(ds []*cgroups.ThrottleDevice) uint64 {
	if len(ds) == 0 {
		return 0
	}
	return ds[0].Rate
}
