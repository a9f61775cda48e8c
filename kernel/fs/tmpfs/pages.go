package tmpfs

import (
	"sort"

	"magawa/kernel/memfile"
)

const pageSize = memfile.PageSize

// extent is a run of a file's pages that lie contiguously in the memory
// file: file pages [page, page+n) are memory-file bytes
// [off, off+n*pageSize).
type extent struct {
	page, n, off uint64
}

func (e extent) end() uint64 { return e.page + e.n }

// pageMap is the set of a file's allocated pages: extents sorted by page,
// disjoint, merged where they continue each other in both the file and
// the memory file. Pages outside every extent are holes.
type pageMap struct {
	exts  []extent
	pages uint64 // total pages in exts
}

// search returns the index of the first extent ending after page.
func (m *pageMap) search(page uint64) int {
	return sort.Search(len(m.exts), func(i int) bool { return m.exts[i].end() > page })
}

// lookup returns the memory-file offset of page and how many pages from
// it on lie contiguously there (ok), or, for a hole, how many pages the
// hole has before the next allocated page (^0 - page if none).
func (m *pageMap) lookup(page uint64) (off, run uint64, ok bool) {
	i := m.search(page)
	if i == len(m.exts) {
		return 0, ^uint64(0) - page, false
	}
	e := m.exts[i]
	if e.page > page {
		return 0, e.page - page, false
	}
	return e.off + (page-e.page)*pageSize, e.end() - page, true
}

// insert adds e, which must lie in a hole, merging it with neighbours it
// continues.
func (m *pageMap) insert(e extent) {
	m.pages += e.n
	i := m.search(e.page)
	if i > 0 {
		if p := &m.exts[i-1]; p.end() == e.page && p.off+p.n*pageSize == e.off {
			p.n += e.n
			if i < len(m.exts) {
				if q := m.exts[i]; e.end() == q.page && e.off+e.n*pageSize == q.off {
					p.n += q.n
					m.exts = append(m.exts[:i], m.exts[i+1:]...)
				}
			}
			return
		}
	}
	if i < len(m.exts) {
		if q := &m.exts[i]; e.end() == q.page && e.off+e.n*pageSize == q.off {
			q.page, q.off, q.n = e.page, e.off, q.n+e.n
			return
		}
	}
	m.exts = append(m.exts, extent{})
	copy(m.exts[i+1:], m.exts[i:])
	m.exts[i] = e
}

// remove takes pages [start, end) out of the map and returns the
// memory-file ranges they occupied.
func (m *pageMap) remove(start, end uint64) []memfile.Range {
	if start >= end {
		return nil
	}
	var out []memfile.Range
	i := m.search(start)
	var keep []extent
	j := i
	for ; j < len(m.exts) && m.exts[j].page < end; j++ {
		e := m.exts[j]
		s, t := max(e.page, start), min(e.end(), end)
		out = append(out, memfile.Range{Off: e.off + (s-e.page)*pageSize, Len: (t - s) * pageSize})
		m.pages -= t - s
		if e.page < s {
			keep = append(keep, extent{e.page, s - e.page, e.off})
		}
		if t < e.end() {
			keep = append(keep, extent{t, e.end() - t, e.off + (t-e.page)*pageSize})
		}
	}
	m.exts = append(m.exts[:i], append(keep, m.exts[j:]...)...)
	return out
}

// ranges returns the memory-file ranges of every page.
func (m *pageMap) ranges() []memfile.Range {
	out := make([]memfile.Range, len(m.exts))
	for i, e := range m.exts {
		out[i] = memfile.Range{Off: e.off, Len: e.n * pageSize}
	}
	return out
}

// nextData returns the first allocated page at or after page, or false.
func (m *pageMap) nextData(page uint64) (uint64, bool) {
	i := m.search(page)
	if i == len(m.exts) {
		return 0, false
	}
	return max(page, m.exts[i].page), true
}

// nextHole returns the first hole page at or after page.
func (m *pageMap) nextHole(page uint64) uint64 {
	for i := m.search(page); i < len(m.exts) && m.exts[i].page <= page; i++ {
		page = m.exts[i].end()
	}
	return page
}
