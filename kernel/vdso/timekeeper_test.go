package vdso

import (
	"math"
	"math/rand"
	"testing"
	"time"
)

// simHost is a made-up host: a TSC at 2.9 GHz and clocks that count it
// at rates of their own, with noisy readings.
type simHost struct {
	r   *rand.Rand
	tsc uint64 // now
	// monoRate and rawRate are the host clocks' ns per cycle;
	// mono and raw their values at tsc.
	monoRate, rawRate float64
	mono, raw         float64
	// Offsets of the other clocks from the monotonic one.
	real, boot, tai float64
	noise           float64 // ns, each reading
}

func newSimHost(seed int64) *simHost {
	return &simHost{
		r:        rand.New(rand.NewSource(seed)),
		tsc:      1 << 40,
		monoRate: 1 / 2.9 * (1 + 40e-6), // NTP has the clock 40 ppm fast
		rawRate:  1 / 2.9,
		mono:     5_000_000_000_000,
		raw:      4_999_000_000_000,
		real:     1_700_000_000_000_000_000,
		boot:     3_000_000_000,
		tai:      1_700_000_037_000_000_000,
		noise:    50,
	}
}

// advance moves the host d of TSC-time on.
func (h *simHost) advance(d time.Duration) {
	cycles := uint64(float64(d) * 2.9)
	h.tsc += cycles
	h.mono += float64(cycles) * h.monoRate
	h.raw += float64(cycles) * h.rawRate
}

// monoAt and friends are the host's clocks at tsc (exactly).
func (h *simHost) monoAt(tsc uint64) float64 {
	return h.mono + float64(int64(tsc-h.tsc))*h.monoRate
}
func (h *simHost) rawAt(tsc uint64) float64 { return h.raw + float64(int64(tsc-h.tsc))*h.rawRate }

// sample reads the clocks one after another, as SampleHost does.
func (h *simHost) sample() Sample {
	at := h.tsc
	read := func(v func(uint64) float64) Reading {
		at += 300
		n := v(at) + (h.r.Float64()*2-1)*h.noise
		return Reading{TSC: at, Ns: int64(math.Round(n)), Span: 200, OK: true}
	}
	s := Sample{
		Monotonic: read(h.monoAt),
		Raw:       read(h.rawAt),
		Realtime:  read(func(t uint64) float64 { return h.monoAt(t) + h.real }),
		Boottime:  read(func(t uint64) float64 { return h.monoAt(t) + h.boot }),
		TAI:       read(func(t uint64) float64 { return h.monoAt(t) + h.tai }),
	}
	s.TSC = at + 100
	return s
}

// run updates tk every period for d, checking after each update that
// the page's monotonic clock continues where it was; it returns the
// last Data.
func run(t *testing.T, tk *Timekeeper, h *simHost, d Data, dur time.Duration) Data {
	t.Helper()
	for end := h.tsc + uint64(float64(dur)*2.9); h.tsc < end; {
		h.advance(tk.Period + time.Duration(h.r.Intn(int(tk.Period/10))))
		s := h.sample()
		nd := tk.Update(&s)
		for _, id := range []int32{clockMonotonic, clockMonotonicRaw} {
			old, ok1 := d.Read(id, nd.TSC)
			cur, ok2 := nd.Read(id, nd.TSC)
			if ok1 && ok2 && cur < old {
				t.Fatalf("clock %d went back at the update: %d, then %d", id, old, cur)
			}
		}
		d = nd
	}
	return d
}

// checkClose checks that the page's clocks are within tol of the host's
// at the page's reference and a period later.
func checkClose(t *testing.T, h *simHost, d Data, tol time.Duration) {
	t.Helper()
	for _, tsc := range []uint64{d.TSC, d.TSC + uint64(0.1e9*2.9)} {
		mono := h.monoAt(tsc)
		for _, c := range []struct {
			id   int32
			want float64
		}{
			{clockMonotonic, mono},
			{clockMonotonicCoarse, mono},
			{clockMonotonicRaw, h.rawAt(tsc)},
			{clockRealtime, mono + h.real},
			{clockRealtimeCoarse, mono + h.real},
			{clockBoottime, mono + h.boot},
			{clockTAI, mono + h.tai},
		} {
			got, ok := d.Read(c.id, tsc)
			if !ok {
				t.Fatalf("clock %d not served", c.id)
			}
			if e := float64(got) - c.want; math.Abs(e) > float64(tol) {
				t.Errorf("clock %d at %+d cycles: %v off", c.id, int64(tsc-d.TSC), time.Duration(e))
			}
		}
	}
	for id := int32(0); id < NumClocks; id++ {
		switch id {
		case clockMonotonic, clockMonotonicCoarse, clockMonotonicRaw, clockRealtime, clockRealtimeCoarse, clockBoottime, clockTAI:
		default:
			if _, ok := d.Read(id, d.TSC); ok {
				t.Errorf("clock %d served", id)
			}
		}
	}
}

func TestTimekeeperFollowsHost(t *testing.T) {
	h := newSimHost(1)
	tk := &Timekeeper{Period: 100 * time.Millisecond}
	s := h.sample()
	if d := tk.Update(&s); d != (Data{}) {
		t.Fatalf("data before the TSC's rate is known: %+v", d)
	}
	h.advance(10 * time.Millisecond)
	s = h.sample()
	d := tk.Update(&s)
	if _, ok := d.Read(clockMonotonic, d.TSC); !ok {
		t.Fatal("nothing served after calibration")
	}
	d = run(t, tk, h, d, 2*time.Second)
	checkClose(t, h, d, time.Microsecond)

	// The realtime offset holds still while it is only noise...
	real := d.Clocks[clockRealtime].Base - d.Clocks[clockMonotonic].Base
	d = run(t, tk, h, d, time.Second)
	if got := d.Clocks[clockRealtime].Base - d.Clocks[clockMonotonic].Base; got != real {
		t.Errorf("realtime offset moved by %d ns", int64(got-real))
	}
	// ...and follows the host's clock being set.
	h.real -= 3 * float64(time.Second)
	d = run(t, tk, h, d, 200*time.Millisecond)
	checkClose(t, h, d, time.Microsecond)

	// The host's clock running at another rate (NTP) is followed too.
	h.monoRate *= 1 - 200e-6
	d = run(t, tk, h, d, 5*time.Second)
	checkClose(t, h, d, 2*time.Microsecond)
}

// TestTimekeeperSteps: a line behind by more than maxBehind jumps
// forward; one ahead slews back without ever going back.
func TestTimekeeperSteps(t *testing.T) {
	h := newSimHost(2)
	tk := &Timekeeper{Period: 100 * time.Millisecond}
	s := h.sample()
	tk.Update(&s)
	h.advance(10 * time.Millisecond)
	s = h.sample()
	d := run(t, tk, h, tk.Update(&s), time.Second)

	h.mono += 50 * float64(time.Millisecond) // the page is 50 ms behind
	d = run(t, tk, h, d, 100*time.Millisecond)
	checkClose(t, h, d, time.Microsecond)

	h.mono -= 400 * float64(time.Microsecond) // the page is 400 µs ahead
	d = run(t, tk, h, d, 100*time.Millisecond)
	if got, _ := d.Read(clockMonotonic, d.TSC); float64(got)-h.monoAt(d.TSC) < 100e3 {
		t.Errorf("caught up 400 µs in one period: not slewing")
	}
	d = run(t, tk, h, d, 2*time.Second)
	checkClose(t, h, d, time.Microsecond)
}

// TestTimekeeperBadSamples: a disturbed reading changes nothing; a TSC
// going back stops the page until it is calibrated again.
func TestTimekeeperBadSamples(t *testing.T) {
	h := newSimHost(3)
	tk := &Timekeeper{Period: 100 * time.Millisecond}
	s := h.sample()
	tk.Update(&s)
	h.advance(10 * time.Millisecond)
	s = h.sample()
	d := run(t, tk, h, tk.Update(&s), time.Second)

	h.advance(100 * time.Millisecond)
	s = h.sample()
	s.Monotonic.Span = 1 << 30
	if got := tk.Update(&s); got != d {
		t.Errorf("a disturbed sample changed the data")
	}
	// A disturbed realtime reading leaves the offset as it was.
	s = h.sample()
	s.Realtime.Span = 1 << 30
	s.Realtime.Ns += 1e9
	d = tk.Update(&s)
	checkClose(t, h, d, time.Microsecond)

	h.tsc -= 1 << 35
	s = h.sample()
	if got := tk.Update(&s); got != (Data{}) {
		t.Errorf("data after the TSC went back: %+v", got)
	}
	h.advance(10 * time.Millisecond)
	s = h.sample()
	d = run(t, tk, h, tk.Update(&s), time.Second)
	checkClose(t, h, d, time.Microsecond)
}
