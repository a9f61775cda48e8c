package memfile

import "testing"

func TestAllocateFreeReuse(t *testing.T) {
	f, err := New(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := f.Allocate(100)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Allocate(2 * PageSize)
	if err != nil {
		t.Fatal(err)
	}
	if a == 0 || b < a+PageSize {
		t.Fatalf("overlapping allocations %#x %#x", a, b)
	}
	copy(f.Slice(a, PageSize), "dirty")
	f.Free(a, 100)
	c, err := f.Allocate(PageSize)
	if err != nil {
		t.Fatal(err)
	}
	if c != a {
		t.Errorf("freed range not reused: got %#x want %#x", c, a)
	}
	if got := f.Slice(c, 5); string(got) != "\x00\x00\x00\x00\x00" {
		t.Errorf("reused range not zeroed: %q", got)
	}
	if f.Used() != 3*PageSize {
		t.Errorf("used %d", f.Used())
	}
}

func TestExhaustionAndCoalescing(t *testing.T) {
	f, err := New(8 * PageSize)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var offs []uint64
	for i := 0; i < 7; i++ {
		o, err := f.Allocate(PageSize)
		if err != nil {
			t.Fatal(err)
		}
		offs = append(offs, o)
	}
	if _, err := f.Allocate(PageSize); err != ErrNoSpace {
		t.Fatalf("allocation from a full file: %v", err)
	}
	for _, i := range []int{1, 3, 2, 0, 6, 5, 4} {
		f.Free(offs[i], PageSize)
	}
	if len(f.free) != 1 {
		t.Fatalf("free list not coalesced: %v", f.free)
	}
	if _, err := f.Allocate(7 * PageSize); err != nil {
		t.Fatalf("whole file after frees: %v", err)
	}
}
