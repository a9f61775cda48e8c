package syscalls

import (
	"testing"

	"magawa/kernel/abi"
	"magawa/kernel/kernel"
)

func TestSysinfoLayout(t *testing.T) {
	var si sysinfo
	if n := len(abi.Bytes(&si)); n != 112 {
		t.Errorf("sizeof(struct sysinfo) = %d, want 112", n)
	}
	si.Procs = 0xa5a5
	si.Totalhigh = 0x5a5a5a5a5a5a5a5a
	si.MemUnit = 0x3c3c3c3c
	for _, c := range []struct {
		name   string
		marker []byte
		want   int
	}{
		{"procs", abi.Bytes(&si.Procs), 80},
		{"totalhigh", abi.Bytes(&si.Totalhigh), 88},
		{"mem_unit", abi.Bytes(&si.MemUnit), 104},
	} {
		marker := append([]byte(nil), c.marker...)
		if got := offsetOf(&si, marker); got != c.want {
			t.Errorf("sysinfo.%s at %d, want %d", c.name, got, c.want)
		}
	}
	if n := cpumaskSize(); n%8 != 0 || n*8 < kernel.NumCPU() {
		t.Errorf("cpumask size %d for %d CPUs", n, kernel.NumCPU())
	}
}
