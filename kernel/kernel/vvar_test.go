package kernel

import (
	"testing"
	"time"

	"magawa/kernel/memfile"
	"magawa/kernel/vdso"
)

// TestVVarUpdater: the page the kernel allocates comes to serve the
// clocks, close to the host's, and goes with the kernel.
func TestVVarUpdater(t *testing.T) {
	mf, err := memfile.New(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	k := newTestKernel()
	k.MemoryFile = mf
	k.startVVar()
	if k.vvar == nil {
		t.Fatal("no vvar page")
	}
	page := vdso.NewPage(mf.Slice(k.vvar.off, vdso.VVarSize))
	if ok, why := vdso.InvariantTSC(); ok {
		deadline := time.Now().Add(5 * time.Second)
		for {
			d := page.Load()
			if ns, ok := d.Read(CLOCK_MONOTONIC, vdso.ReadTSC()); ok {
				if e := time.Duration(int64(ns) - monotonicNow(t)); e > time.Millisecond || e < -time.Millisecond {
					t.Errorf("the page's CLOCK_MONOTONIC is %v off the host's", e)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the page serves nothing")
			}
			time.Sleep(time.Millisecond)
		}
	} else {
		t.Logf("no invariant TSC (%s): the page stays zeros", why)
	}
	k.stopVVar()
	if mf.Used() != 0 {
		t.Errorf("%d bytes used after the kernel's end", mf.Used())
	}
}

func monotonicNow(t *testing.T) int64 {
	t.Helper()
	s := vdso.SampleHost()
	if !s.Monotonic.OK {
		t.Fatal("cannot read CLOCK_MONOTONIC")
	}
	return s.Monotonic.Ns
}
