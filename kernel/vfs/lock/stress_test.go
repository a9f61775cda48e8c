package lock

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var errStuck = errors.New("waited 10s: an undetected deadlock or a lost wake-up")

// TestStress runs processes that lock, unlock and wait on random ranges
// of two files concurrently, checking after every grant that no two
// owners hold conflicting locks, that each owner's locks are in canonical
// form, and at the end that nothing is left behind. Run it with -race.
func TestStress(t *testing.T) {
	var tb Table
	const procs, rounds = 8, 300
	var wg sync.WaitGroup
	errs := make(chan error, procs)
	for i := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &proc{int32(i + 1)}
			d := &desc{"d"}
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for range rounds {
				id := fileA
				if rng.IntN(2) == 0 {
					id = fileB
				}
				start := rng.Int64N(64)
				r := Range{start, start + rng.Int64N(16)}
				if rng.IntN(8) == 0 {
					r.End = MaxOffset
				}
				typ := []Type{Read, Write, Unlock}[rng.IntN(3)]
				var o Owner
				if rng.IntN(4) == 0 {
					o = OFDOwner(d)
				} else {
					o = p.owner()
				}
				var block BlockFunc
				if rng.IntN(2) == 0 && !o.id.ofd {
					// OFD locks and requests are not in the
					// waits-for graph, so a process that sleeps
					// while its description holds some, or that
					// sleeps in an OFD request while it holds
					// POSIX locks, could deadlock undetected, as
					// on Linux: sleep only in POSIX requests, and
					// drop the OFD locks first.
					tb.Set(fileA, OFDOwner(d), Unlock, Whole, nil)
					tb.Set(fileB, OFDOwner(d), Unlock, Whole, nil)
					block = func(wake <-chan struct{}) error {
						select {
						case <-wake:
							return nil
						case <-time.After(10 * time.Second):
							return errStuck
						}
					}
				}
				switch rng.IntN(10) {
				case 0:
					tb.ReleasePOSIX(id, p)
				case 1:
					if err := tb.Flock(id, d, typ, nil); err != nil && err != unix.EWOULDBLOCK {
						errs <- err
						return
					}
				default:
					err := tb.Set(id, o, typ, r, block)
					if err != nil && err != unix.EAGAIN && err != unix.EDEADLK {
						errs <- err
						return
					}
				}
				if err := checkInvariants(&tb); err != "" {
					t.Error(err)
					return
				}
			}
			tb.ReleaseProcess(p)
			tb.ReleaseFile(fileA, d)
			tb.ReleaseFile(fileB, d)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected error: %v", err)
	}
	checkEmpty(t, &tb)
}

// checkInvariants returns a description of the first broken invariant.
func checkInvariants(tb *Table) string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, e := range tb.files {
		seen := make(map[ownerID]bool)
		for i, a := range e.records {
			if !a.r.valid() || (a.typ != Read && a.typ != Write) {
				return "bad record"
			}
			if i > 0 && e.records[i-1].owner != a.owner && seen[a.owner] {
				return "an owner's locks are not together"
			}
			seen[a.owner] = true
			for j, b := range e.records {
				if i == j || !a.r.overlaps(b.r) {
					continue
				}
				if a.owner == b.owner {
					return "an owner's locks overlap"
				}
				if conflicts(a.typ, b.typ) {
					return "conflicting locks granted"
				}
			}
			if i > 0 && e.records[i-1].owner == a.owner {
				prev := e.records[i-1]
				if prev.r.Start >= a.r.Start {
					return "an owner's locks are not sorted"
				}
				if prev.typ == a.typ && touches(prev.r, a.r) {
					return "touching locks of one type not merged"
				}
			}
		}
		for i, a := range e.flocks {
			for j, b := range e.flocks {
				if i != j && (a.desc == b.desc || conflicts(a.typ, b.typ)) {
					return "conflicting flock locks"
				}
			}
		}
		if e.empty() {
			return "empty entry kept"
		}
	}
	return ""
}
