package memfile

import (
	"math/rand"
	"testing"

	"golang.org/x/sys/unix"
)

func newFile(t *testing.T, size uint64) *File {
	t.Helper()
	f, err := New(size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// checkRefs verifies the invariants of the span list.
func checkRefs(t *testing.T, f *File) {
	t.Helper()
	for i, s := range f.refs {
		if s.len == 0 || s.refs < 2 || s.off%PageSize != 0 || s.len%PageSize != 0 {
			t.Fatalf("bad span %d: %+v", i, s)
		}
		if i > 0 {
			p := f.refs[i-1]
			if p.off+p.len > s.off {
				t.Fatalf("spans %d and %d overlap or are unsorted: %+v %+v", i-1, i, p, s)
			}
			if p.off+p.len == s.off && p.refs == s.refs {
				t.Fatalf("spans %d and %d not coalesced: %+v %+v", i-1, i, p, s)
			}
		}
	}
}

func TestIncRefDecRef(t *testing.T) {
	f := newFile(t, 1<<20)
	off, err := f.Allocate(4 * PageSize)
	if err != nil {
		t.Fatal(err)
	}
	copy(f.Slice(off, 4*PageSize), "page0")
	copy(f.Slice(off+PageSize, PageSize), "page1")
	f.IncRef(off+PageSize, 2*PageSize)
	checkRefs(t, f)
	if !f.Shared(off, 2*PageSize) || f.Shared(off, PageSize) || f.Shared(off+3*PageSize, PageSize) {
		t.Errorf("Shared wrong: %+v", f.refs)
	}
	// Dropping the whole range frees only the outer pages.
	f.DecRef(off, 4*PageSize)
	checkRefs(t, f)
	if got := f.Used(); got != 2*PageSize {
		t.Errorf("used %d after the first DecRef, want %d", got, 2*PageSize)
	}
	if len(f.refs) != 0 {
		t.Errorf("spans left: %+v", f.refs)
	}
	if got := string(f.Slice(off+PageSize, 5)); got != "page1" {
		t.Errorf("shared page lost its data: %q", got)
	}
	if got := f.Slice(off, 5); string(got) != "\x00\x00\x00\x00\x00" {
		t.Errorf("freed page not punched: %q", got)
	}
	f.DecRef(off+PageSize, 2*PageSize)
	if got := f.Used(); got != 0 {
		t.Errorf("used %d after the last DecRef", got)
	}
	if len(f.free) != 1 {
		t.Errorf("free list not coalesced: %v", f.free)
	}
}

func TestLargeRangeIsOneSpan(t *testing.T) {
	f := newFile(t, 4<<30)
	const gib = 1 << 30
	off, err := f.Allocate(gib)
	if err != nil {
		t.Fatal(err)
	}
	f.IncRef(off, gib)
	f.IncRef(off, gib/2)
	checkRefs(t, f)
	if len(f.refs) != 2 {
		t.Fatalf("%d spans for two shared ranges: %+v", len(f.refs), f.refs)
	}
	f.DecRef(off, gib/2)
	checkRefs(t, f)
	if len(f.refs) != 1 || f.refs[0] != (refSpan{off, gib, 2}) {
		t.Fatalf("spans %+v, want one of count 2", f.refs)
	}
	f.DecRef(off, gib)
	f.DecRef(off, gib)
	if f.Used() != 0 || len(f.refs) != 0 {
		t.Errorf("used %d, spans %+v", f.Used(), f.refs)
	}
}

func TestRefRangesBatch(t *testing.T) {
	f := newFile(t, 1<<20)
	off, _ := f.Allocate(16 * PageSize)
	// Unsorted and overlapping ranges, some empty.
	rs := []Range{{off + 8*PageSize, 4 * PageSize}, {off, 2 * PageSize}, {off + 10*PageSize, 4 * PageSize}, {off + 5*PageSize, 0}}
	f.IncRefRanges(rs)
	checkRefs(t, f)
	want := []refSpan{{off, 2 * PageSize, 2}, {off + 8*PageSize, 2 * PageSize, 2}, {off + 10*PageSize, 2 * PageSize, 3}, {off + 12*PageSize, 2 * PageSize, 2}}
	if len(f.refs) != len(want) {
		t.Fatalf("spans %+v, want %+v", f.refs, want)
	}
	for i := range want {
		if f.refs[i] != want[i] {
			t.Fatalf("spans %+v, want %+v", f.refs, want)
		}
	}
	f.DecRefRanges(rs)
	if len(f.refs) != 0 || f.Used() != 16*PageSize {
		t.Fatalf("after undoing: spans %+v, used %d", f.refs, f.Used())
	}
}

func TestFreeIsDecRef(t *testing.T) {
	f := newFile(t, 1<<20)
	off, _ := f.Allocate(2 * PageSize)
	f.IncRef(off, PageSize)
	f.Free(off, 2*PageSize)
	if f.Used() != PageSize {
		t.Errorf("used %d after freeing a half-shared range", f.Used())
	}
	f.Free(off, PageSize)
	if f.Used() != 0 {
		t.Errorf("used %d", f.Used())
	}
}

func TestDecRefBelowZeroPanics(t *testing.T) {
	f := newFile(t, 1<<20)
	off, _ := f.Allocate(PageSize)
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	f.DecRefRanges([]Range{{off, PageSize}, {off, PageSize}})
}

// TestRefsAgainstModel runs random reference operations against a
// per-page model.
func TestRefsAgainstModel(t *testing.T) {
	const pages = 256
	f := newFile(t, (pages+1)*PageSize)
	base, err := f.Allocate(pages * PageSize)
	if err != nil {
		t.Fatal(err)
	}
	model := make([]int, pages) // references per page; 0 = freed
	for i := range model {
		model[i] = 1
	}
	rng := rand.New(rand.NewSource(1))
	for step := 0; step < 5000; step++ {
		// A random range of pages that are all held.
		a := rng.Intn(pages)
		if model[a] == 0 {
			continue
		}
		b := a
		for b < pages && model[b] > 0 && b-a < 40 && rng.Intn(30) != 0 {
			b++
		}
		if b == a {
			b = a + 1
		}
		off, length := base+uint64(a)*PageSize, uint64(b-a)*PageSize
		if rng.Intn(2) == 0 {
			f.IncRef(off, length)
			for p := a; p < b; p++ {
				model[p]++
			}
		} else {
			f.DecRef(off, length)
			for p := a; p < b; p++ {
				model[p]--
			}
		}
		checkRefs(t, f)
		used := uint64(0)
		for p, n := range model {
			if n > 0 {
				used += PageSize
			}
			if got := f.Shared(base+uint64(p)*PageSize, PageSize); got != (n > 1) {
				t.Fatalf("step %d: page %d has %d references, Shared = %v", step, p, n, got)
			}
		}
		if f.Used() != used {
			t.Fatalf("step %d: used %d, model %d", step, f.Used(), used)
		}
	}
	// Freed pages are allocatable again and nothing overlaps.
	for p, n := range model {
		for ; n > 0; n-- {
			f.DecRef(base+uint64(p)*PageSize, PageSize)
		}
	}
	if f.Used() != 0 || len(f.refs) != 0 || len(f.free) != 1 {
		t.Fatalf("after dropping everything: used %d, spans %+v, free %v", f.Used(), f.refs, f.free)
	}
}

func TestCopySkipsHoles(t *testing.T) {
	f := newFile(t, 16<<20)
	const n = 2 << 20
	src, _ := f.Allocate(n)
	dst, _ := f.Allocate(n)
	copy(f.Slice(src+3*PageSize+7, 5), "three")
	copy(f.Slice(src+n-PageSize, 4), "last")
	f.Copy(dst, src, n)
	if got := string(f.Slice(dst+3*PageSize+7, 5)); got != "three" {
		t.Errorf("copied %q", got)
	}
	if got := string(f.Slice(dst+n-PageSize, 4)); got != "last" {
		t.Errorf("copied %q", got)
	}
	// The holes stayed holes on both sides.
	for _, off := range []uint64{src, dst} {
		data, err := unix.Seek(f.FD(), int64(off), unix.SEEK_DATA)
		if err != nil || uint64(data) != off+3*PageSize {
			t.Errorf("first data at or after %#x: %#x, %v; want %#x", off, data, err, off+3*PageSize)
		}
	}
}
