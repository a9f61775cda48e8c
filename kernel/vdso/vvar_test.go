package vdso

import (
	"math/big"
	"math/bits"
	"math/rand"
	"sync"
	"testing"
	"time"
)

// TestLineAtBig checks the 128-bit arithmetic of lineAtFrac against
// math/big.
func TestLineAtBig(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	u64 := func() uint64 {
		switch r.Intn(4) {
		case 0:
			return r.Uint64() >> r.Intn(64)
		case 1:
			return ^uint64(0) - uint64(r.Intn(3))
		default:
			return r.Uint64()
		}
	}
	mask := new(big.Int).SetUint64(^uint64(0))
	for i := 0; i < 100000; i++ {
		ref, mult, base, frac, tsc := u64(), u64(), u64(), u64(), u64()
		shift := uint32(r.Intn(70))
		ns, rest := lineAtFrac(ref, mult, base, frac, shift, tsc)

		delta := new(big.Int)
		if tsc > ref {
			delta.SetUint64(tsc - ref)
		}
		sum := new(big.Int).Mul(delta, new(big.Int).SetUint64(mult))
		sum.Add(sum, new(big.Int).SetUint64(frac))
		sum.And(sum, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))) // 128 bits
		s := uint(shift & 63)
		q := new(big.Int).Rsh(sum, s)
		want := new(big.Int).Add(q, new(big.Int).SetUint64(base))
		want.And(want, mask)
		wantRest := new(big.Int).And(sum, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), s), big.NewInt(1)))
		// The machine code keeps 64 bits of the shifted sum, as does
		// lineAt: compare modulo 2^64.
		if ns != want.Uint64() || rest != wantRest.Uint64() {
			t.Fatalf("lineAtFrac(%#x, %#x, %#x, %#x, %d, %#x) = %#x, %#x; want %#x, %#x",
				ref, mult, base, frac, shift, tsc, ns, rest, want.Uint64(), wantRest.Uint64())
		}
	}
}

// TestDivNsMagic checks divNs's multiplier for all 64-bit values that
// matter: edges around multiples of 10^9 and random ones.
func TestDivNsMagic(t *testing.T) {
	div := func(n uint64) uint64 {
		hi, _ := bits.Mul64(n>>9, divNsMagic)
		return hi >> 11
	}
	r := rand.New(rand.NewSource(2))
	check := func(n uint64) {
		if got := div(n); got != n/1e9 {
			t.Fatalf("divNs(%d) = %d, want %d", n, got, n/1e9)
		}
	}
	for _, n := range []uint64{0, 1, 1e9 - 1, 1e9, 1e9 + 1, ^uint64(0), ^uint64(0) - 1e9, 1 << 63} {
		check(n)
	}
	for i := 0; i < 1000000; i++ {
		q := r.Uint64() / 1e9
		check(q * 1e9)
		check(q*1e9 - 1)
		check(r.Uint64())
	}
	// tv_usec: (n * 0x10624dd3) >> 38 is n / 1000 for every n < 2^32.
	for n := uint64(0); n < 1<<32; n += 1 + uint64(r.Intn(1000)) {
		if got := (n * 0x10624dd3) >> 38; got != n/1000 {
			t.Fatalf("usec(%d) = %d", n, got)
		}
	}
}

// TestPageSeqlock: a reader never sees half an update.
func TestPageSeqlock(t *testing.T) {
	p := NewPage(make([]byte, VVarSize))
	fill := func(v uint64) *Data {
		d := &Data{TSC: v, Shift: uint32(v)}
		for i := range d.Clocks {
			d.Clocks[i] = Clock{v, v, v}
		}
		return d
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for v := uint64(1); ; v++ {
			select {
			case <-stop:
				return
			default:
			}
			p.Store(fill(v))
		}
	}()
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
		d := p.Load()
		if *fill(d.TSC) != d {
			close(stop)
			wg.Wait()
			t.Fatalf("torn read: %+v", d)
		}
	}
	close(stop)
	wg.Wait()
}

func TestDataRead(t *testing.T) {
	d := Data{TSC: 1000, Shift: 1, Clocks: [NumClocks]Clock{1: {Mult: 3, Base: 10, Frac: 1}}}
	for _, c := range []struct {
		id  int32
		tsc uint64
		ns  uint64
		ok  bool
	}{
		{1, 1000, 10, true},
		{1, 999, 10, true}, // before the reference: the reference
		{1, 1001, 12, true},
		{1, 1002, 13, true},
		{0, 1000, 0, false},
		{-1, 1000, 0, false},
		{16, 1000, 0, false},
	} {
		ns, ok := d.Read(c.id, c.tsc)
		if ns != c.ns || ok != c.ok {
			t.Errorf("Read(%d, %d) = %d, %v; want %d, %v", c.id, c.tsc, ns, ok, c.ns, c.ok)
		}
	}
}

func TestCPUInfoFlags(t *testing.T) {
	info := "processor\t: 0\nflags\t\t: fpu tsc constant_tsc rep_good nonstop_tsc cpuid\nbugs\t\t: spectre\n"
	if !cpuinfoHasFlags(info, "constant_tsc", "nonstop_tsc") {
		t.Error("flags not found")
	}
	if cpuinfoHasFlags(info, "constant_tsc", "tsc_reliable") || cpuinfoHasFlags("", "tsc") {
		t.Error("missing flag found")
	}
}
