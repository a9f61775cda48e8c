// Package network hands the interfaces of a container's network
// namespace to its sandbox (--network=sandbox), the way runsc does: the
// runtime, on the host, enters the namespace the sandbox process lives
// in (one a CNI plugin, podman or Docker set up with a veth), records
// each Ethernet interface's addresses and routes, opens a packet socket
// bound to it, and takes its addresses away from the host's stack, so
// that only the sandbox's user-space stack answers on it from then on.
// The sandbox gets the record and the sockets over its control socket
// and serves the interfaces from netstack (kernel/net/inet).
//
// The host's stack keeps the interfaces themselves (up, with their MAC
// addresses), so the other end of the veth and whatever routes to it
// are unchanged.
//
// A VM sandbox (package vm) gets the interface otherwise, the way Kata
// Containers' "tcfilter" model does (RedirectToTap): traffic control
// filters redirect every frame between it and the tap device of the
// VM's NIC, and the guest's NIC takes its MAC address and addresses.
//
// Locking: none; Takeover locks its goroutine to an OS thread while
// that thread is in the container's network namespace.
package network
