package memfile

import (
	"sort"
)

// Extent is a run of a file's pages that lie contiguously in the memory
// file: file pages [page, page+n) are memory-file bytes
// [off, off+n*PageSize).
type Extent struct {
	Page, N, Off uint64
}

// End is the page after the extent.
func (e Extent) End() uint64 { return e.Page + e.N }

// PageMap is the set of a file's pages in the memory file (tmpfs's data,
// the gofer's page cache): extents sorted by page,
// disjoint, merged where they continue each other in both the file and
// the memory file. Pages outside every Extent are holes.
type PageMap struct {
	exts  []Extent
	pages uint64 // total pages in exts
}

// search returns the index of the first Extent ending after page.
func (m *PageMap) search(page uint64) int {
	return sort.Search(len(m.exts), func(i int) bool { return m.exts[i].End() > page })
}

// Lookup returns the memory-file offset of page and how many pages from
// it on lie contiguously there (ok), or, for a hole, how many pages the
// hole has before the next allocated page (^0 - page if none).
func (m *PageMap) Lookup(page uint64) (off, run uint64, ok bool) {
	i := m.search(page)
	if i == len(m.exts) {
		return 0, ^uint64(0) - page, false
	}
	e := m.exts[i]
	if e.Page > page {
		return 0, e.Page - page, false
	}
	return e.Off + (page-e.Page)*PageSize, e.End() - page, true
}

// Insert adds e, which must lie in a hole, merging it with neighbours it
// continues.
func (m *PageMap) Insert(e Extent) {
	m.pages += e.N
	i := m.search(e.Page)
	if i > 0 {
		if p := &m.exts[i-1]; p.End() == e.Page && p.Off+p.N*PageSize == e.Off {
			p.N += e.N
			if i < len(m.exts) {
				if q := m.exts[i]; e.End() == q.Page && e.Off+e.N*PageSize == q.Off {
					p.N += q.N
					m.exts = append(m.exts[:i], m.exts[i+1:]...)
				}
			}
			return
		}
	}
	if i < len(m.exts) {
		if q := &m.exts[i]; e.End() == q.Page && e.Off+e.N*PageSize == q.Off {
			q.Page, q.Off, q.N = e.Page, e.Off, q.N+e.N
			return
		}
	}
	m.exts = append(m.exts, Extent{})
	copy(m.exts[i+1:], m.exts[i:])
	m.exts[i] = e
}

// Remove takes pages [start, end) out of the map and returns the
// memory-file ranges they occupied.
func (m *PageMap) Remove(start, end uint64) []Range {
	if start >= end {
		return nil
	}
	var out []Range
	i := m.search(start)
	var keep []Extent
	j := i
	for ; j < len(m.exts) && m.exts[j].Page < end; j++ {
		e := m.exts[j]
		s, t := max(e.Page, start), min(e.End(), end)
		out = append(out, Range{Off: e.Off + (s-e.Page)*PageSize, Len: (t - s) * PageSize})
		m.pages -= t - s
		if e.Page < s {
			keep = append(keep, Extent{e.Page, s - e.Page, e.Off})
		}
		if t < e.End() {
			keep = append(keep, Extent{t, e.End() - t, e.Off + (t-e.Page)*PageSize})
		}
	}
	m.exts = append(m.exts[:i], append(keep, m.exts[j:]...)...)
	return out
}

// Ranges returns the memory-file ranges of every page.
func (m *PageMap) Ranges() []Range {
	out := make([]Range, len(m.exts))
	for i, e := range m.exts {
		out[i] = Range{Off: e.Off, Len: e.N * PageSize}
	}
	return out
}

// NextData returns the first allocated page at or after page, or false.
func (m *PageMap) NextData(page uint64) (uint64, bool) {
	i := m.search(page)
	if i == len(m.exts) {
		return 0, false
	}
	return max(page, m.exts[i].Page), true
}

// NextHole returns the first hole page at or after page.
func (m *PageMap) NextHole(page uint64) uint64 {
	for i := m.search(page); i < len(m.exts) && m.exts[i].Page <= page; i++ {
		page = m.exts[i].End()
	}
	return page
}

// Extents returns the map's extents, in page order (not to be changed).
func (m *PageMap) Extents() []Extent { return m.exts }

// Pages returns the number of pages in the map.
func (m *PageMap) Pages() uint64 { return m.pages }
