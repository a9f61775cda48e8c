package oci

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// Features is what `magawa features` prints: the runtime-spec features
// document (features.md) for what magawa accepts. Absent fields mean
// "unknown" to readers, so what magawa does not do is said as false.
func Features() features.Features {
	yes, no := true, false
	namespaces := make([]string, len(namespaceTypes))
	for i, t := range namespaceTypes {
		namespaces[i] = string(t)
	}
	hooks := make([]string, 0, 6)
	for _, k := range hookKinds(&specs.Hooks{}) {
		hooks = append(hooks, k.name)
	}
	return features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         hooks,
		MountOptions:  knownMountOptions(),
		Linux: &features.Linux{
			Namespaces:   namespaces,
			Capabilities: capabilityNames(),
			// linux.resources apply to the sandbox as a whole, through
			// the host's cgroups of either version; no systemd driver.
			Cgroup: &features.Cgroup{V1: &yes, V2: &yes, Systemd: &no, SystemdUser: &no, Rdma: &no},
			// linux.seccomp is not applied (Warnings says so): the
			// application's system calls never reach the host's kernel,
			// and magawa's own filters are not the container's to set.
			Seccomp:         &features.Seccomp{Enabled: &no},
			Apparmor:        &features.Apparmor{Enabled: &no},
			Selinux:         &features.Selinux{Enabled: &no},
			IntelRdt:        &features.IntelRdt{Enabled: &no},
			MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: &no}},
			NetDevices:      &features.NetDevices{Enabled: &no},
		},
	}
}
