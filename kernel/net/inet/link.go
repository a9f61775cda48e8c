package inet

import (
	"fmt"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// EthernetLink is an Ethernet interface of the host that the sandbox
// serves: frames come and go through FD, a packet socket bound to it.
type EthernetLink struct {
	Index        int32
	Name         string
	MTU          uint32
	HardwareAddr []byte
	FD           int
}

// AttachEthernet makes l an interface of the stack, up, under its
// host index and name. The stack owns l.FD from then on.
//
// Received frames' checksums are not checked again: the host's stack
// has checked those of frames from the wire, and frames from the host
// itself (the other end of a veth) carry checksums the host never
// filled in. For the same reason a frame may be larger than the MTU:
// the host hands a veth's segmentation-offloaded TCP segments on whole,
// and the reader's buffers take up to 64 KiB.
func (st *Stack) AttachEthernet(l EthernetLink) error {
	ep, err := fdbased.New(&fdbased.Options{
		FDs:                []int{l.FD},
		MTU:                l.MTU,
		EthernetHeader:     true,
		Address:            tcpip.LinkAddress(l.HardwareAddr),
		RXChecksumOffload:  true,
		PacketDispatchMode: fdbased.RecvMMsg,
		// Set up by the runtime: the endpoint must not ask the host
		// about the socket (getsockname) or join a fanout group, calls
		// the confined sandbox process may not make.
		PreConfigured:  true,
		IsPacketSocket: []bool{true},
	})
	if err != nil {
		return fmt.Errorf("interface %s: %w", l.Name, err)
	}
	if err := st.stack.CreateNICWithOptions(tcpip.NICID(l.Index), ep, stack.NICOptions{Name: l.Name}); err != nil {
		return fmt.Errorf("interface %s: %s", l.Name, err)
	}
	return nil
}

// AddRoute adds a route: to r.Dst through interface r.Index, by
// r.Gateway if it is valid.
func (st *Stack) AddRoute(r Route) error {
	if !r.Dst.IsValid() {
		return fmt.Errorf("route without a destination")
	}
	dst := tcpip.AddressWithPrefix{Address: tcpip.AddrFromSlice(r.Dst.Addr().AsSlice()), PrefixLen: r.Dst.Bits()}.Subnet()
	route := tcpip.Route{Destination: dst, NIC: tcpip.NICID(r.Index)}
	if r.Gateway.IsValid() {
		route.Gateway = tcpip.AddrFromSlice(r.Gateway.AsSlice())
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.stack.AddRoute(route)
	return nil
}
