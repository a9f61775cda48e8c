package kernel

import (
	"sync"
	"sync/atomic"

	"magawa/kernel/net/inet"
)

// This file is the sandbox's network namespace as far as the kernel
// keeps one today: the tunables of /proc/sys/net that container
// runtimes set (dockerd sets ip_unprivileged_port_start and
// ping_group_range for every container, podman ping_group_range,
// Kubernetes the "safe" sysctls). The sandbox always has a network
// namespace of its own, so they are per sandbox. Only somaxconn is used
// yet (listen(2) caps its backlog there); the others are kept for the
// network stack to read when there is one, which is a later piece of
// work, and until then change nothing but what /proc/sys shows.

// NetTunables are the network namespace's tunables, with Linux's
// defaults (DefaultNetTunables). Linux: struct netns_ipv4, netns_core.
type NetTunables struct {
	// Somaxconn is net.core.somaxconn: listen(2)'s largest backlog.
	Somaxconn int32
	// PingGroupRange is net.ipv4.ping_group_range: the groups allowed
	// ICMP echo sockets; lo > hi (the default, 1 0) allows none.
	PingGroupRange [2]uint32
	// IPUnprivilegedPortStart is net.ipv4.ip_unprivileged_port_start:
	// binding a lower port needs CAP_NET_BIND_SERVICE.
	IPUnprivilegedPortStart int32
	// IPLocalPortRange is net.ipv4.ip_local_port_range: the ephemeral
	// ports, lo to hi.
	IPLocalPortRange [2]int32
	// IPLocalReservedPorts is net.ipv4.ip_local_reserved_ports: ports
	// never chosen as ephemeral, sorted ranges that neither overlap nor
	// touch. It is never changed in place (a change makes a new slice),
	// so snapshots may share it.
	IPLocalReservedPorts []PortRange
	// IPForward is net.ipv4.ip_forward.
	IPForward int32
	// TCPSyncookies is net.ipv4.tcp_syncookies (0, 1 or 2).
	TCPSyncookies uint8
	// TCPKeepaliveTime, TCPKeepaliveIntvl and TCPFinTimeout are
	// net.ipv4.tcp_keepalive_time, tcp_keepalive_intvl and
	// tcp_fin_timeout, in seconds; TCPKeepaliveProbes is
	// tcp_keepalive_probes.
	TCPKeepaliveTime   int32
	TCPKeepaliveIntvl  int32
	TCPKeepaliveProbes uint8
	TCPFinTimeout      int32
}

// PortRange is the ports First to Last, both included.
type PortRange struct{ First, Last uint16 }

// DefaultNetTunables returns Linux's defaults. Linux:
// net/ipv4/af_inet.c, inet_init_net(); net/ipv4/tcp_ipv4.c,
// tcp_sk_init(); net/core/net_namespace.c, net_defaults_init_net().
func DefaultNetTunables() NetTunables {
	return NetTunables{
		Somaxconn:               4096,
		PingGroupRange:          [2]uint32{1, 0},
		IPUnprivilegedPortStart: 1024,
		IPLocalPortRange:        [2]int32{32768, 60999},
		TCPSyncookies:           1,
		TCPKeepaliveTime:        7200,
		TCPKeepaliveIntvl:       75,
		TCPKeepaliveProbes:      9,
		TCPFinTimeout:           60,
	}
}

// netNamespace holds the tunables: read without a lock, replaced (never
// changed in place) under mu. A nil tunables is DefaultNetTunables.
type netNamespace struct {
	mu       sync.Mutex
	tunables atomic.Pointer[NetTunables]

	// stack is made by the first call that needs it (Kernel.Network):
	// a sandbox that never opens an Internet or netlink socket does not
	// pay for netstack's goroutines and buffers.
	stackOnce sync.Once
	stack     *inet.Stack
	stackErr  error
}

// Network returns the sandbox's network stack, making it on first use:
// loopback only, as Linux's network namespace of a container without a
// network.
func (k *Kernel) Network() (*inet.Stack, error) {
	k.net.stackOnce.Do(func() {
		st, err := inet.NewStack()
		if err != nil {
			k.net.stackErr = err
			return
		}
		st.UnprivilegedPortStart = func() int32 { return k.NetTunables().IPUnprivilegedPortStart }
		k.net.stack = st
	})
	return k.net.stack, k.net.stackErr
}

// NetTunables returns the network namespace's tunables as they are now.
func (k *Kernel) NetTunables() NetTunables {
	if n := k.net.tunables.Load(); n != nil {
		return *n
	}
	return DefaultNetTunables()
}

// UpdateNetTunables changes the network namespace's tunables: change
// edits a copy, which replaces them unless change fails. Changes are
// serialized, so a check across two of them (the local port range
// against ip_unprivileged_port_start) holds; change must not call back
// into the kernel.
func (k *Kernel) UpdateNetTunables(change func(*NetTunables) error) error {
	k.net.mu.Lock()
	defer k.net.mu.Unlock()
	n := k.NetTunables()
	if err := change(&n); err != nil {
		return err
	}
	k.net.tunables.Store(&n)
	return nil
}
