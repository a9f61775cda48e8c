package vdso

import (
	"math"
	"time"
)

// Clock IDs the page serves. Linux: include/uapi/linux/time.h.
const (
	clockRealtime        = 0
	clockMonotonic       = 1
	clockMonotonicRaw    = 4
	clockRealtimeCoarse  = 5
	clockMonotonicCoarse = 6
	clockBoottime        = 7
	clockTAI             = 11
)

// Reading is one reading of a host clock.
type Reading struct {
	// TSC is the counter when the clock read Ns: the middle of the two
	// TSC readings around the clock's, Span cycles apart.
	TSC  uint64
	Ns   int64
	Span uint64
	// OK is false if the clock could not be read.
	OK bool
}

// Sample is a reading of each host clock the page serves.
type Sample struct {
	Monotonic, Raw, Realtime, Boottime, TAI Reading
	// TSC is when the sample ends: the reference of the Data made from
	// it, every reading carried forward to it.
	TSC uint64
}

// Shift is the shift of the page's mults: a line's slope is kept in
// units of 2^-32 ns per TSC cycle.
const Shift = 32

// The Timekeeper's bounds.
const (
	// maxSpan bounds a reading's bracket: one wider (the updater was
	// preempted around it) is not used.
	maxSpan = 20 * time.Microsecond
	// maxAnchorSpan is maxSpan for the first readings, in cycles, before
	// the TSC's rate is known (20 µs up to 5 GHz).
	maxAnchorSpan = 100_000
	// minBaseline is the least time between the first reading and the
	// first Data: the TSC's rate is first measured over it.
	minBaseline = time.Millisecond
	// rateWindow: once it has run that long, a rate is measured over
	// the last one to two rateWindows, following the host clock's rate
	// as NTP changes it.
	rateWindow = time.Second
	// rebaseError: a line that far off its host clock says the host's
	// clock and the TSC parted (a step, a resume, a migration): the
	// rate is measured afresh from there, the last one used meanwhile.
	rebaseError = 100 * time.Microsecond
	// maxBehind: a line that far behind its host clock jumps forward.
	maxBehind = time.Millisecond
	// maxAhead: a line that far ahead of its host clock (the host
	// suspended, the TSC reset) starts again, backwards: the only way
	// CLOCK_MONOTONIC read from the page can go back.
	maxAhead = time.Second
	// maxSlew bounds the relative change of a line's rate that steers
	// it towards its host clock: 0.5% catches up 500 µs per 100 ms.
	maxSlew = 0.005
	// offsetSlack: the offsets of the realtime, boottime and TAI clocks
	// from the monotonic one change only when they move by more than
	// this (a clock was set, the host resumed): smaller moves are the
	// noise of measuring them.
	offsetSlack = 5 * time.Microsecond
	// The TSC's rate must lie between 10 MHz and 100 GHz.
	minRate, maxRate = 0.01, 100.0 // ns per cycle
)

// Timekeeper turns samples of the host clocks into the vvar page's Data
// (Update), keeping the page's clocks close to the host's without ever
// moving CLOCK_MONOTONIC back.
//
// The TSC's rate (ns per cycle) against each host clock is measured
// from the first sample on, over a baseline that grows to between one
// and two rateWindows and then slides. The page's CLOCK_MONOTONIC is a line,
// and every update continues it from where it has got to (its value at
// the new reference, fraction included), with a slope that is the rate
// corrected by the line's error against the host's CLOCK_MONOTONIC
// spread over one Period: a line is continuous and increasing, so
// readers never see it go back, and it follows the host's clock as
// Linux's NTP slewing does (kernel/time/timekeeping.c,
// timekeeping_apply_adjustment()). CLOCK_MONOTONIC_RAW is its own line,
// steered to the host's raw clock. CLOCK_REALTIME, CLOCK_BOOTTIME and
// CLOCK_TAI are the monotonic line plus an offset, re-measured every
// update but changed only when it moves by more than offsetSlack, as
// Linux's offsets change only when a clock is set or the host resumes.
// The coarse clocks are the fine ones, as the system calls serve them.
type Timekeeper struct {
	// Period is the time between updates; 0 means 100 ms.
	Period time.Duration

	monoRate, rawRate rateMeter
	mono, raw         timeline
	real, boot, tai   offset
	last              Data
}

// rateMeter measures a host clock's rate against the TSC: ns per cycle
// between the readings anchor and the latest. next is the anchor to
// come: the baseline slides once it is two rateWindows long.
type rateMeter struct {
	anchor, next Reading
	// rate is the last measure, 0 if none; it is kept when the meter
	// starts again until the new baseline is long enough.
	rate float64
}

// add measures r against the anchor and returns the rate, 0 if unknown.
func (m *rateMeter) add(r Reading) float64 {
	if !r.OK {
		return m.rate
	}
	if !m.anchor.OK || r.TSC <= m.anchor.TSC || r.Ns < m.anchor.Ns {
		if r.Span <= maxAnchorSpan {
			m.anchor, m.next = r, Reading{}
		}
		return m.rate
	}
	base := r.Ns - m.anchor.Ns
	if base >= int64(minBaseline) && (m.rate == 0 || base >= int64(rateWindow)/10) {
		if rate := float64(base) / float64(r.TSC-m.anchor.TSC); rate >= minRate && rate <= maxRate {
			m.rate = rate
		} else {
			*m = rateMeter{} // nonsense: start again
			return 0
		}
	}
	switch {
	case base >= 2*int64(rateWindow) && m.next.OK:
		m.anchor, m.next = m.next, r
	case base >= int64(rateWindow) && !m.next.OK:
		m.next = r
	}
	return m.rate
}

// restart measures from r on, keeping the last rate meanwhile.
func (m *rateMeter) restart(r Reading) {
	if r.OK && r.Span <= maxAnchorSpan {
		m.anchor, m.next = r, Reading{}
	}
}

// timeline is a line the page publishes: at TSC tsc ≥ ref the clock
// reads base + (frac + (tsc - ref) * mult) >> Shift ns.
type timeline struct {
	ok                    bool
	ref, mult, base, frac uint64
}

func multOf(rate float64) uint64 { return uint64(math.Round(rate * (1 << Shift))) }

// advance moves l's reference to tsc, continuing it.
func (l *timeline) advance(tsc uint64) {
	if !l.ok {
		return
	}
	if tsc < l.ref {
		l.ok = false // the TSC went back: nothing to continue
		return
	}
	l.base, l.frac = lineAtFrac(l.ref, l.mult, l.base, l.frac, Shift, tsc)
	l.ref = tsc
}

// steer continues l to tsc, where its host clock reads host ns and
// advances rate ns per cycle, and sets its slope to correct its error
// over period.
func (l *timeline) steer(tsc uint64, host int64, rate float64, period time.Duration) {
	l.advance(tsc)
	if !l.ok || host < 0 {
		*l = timeline{ok: host >= 0, ref: tsc, base: uint64(host), mult: multOf(rate)}
		return
	}
	e := host - int64(l.base)
	switch {
	case e > int64(maxBehind):
		l.base, l.frac, e = uint64(host), 0, 0
	case e < -int64(maxAhead):
		*l = timeline{ok: true, ref: tsc, base: uint64(host), mult: multOf(rate)}
		return
	}
	corr := max(-maxSlew, min(maxSlew, float64(e)/float64(period)))
	l.mult = multOf(rate * (1 + corr))
}

func (l *timeline) clock() Clock { return Clock{Mult: l.mult, Base: l.base, Frac: l.frac} }

// offset is the offset of a clock from the monotonic one.
type offset struct {
	ok bool
	ns int64
}

func (o *offset) measure(ns int64, ok bool) {
	if ok && (!o.ok || ns-o.ns > int64(offsetSlack) || o.ns-ns > int64(offsetSlack)) {
		o.ok, o.ns = true, ns
	}
}

// Update takes a sample of the host clocks and returns the Data to
// publish. Until the TSC's rate is known (a sample at least
// minBaseline after the first), and whenever the samples make no sense
// (the TSC or the host's monotonic clock going back, a rate out of
// bounds), that is a Data of zeros: the vDSO makes system calls. A
// sample whose monotonic reading was disturbed changes nothing.
func (tk *Timekeeper) Update(s *Sample) Data {
	period := tk.Period
	if period <= 0 {
		period = 100 * time.Millisecond
	}
	m := s.Monotonic
	if !m.OK || s.TSC < m.TSC {
		return tk.last
	}
	if tk.mono.ok && m.TSC < tk.mono.ref {
		tk.restart(s) // the TSC went back
		return tk.last
	}
	rate := tk.monoRate.rate
	if rate == 0 { // calibrating
		rate = tk.monoRate.add(m)
		tk.rawRate.add(s.Raw)
		if rate == 0 {
			return tk.stop()
		}
	}
	if float64(m.Span)*rate > float64(maxSpan) {
		return tk.last
	}
	ref := s.TSC
	// at is reading r carried forward to ref.
	at := func(r Reading) (int64, bool) {
		if !r.OK || float64(r.Span)*rate > float64(maxSpan) || r.TSC > ref {
			return 0, false
		}
		return r.Ns + int64(math.Round(float64(ref-r.TSC)*rate)), true
	}
	mono, _ := at(m)
	follow(&tk.mono, &tk.monoRate, m, mono, ref, period)
	if tk.monoRate.rate == 0 {
		return tk.stop()
	}
	if raw, ok := at(s.Raw); ok {
		follow(&tk.raw, &tk.rawRate, s.Raw, raw, ref, period)
	} else {
		tk.raw.advance(ref)
	}
	real, ok := at(s.Realtime)
	tk.real.measure(real-mono, ok)
	boot, ok := at(s.Boottime)
	// CLOCK_BOOTTIME is never behind CLOCK_MONOTONIC (it adds the time
	// suspended); a measurement's jitter must not make it so.
	tk.boot.measure(max(boot-mono, 0), ok)
	tai, ok := at(s.TAI)
	if ok && tk.real.ok {
		// CLOCK_TAI is CLOCK_REALTIME plus a whole number of seconds
		// (the kernel's TAI offset): keep it exactly that, so jitter
		// never puts it behind REALTIME.
		const second = int64(time.Second)
		secs := (tai - mono - tk.real.ns + second/2) / second
		tk.tai.ok, tk.tai.ns = true, tk.real.ns+max(secs, 0)*second
	} else {
		tk.tai.measure(tai-mono, ok)
	}

	d := Data{TSC: ref, Shift: Shift}
	if tk.mono.ok {
		line := tk.mono.clock()
		d.Clocks[clockMonotonic] = line
		d.Clocks[clockMonotonicCoarse] = line
		for _, c := range []struct {
			ids []int
			off *offset
		}{
			{[]int{clockRealtime, clockRealtimeCoarse}, &tk.real},
			{[]int{clockBoottime}, &tk.boot},
			{[]int{clockTAI}, &tk.tai},
		} {
			base := int64(line.Base) + c.off.ns
			if !c.off.ok || base < 0 || line.Base > math.MaxInt64 {
				continue
			}
			for _, id := range c.ids {
				d.Clocks[id] = Clock{Mult: line.Mult, Base: uint64(base), Frac: line.Frac}
			}
		}
	}
	if tk.raw.ok {
		d.Clocks[clockMonotonicRaw] = tk.raw.clock()
	}
	tk.last = d
	return d
}

// follow continues line l to ref, where its host clock reads host
// (reading r carried forward), and steers it there. The reading goes to
// the line's rate meter, unless the line is so far off that the host's
// clock and the TSC must have parted: then the meter starts again.
func follow(l *timeline, m *rateMeter, r Reading, host int64, ref uint64, period time.Duration) {
	l.advance(ref)
	if e := host - int64(l.base); l.ok && (e > int64(rebaseError) || e < -int64(rebaseError)) {
		m.restart(r)
	} else {
		m.add(r)
	}
	if m.rate == 0 {
		*l = timeline{}
		return
	}
	l.steer(ref, host, m.rate, period)
}

// stop stops serving anything from the page, until calibrated again.
func (tk *Timekeeper) stop() Data {
	tk.mono, tk.raw, tk.last = timeline{}, timeline{}, Data{}
	return tk.last
}

// restart forgets everything and takes s as the first sample.
func (tk *Timekeeper) restart(s *Sample) {
	*tk = Timekeeper{Period: tk.Period}
	tk.monoRate.add(s.Monotonic)
	tk.rawRate.add(s.Raw)
}
