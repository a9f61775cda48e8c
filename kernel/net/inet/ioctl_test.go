package inet

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
)

// memIO is application memory for an ioctl: size bytes at address base.
type memIO struct {
	base uintptr
	mem  []byte
}

func (m *memIO) CopyIn(addr uintptr, dst []byte) (int, error) {
	if addr < m.base || addr+uintptr(len(dst)) > m.base+uintptr(len(m.mem)) {
		return 0, unix.EFAULT
	}
	return copy(dst, m.mem[addr-m.base:]), nil
}

func (m *memIO) CopyOut(addr uintptr, src []byte) (int, error) {
	if addr < m.base || addr+uintptr(len(src)) > m.base+uintptr(len(m.mem)) {
		return 0, unix.EFAULT
	}
	return copy(m.mem[addr-m.base:], src), nil
}

// TestEthtool: the SIOCETHTOOL queries libpcap makes, on lo and on an
// Ethernet interface, and what is refused.
func TestEthtool(t *testing.T) {
	st := newStack(t)
	if err := st.AttachLink(2, "eth0", ethernet.New(channel.New(8, 1500, "\x02\x00\x00\x00\x00\x01"))); err != nil {
		t.Fatal(err)
	}
	const base, data = 0x10000, 0x10000 + 64
	le := binary.LittleEndian
	ask := func(name string, cmd uint32, dataAddr uintptr) (*memIO, error) {
		m := &memIO{base: base, mem: make([]byte, 256)}
		copy(m.mem, name)
		le.PutUint64(m.mem[16:], uint64(dataAddr))
		if at := int(dataAddr) - base; at >= 0 && at+4 <= len(m.mem) {
			le.PutUint32(m.mem[at:], cmd)
		}
		_, err := st.InterfaceIoctl(m, unix.SIOCETHTOOL, base)
		return m, err
	}
	if !IsInterfaceIoctl(unix.SIOCETHTOOL) {
		t.Error("SIOCETHTOOL is not an interface ioctl")
	}
	for _, name := range []string{"lo", "eth0"} {
		m, err := ask(name, unix.ETHTOOL_GET_TS_INFO, data)
		info := m.mem[64:]
		if err != nil || le.Uint32(info) != unix.ETHTOOL_GET_TS_INFO ||
			le.Uint32(info[4:]) != unix.SOF_TIMESTAMPING_RX_SOFTWARE|unix.SOF_TIMESTAMPING_SOFTWARE ||
			int32(le.Uint32(info[8:])) != -1 || le.Uint32(info[12:]) != 0 || le.Uint32(info[28:]) != 0 {
			t.Errorf("ETHTOOL_GET_TS_INFO of %s: %x, %v; want software receive time stamps, no PTP clock", name, info[:44], err)
		}
	}
	for _, c := range []struct {
		name string
		cmd  uint32
		want uint32
	}{
		{"eth0", unix.ETHTOOL_GGRO, 1}, {"lo", unix.ETHTOOL_GGRO, 0},
		{"eth0", unix.ETHTOOL_GTSO, 0}, {"eth0", unix.ETHTOOL_GUFO, 0}, {"eth0", unix.ETHTOOL_GGSO, 0}, {"eth0", unix.ETHTOOL_GFLAGS, 0},
	} {
		m, err := ask(c.name, c.cmd, data)
		if v := m.mem[64:]; err != nil || le.Uint32(v) != c.cmd || le.Uint32(v[4:]) != c.want {
			t.Errorf("ethtool %#x of %s: %x, %v; want %d", c.cmd, c.name, v[:8], err, c.want)
		}
	}
	for _, c := range []struct {
		what, name string
		cmd        uint32
		data       uintptr
		err        error
	}{
		{"ETHTOOL_GSET", "eth0", unix.ETHTOOL_GSET, data, unix.EOPNOTSUPP},
		{"ETHTOOL_SGRO", "eth0", unix.ETHTOOL_SGRO, data, unix.EOPNOTSUPP},
		{"no such interface", "eth9", unix.ETHTOOL_GGRO, data, unix.ENODEV},
		{"a bad pointer", "eth0", unix.ETHTOOL_GGRO, 8, unix.EFAULT},
		{"a struct past the memory", "eth0", unix.ETHTOOL_GET_TS_INFO, base + 256 - 8, unix.EFAULT},
	} {
		if _, err := ask(c.name, c.cmd, c.data); err != c.err {
			t.Errorf("%s: %v, want %v", c.what, err, c.err)
		}
	}
}
