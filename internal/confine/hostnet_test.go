package confine_test

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/internal/confine"
	"magawa/internal/seccomp"
)

// TestHostNetworkRules checks the filter of a sandbox on the host's
// network (--network=host), evaluated without installing it: TCP and UDP
// sockets of either Internet family pass, and packet, netlink, raw and
// Unix sockets (and blocking or inheritable Internet ones) are still
// refused, as are options outside hostinet's allowlist; a sandbox of
// another mode has no socket(2) at all.
func TestHostNetworkRules(t *testing.T) {
	if seccomp.NativeArch == 0 {
		skip(t, "no seccomp allowlist for %s", runtime.GOARCH)
	}
	base := confine.Rules(1)
	host := append(append([]seccomp.Rule{}, base...), confine.HostNetworkRules()...)
	progs := map[string][]unix.SockFilter{}
	for name, rules := range map[string][]seccomp.Rule{
		"host":    host,
		"sandbox": append(append([]seccomp.Rule{}, base...), confine.NetworkRules()...),
		"none":    base,
	} {
		prog, err := seccomp.Program(seccomp.NativeArch, rules, seccomp.KillProcess)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		progs[name] = prog
	}
	t.Logf("host mode: %d rules, %d instructions", len(host), len(progs["host"]))
	call := func(nr uint32, args ...uint64) seccomp.Data {
		d := seccomp.Data{Nr: nr, Arch: seccomp.NativeArch}
		copy(d.Args[:], args)
		return d
	}
	const fl = unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
	allow, kill := seccomp.Allow, seccomp.KillProcess
	for name, tc := range map[string]struct {
		d    seccomp.Data
		want seccomp.Action
	}{
		"TCP/IPv4":                 {call(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM|fl, unix.IPPROTO_TCP), allow},
		"TCP/IPv6":                 {call(unix.SYS_SOCKET, unix.AF_INET6, unix.SOCK_STREAM|fl, unix.IPPROTO_TCP), allow},
		"UDP/IPv4":                 {call(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_DGRAM|fl, unix.IPPROTO_UDP), allow},
		"UDP/IPv6":                 {call(unix.SYS_SOCKET, unix.AF_INET6, unix.SOCK_DGRAM|fl, unix.IPPROTO_UDP), allow},
		"AF_PACKET raw":            {call(unix.SYS_SOCKET, unix.AF_PACKET, unix.SOCK_RAW|fl, 0x300), kill},
		"AF_PACKET dgram":          {call(unix.SYS_SOCKET, unix.AF_PACKET, unix.SOCK_DGRAM|fl, unix.IPPROTO_UDP), kill},
		"AF_NETLINK route":         {call(unix.SYS_SOCKET, unix.AF_NETLINK, unix.SOCK_RAW|fl, unix.NETLINK_ROUTE), kill},
		"AF_NETLINK dgram":         {call(unix.SYS_SOCKET, unix.AF_NETLINK, unix.SOCK_DGRAM|fl, unix.IPPROTO_UDP), kill},
		"AF_UNIX":                  {call(unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_STREAM|fl, 0), kill},
		"raw IPv4":                 {call(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_RAW|fl, unix.IPPROTO_TCP), kill},
		"ICMP echo":                {call(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_DGRAM|fl, unix.IPPROTO_ICMP), kill},
		"blocking TCP":             {call(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP), kill},
		"AF_INET in the high half": {call(unix.SYS_SOCKET, 1<<32|unix.AF_PACKET, unix.SOCK_DGRAM|fl, unix.IPPROTO_UDP), kill},
		"TCP_NODELAY":              {call(unix.SYS_SETSOCKOPT, 3, unix.SOL_TCP, unix.TCP_NODELAY), allow},
		"IPV6_V6ONLY":              {call(unix.SYS_GETSOCKOPT, 3, unix.SOL_IPV6, unix.IPV6_V6ONLY), allow},
		"IP_TTL":                   {call(unix.SYS_SETSOCKOPT, 3, unix.SOL_IP, unix.IP_TTL), allow},
		"TCP_ULP":                  {call(unix.SYS_SETSOCKOPT, 3, unix.SOL_TCP, unix.TCP_ULP), kill},
		"TCP_ZEROCOPY_RECEIVE":     {call(unix.SYS_GETSOCKOPT, 3, unix.SOL_TCP, unix.TCP_ZEROCOPY_RECEIVE), kill},
		"IP_TRANSPARENT":           {call(unix.SYS_SETSOCKOPT, 3, unix.SOL_IP, unix.IP_TRANSPARENT), kill},
		"SOL_PACKET":               {call(unix.SYS_SETSOCKOPT, 3, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP), kill},
		"SOL_NETLINK":              {call(unix.SYS_SETSOCKOPT, 3, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP), kill},
		"FIONREAD":                 {call(unix.SYS_IOCTL, 3, unix.SIOCINQ), allow},
		"SIOCGIFINDEX":             {call(unix.SYS_IOCTL, 3, unix.SIOCGIFINDEX), allow},
		"SIOCSIFADDR":              {call(unix.SYS_IOCTL, 3, unix.SIOCSIFADDR), kill},
		"SIOCSIFFLAGS":             {call(unix.SYS_IOCTL, 3, unix.SIOCSIFFLAGS), kill},
		"bind":                     {call(unix.SYS_BIND, 3, 0, 16), allow},
		"connect":                  {call(unix.SYS_CONNECT, 3, 0, 16), allow},
		"socketpair AF_INET":       {call(unix.SYS_SOCKETPAIR, unix.AF_INET, unix.SOCK_STREAM, 0), kill},
		"sendto (not sendmsg)":     {call(unix.SYS_SENDTO, 3, 0, 0), kill},
		"unshare":                  {call(unix.SYS_UNSHARE, unix.CLONE_NEWNET), kill},
		"setns":                    {call(unix.SYS_SETNS, 3, unix.CLONE_NEWNET), kill},
	} {
		a, err := seccomp.Evaluate(progs["host"], tc.d)
		if err != nil {
			t.Fatal(err)
		}
		if a != tc.want {
			t.Errorf("host mode, %s: %v, want %v", name, a, tc.want)
		}
	}
	// Without host mode, not even an Internet socket.
	for _, mode := range []string{"sandbox", "none"} {
		for name, d := range map[string]seccomp.Data{
			"TCP/IPv4":    call(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM|fl, unix.IPPROTO_TCP),
			"AF_PACKET":   call(unix.SYS_SOCKET, unix.AF_PACKET, unix.SOCK_RAW|fl, 0x300),
			"TCP_NODELAY": call(unix.SYS_SETSOCKOPT, 3, unix.SOL_TCP, unix.TCP_NODELAY),
			"bind":        call(unix.SYS_BIND, 3, 0, 16),
		} {
			if a, err := seccomp.Evaluate(progs[mode], d); err != nil || a != kill {
				t.Errorf("%s mode, %s: %v %v, want %v", mode, name, a, err, kill)
			}
		}
	}
}
