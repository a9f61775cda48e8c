package inet

import (
	"fmt"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/link/nested"
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
	return st.AttachLink(l.Index, l.Name, ep)
}

// AttachLink makes ep an interface of the stack, up, under index and
// name: AttachEthernet's host interfaces, and the tests' channel
// endpoints. Packet sockets see the frames that pass it both ways.
func (st *Stack) AttachLink(index int32, name string, ep stack.LinkEndpoint) error {
	if err := st.stack.CreateNICWithOptions(tcpip.NICID(index), newPacketTap(ep), stack.NICOptions{Name: name}); err != nil {
		return fmt.Errorf("interface %s: %s", name, err)
	}
	return nil
}

// packetTap hands packet sockets (kernel/net/packet) the frames that
// pass between an interface's link endpoint and its NIC: those received
// before the NIC looks at them, so that frames of a network protocol
// the stack does not speak reach them too, and those sent as they leave,
// marked outgoing by the NIC. Linux taps its devices at the same two
// places (__netif_receive_skb_core(), dev_queue_xmit_nit()). netstack's
// NIC option for this (DeliverLinkPackets) taps received frames only
// after dropping those of unknown protocols.
//
// lo's frames pass the tap too: netstack sends every packet between the
// stack's own addresses through lo's link endpoint, as Linux does.
type packetTap struct {
	nested.Endpoint
}

func newPacketTap(ep stack.LinkEndpoint) *packetTap {
	t := &packetTap{}
	t.Endpoint.Init(ep, t)
	return t
}

// DeliverNetworkPacket implements stack.NetworkDispatcher.
func (t *packetTap) DeliverNetworkPacket(protocol tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	t.classify(pkt)
	t.Endpoint.DeliverLinkPacket(protocol, pkt)
	t.Endpoint.DeliverNetworkPacket(protocol, pkt)
}

// WritePackets implements stack.LinkEndpoint.
func (t *packetTap) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	for _, pkt := range pkts.AsSlice() {
		t.Endpoint.DeliverLinkPacket(pkt.NetworkProtocolNumber, pkt)
	}
	return t.Endpoint.WritePackets(pkts)
}

// classify sets the packet type of a received Ethernet frame from its
// destination address, as Linux's eth_type_trans() does: fdbased leaves
// every frame PacketHost (the zero value), which packet sockets would
// report of a broadcast ARP request too.
func (t *packetTap) classify(pkt *stack.PacketBuffer) {
	hdr := pkt.LinkHeader().Slice()
	if pkt.PktType != tcpip.PacketHost || len(hdr) < header.EthernetMinimumSize {
		return
	}
	switch dst := header.Ethernet(hdr).DestinationAddress(); {
	case dst == header.EthernetBroadcastAddress:
		pkt.PktType = tcpip.PacketBroadcast
	case header.IsMulticastEthernetAddress(dst):
		pkt.PktType = tcpip.PacketMulticast
	case dst != t.LinkAddress():
		pkt.PktType = tcpip.PacketOtherHost
	}
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
