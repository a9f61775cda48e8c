package network

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/internal/network/rtnl"
)

// The requests iproute2's tc 6.1.0 sends, as strace's -e write=3 dumped
// them (sequence numbers zeroed), in a namespace where vb is interface
// 2 and va interface 3:
//
//	tc qdisc add dev va ingress
//	tc filter add dev vb parent ffff: protocol all prio 1 u32 match u8 0 0 action mirred egress redirect dev va
const (
	tcIngressQdisc = `
30 00 00 00 24 00 05 06  00 00 00 00 00 00 00 00
00 00 00 00 03 00 00 00  00 00 ff ff f1 ff ff ff
00 00 00 00 0c 00 01 00  69 6e 67 72 65 73 73 00`
	tcRedirectFilter = `
8c 00 00 00 2c 00 05 06  00 00 00 00 00 00 00 00
00 00 00 00 02 00 00 00  00 00 00 00 00 00 ff ff
00 03 01 00 08 00 01 00  75 33 32 00 60 00 02 00
38 00 07 00 34 00 01 00  0b 00 01 00 6d 69 72 72
65 64 00 00 24 00 02 80  20 00 02 00 00 00 00 00
00 00 00 00 04 00 00 00  00 00 00 00 00 00 00 00
01 00 00 00 03 00 00 00  24 00 05 00 01 00 01 00
00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00  00 00 00 00`
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTCMessagesAreTCs checks the qdisc's and the filter's requests
// byte for byte against tc's (on a little-endian host, as the dump's).
func TestTCMessagesAreTCs(t *testing.T) {
	h, attrs := ingressQdisc(3)
	got := rtnl.Message(unix.RTM_NEWQDISC, unix.NLM_F_CREATE|unix.NLM_F_EXCL, 0, h, attrs...)
	if want := unhex(t, tcIngressQdisc); !bytes.Equal(got, want) {
		t.Errorf("ingress qdisc:\n got %x\nwant %x", got, want)
	}
	h, attrs = redirectFilter(2, 3)
	got = rtnl.Message(unix.RTM_NEWTFILTER, unix.NLM_F_CREATE|unix.NLM_F_EXCL, 0, h, attrs...)
	if want := unhex(t, tcRedirectFilter); !bytes.Equal(got, want) {
		t.Errorf("redirect filter:\n got %x\nwant %x", got, want)
	}
}
