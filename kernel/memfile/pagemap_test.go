package memfile

import (
	"math/rand"
	"testing"
)

// TestPageMapModel checks PageMap against a plain map of page → offset
// under random inserts and removals.
func TestPageMapModel(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var m PageMap
	model := map[uint64]uint64{}
	nextOff := uint64(PageSize)
	for step := 0; step < 3000; step++ {
		page := uint64(rng.Intn(200))
		n := uint64(rng.Intn(8) + 1)
		if rng.Intn(3) > 0 {
			// Insert into the hole at page, if any, as writes do.
			if _, run, ok := m.Lookup(page); !ok {
				n = min(n, run)
				if rng.Intn(2) == 0 {
					nextOff += PageSize // not contiguous with the last
				}
				m.Insert(Extent{page, n, nextOff})
				for i := range n {
					model[page+i] = nextOff + i*PageSize
				}
				nextOff += n * PageSize
			}
		} else {
			freed := uint64(0)
			for _, r := range m.Remove(page, page+n) {
				freed += r.Len / PageSize
				for o := r.Off; o < r.Off+r.Len; o += PageSize {
					found := false
					for p, off := range model {
						if off == o && p >= page && p < page+n {
							delete(model, p)
							found = true
						}
					}
					if !found {
						t.Fatalf("step %d: removed offset %#x not in [%d, %d)", step, o, page, page+n)
					}
				}
			}
		}
		if m.pages != uint64(len(model)) {
			t.Fatalf("step %d: %d pages, model %d", step, m.pages, len(model))
		}
		for i := 1; i < len(m.exts); i++ {
			a, b := m.exts[i-1], m.exts[i]
			if a.End() > b.Page || a.End() == b.Page && a.Off+a.N*PageSize == b.Off {
				t.Fatalf("step %d: extents %v %v overlap or should merge", step, a, b)
			}
		}
	}
	for p := uint64(0); p < 210; p++ {
		off, _, ok := m.Lookup(p)
		want, has := model[p]
		if ok != has || ok && off != want {
			t.Fatalf("page %d: %#x %v, model %#x %v", p, off, ok, want, has)
		}
		if d, ok := m.NextData(p); ok {
			if _, has := model[d]; !has {
				t.Fatalf("nextData(%d) = %d, a hole", p, d)
			}
		}
		h := m.NextHole(p)
		if _, has := model[h]; has || h < p {
			t.Fatalf("nextHole(%d) = %d", p, h)
		}
	}
}
