package proc

import (
	"cmp"
	"net/netip"
	"slices"

	"golang.org/x/sys/unix"

	unixsock "magawa/kernel/ipc/unix"
	"magawa/kernel/net/inet"
	"magawa/kernel/vfs"
)

// This file is /proc/[pid]/net, which /proc/net links to through self:
// the sandbox has one network namespace, so every process's directory
// shows the same stack. The formats are in netformat.go.
//
// Interfaces, addresses and routes are shown as rtnetlink's dumps
// (kernel/net/netlink) show them, so that ifconfig, route and netstat
// agree with ip.
//
// Left out: snmp, netstat, sockstat and the other files of Linux's
// directory; ICMP echo sockets (Linux's /proc/net/icmp); connections
// after their last descriptor closed (TIME_WAIT, FIN_WAIT2: netstack
// finishes them after the socket left the stack's list of open
// sockets).

// netFiles are the files of /proc/[pid]/net, in the order Linux lists
// them: shorter names first, then by bytes (fs/proc/generic.c,
// proc_match()).
var netFiles = []struct {
	name string
	read func(fs *FS) (string, error)
}{
	{"dev", (*FS).readNetDev},
	{"tcp", func(fs *FS) (string, error) { return fs.readNetTCP(unix.AF_INET) }},
	{"udp", func(fs *FS) (string, error) { return fs.readNetUDP(unix.AF_INET) }},
	{"tcp6", func(fs *FS) (string, error) { return fs.readNetTCP(unix.AF_INET6) }},
	{"udp6", func(fs *FS) (string, error) { return fs.readNetUDP(unix.AF_INET6) }},
	{"unix", (*FS).readNetUnix},
	{"route", (*FS).readNetRoute},
	{"if_inet6", (*FS).readIfInet6},
	{"ipv6_route", (*FS).readIPv6Route},
}

// netDir is /proc/[pid]/net. It and its files belong to root, as
// Linux's belong to the namespace's owner; it lasts as long as the
// process, whose namespace it would show.
type netDir struct {
	*staticDir
	tgt *target
}

func (fs *FS) newNetDir(d *pidDir) vfs.Inode {
	nd := &netDir{staticDir: fs.newStaticDir(childPath(d.path, "net"), d.ino), tgt: d.tgt}
	for _, f := range netFiles {
		read := f.read
		nd.file(f.name, func(*reader) ([]byte, error) {
			s, err := read(fs)
			return []byte(s), err
		})
	}
	return nd
}

func (d *netDir) Lookup(ctx *vfs.Context, name string) (vfs.Inode, error) {
	if _, err := d.tgt.task(); err != nil {
		return nil, unix.ENOENT
	}
	return d.staticDir.Lookup(ctx, name)
}

func (d *netDir) Readdir(ctx *vfs.Context, pos int64, emit func(vfs.Dirent) bool) error {
	if _, err := d.tgt.task(); err != nil {
		return unix.ENOENT
	}
	return d.staticDir.Readdir(ctx, pos, emit)
}

// network returns the sandbox's stack. If it cannot be made, reads fail
// as socket(2) does then, with ENOMEM.
func (fs *FS) network() (NetStack, error) {
	st, err := fs.k.Network()
	if err != nil || st == nil {
		if e, ok := err.(unix.Errno); ok {
			return nil, e
		}
		return nil, unix.ENOMEM
	}
	return st, nil
}

// interfacesByIndex returns the stack's interfaces by index.
func interfacesByIndex(st NetStack) map[int32]inet.Interface {
	m := map[int32]inet.Interface{}
	for _, ifc := range st.Interfaces() {
		m[ifc.Index] = ifc
	}
	return m
}

func (fs *FS) readNetDev() (string, error) {
	st, err := fs.network()
	if err != nil {
		return "", err
	}
	stats := st.InterfaceStats()
	var devs []netDevice
	for _, ifc := range st.Interfaces() {
		devs = append(devs, netDevice{name: ifc.Name, stats: stats[ifc.Index]})
	}
	return formatNetDev(devs), nil
}

// addresses6 returns the IPv6 addresses, by interface index.
func addresses6(st NetStack, ifcs map[int32]inet.Interface) []ifAddr6 {
	var out []ifAddr6
	for _, a := range st.InterfaceAddresses() {
		ifc, ok := ifcs[a.Index]
		if !ok || !a.Prefix.IsValid() || !a.Prefix.Addr().Is6() {
			continue
		}
		out = append(out, ifAddr6{prefix: a.Prefix, index: a.Index, name: ifc.Name})
	}
	slices.SortStableFunc(out, func(x, y ifAddr6) int { return int(x.index) - int(y.index) })
	return out
}

// readIfInet6 lists the IPv6 addresses by interface (Linux lists them
// in the order of a hash table salted per namespace).
func (fs *FS) readIfInet6() (string, error) {
	st, err := fs.network()
	if err != nil {
		return "", err
	}
	return formatIfInet6(addresses6(st, interfacesByIndex(st))), nil
}

// isSubnetOf reports whether route r (without a gateway) is the subnet
// route that came with one of addrs on its interface, and whether that
// address is a loopback one.
func isSubnetOf(addrs []inet.InterfaceAddress, r inet.Route) (subnet, loopback bool) {
	for _, a := range addrs {
		if a.Index == r.Index && a.Prefix.IsValid() && a.Prefix.Masked() == r.Dst.Masked() {
			return true, a.Prefix.Addr().IsLoopback()
		}
	}
	return false, false
}

// readNetRoute shows the IPv4 routes as Linux's main table would hold
// them (as rtnetlink's dump in kernel/net/netlink shows them): the
// stack's routes through interfaces that are up, except the subnet
// routes of lo's addresses, which Linux keeps in its local table.
func (fs *FS) readNetRoute() (string, error) {
	st, err := fs.network()
	if err != nil {
		return "", err
	}
	ifcs := interfacesByIndex(st)
	addrs := st.InterfaceAddresses()
	var routes []route4
	for _, r := range st.Routes() {
		ifc, ok := ifcs[r.Index]
		if !ok || ifc.Flags&unix.IFF_UP == 0 || !r.Dst.IsValid() || !r.Dst.Addr().Is4() {
			continue
		}
		if subnet, _ := isSubnetOf(addrs, r); !r.Gateway.IsValid() && subnet && ifc.Flags&unix.IFF_LOOPBACK != 0 {
			continue
		}
		routes = append(routes, route4{iface: ifc.Name, dst: r.Dst.Masked(), gateway: r.Gateway})
	}
	// A table is a trie walked by key: by network address, the longer
	// prefix first.
	slices.SortStableFunc(routes, func(a, b route4) int {
		if c := a.dst.Addr().Compare(b.dst.Addr()); c != 0 {
			return c
		}
		return b.dst.Bits() - a.dst.Bits()
	})
	routes = slices.CompactFunc(routes, func(a, b route4) bool { return a == b })
	return formatRoute(routes), nil
}

// IPv6 route metrics: of the routes the kernel adds (with addresses),
// and of those added by hand.
const (
	ip6RtPrioKernel = 256
	ip6RtPrioUser   = 1024
)

// readIPv6Route shows the IPv6 routes of Linux's main and local tables,
// as rtnetlink's dump does: the main table has the stack's routes (not
// ::1's prefix route, which Linux no longer adds), the local table a
// route to each address and ff00::/8 on each link but lo; each ends
// with the null route at its root unless it has a default route.
func (fs *FS) readIPv6Route() (string, error) {
	st, err := fs.network()
	if err != nil {
		return "", err
	}
	ifcs := interfacesByIndex(st)
	addrs := st.InterfaceAddresses()
	up := func(index int32) (inet.Interface, bool) {
		ifc, ok := ifcs[index]
		return ifc, ok && ifc.Flags&unix.IFF_UP != 0
	}
	var main, local []route6
	for _, r := range st.Routes() {
		ifc, ok := up(r.Index)
		if !ok || !r.Dst.IsValid() || !r.Dst.Addr().Is6() {
			continue
		}
		rt := route6{dst: r.Dst.Masked(), gateway: r.Gateway, metric: ip6RtPrioUser, flags: rtfUp, iface: ifc.Name}
		if r.Gateway.IsValid() {
			rt.flags |= rtfGateway
		} else if subnet, loopback := isSubnetOf(addrs, r); subnet {
			if loopback && ifc.Flags&unix.IFF_LOOPBACK != 0 {
				continue
			}
			rt.metric = ip6RtPrioKernel
		}
		main = append(main, rt)
	}
	for _, a := range addresses6(st, ifcs) {
		if ifc, ok := up(a.index); ok {
			local = append(local, route6{dst: netip.PrefixFrom(a.prefix.Addr(), 128),
				flags: rtfUp | rtfNoNextHop | rtfLocal, iface: ifc.Name})
		}
	}
	for _, ifc := range st.Interfaces() {
		if ifc.Flags&unix.IFF_UP != 0 && ifc.Flags&unix.IFF_LOOPBACK == 0 {
			local = append(local, route6{dst: netip.MustParsePrefix("ff00::/8"), metric: ip6RtPrioKernel,
				flags: rtfUp, iface: ifc.Name})
		}
	}
	var out []route6
	for _, t := range [][]route6{main, local} {
		slices.SortStableFunc(t, func(a, b route6) int { return inet.CompareIPv6Destinations(a.dst, b.dst) })
		t = slices.CompactFunc(t, func(a, b route6) bool { return a == b })
		out = append(out, t...)
		if !slices.ContainsFunc(t, func(r route6) bool { return r.dst.Bits() == 0 }) {
			out = append(out, nullRoute6)
		}
	}
	return formatIPv6Route(out), nil
}

// socketHolders walks every descriptor table of the sandbox. It returns
// for each socket's inode the filesystem UID of the first process (by
// ID) that holds it, and, with withUnix, the Unix sockets held, each
// once, described while a descriptor holds them. Linux shows the owner
// of the socket's inode, the fsuid of its creator, which the sandbox's
// sockets do not record: their creator is most often the first holder.
// A socket held by no descriptor (only in flight in a message) is not
// found.
func (fs *FS) socketHolders(withUnix bool) (map[uint64]uint32, []unixsock.ProcNetInfo) {
	uids := map[uint64]uint32{}
	var socks []unixsock.ProcNetInfo
	seenTables := map[*vfs.FDTable]bool{}
	seenSocks := map[*unixsock.Socket]bool{}
	for _, p := range fs.k.Processes() {
		for _, t := range p.Threads() {
			files := t.Files()
			if files == nil || seenTables[files] {
				continue
			}
			seenTables[files] = true
			cr, _ := t.Identity()
			for fd, n := 0, files.Capacity(); fd < n; fd++ {
				f, _, err := files.Get(fd)
				if err != nil {
					continue
				}
				switch s := f.Impl.(type) {
				case *inet.Socket:
					if _, ok := uids[s.Inode()]; !ok {
						uids[s.Inode()] = cr.FSUID
					}
				case *unixsock.Socket:
					if withUnix && !seenSocks[s] {
						seenSocks[s] = true
						socks = append(socks, s.ProcNetInfo())
					}
				}
				f.DecRef()
			}
		}
	}
	return uids, socks
}

// inetSockets returns the sockets of family and protocol that Linux's
// tables would hold: listeners first (Linux walks its listening hash
// before the established one), each group in the order the sockets
// were made.
func (fs *FS) inetSockets(family, protocol int) ([]netSocket, error) {
	st, err := fs.network()
	if err != nil {
		return nil, err
	}
	var out []netSocket
	st.Sockets(func(s *inet.Socket) {
		if s.Family() != family || s.Protocol() != protocol {
			return
		}
		if in := s.ProcNetInfo(); in.Listed {
			out = append(out, netSocket{ProcNetInfo: in, inode: s.Inode()})
		}
	})
	if len(out) == 0 {
		return nil, nil
	}
	uids, _ := fs.socketHolders(false)
	for i := range out {
		out[i].uid = uids[out[i].inode]
	}
	listening := func(s netSocket) int {
		if s.State == inet.TCPListen {
			return 0
		}
		return 1
	}
	slices.SortFunc(out, func(a, b netSocket) int {
		return cmp.Or(cmp.Compare(listening(a), listening(b)), cmp.Compare(a.inode, b.inode))
	})
	return out, nil
}

func (fs *FS) readNetTCP(family int) (string, error) {
	socks, err := fs.inetSockets(family, unix.IPPROTO_TCP)
	if err != nil {
		return "", err
	}
	return formatTCP(socks, family == unix.AF_INET6), nil
}

func (fs *FS) readNetUDP(family int) (string, error) {
	socks, err := fs.inetSockets(family, unix.IPPROTO_UDP)
	if err != nil {
		return "", err
	}
	return formatUDP(socks, family == unix.AF_INET6), nil
}

// readNetUnix lists the Unix sockets that descriptors hold, in the
// order they were made, each listener followed by the connections
// waiting for its accept (Linux lists them in hash order).
func (fs *FS) readNetUnix() (string, error) {
	_, infos := fs.socketHolders(true)
	slices.SortFunc(infos, func(a, b unixsock.ProcNetInfo) int { return cmp.Compare(a.Inode, b.Inode) })
	var lines []unixSocketLine
	line := func(in unixsock.ProcNetInfo, embryo bool) unixSocketLine {
		return unixSocketLine{typ: in.Type, inode: in.Inode, listening: in.Listening,
			connected: in.Connected, embryo: embryo, name: string(in.Name)}
	}
	for _, in := range infos {
		lines = append(lines, line(in, false))
		for _, p := range in.Pending {
			lines = append(lines, line(p, true))
		}
	}
	return formatUnix(lines), nil
}
