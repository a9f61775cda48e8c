package gofer

import (
	"sort"

	"magawa/kernel/memfile"
)

// This is tmpfs's page map (kernel/fs/tmpfs/pages.go), trimmed to what
// the page cache needs.

const pageSize = memfile.PageSize

func pageUp(n uint64) uint64 { return (n + pageSize - 1) &^ (pageSize - 1) }

// extent is a run of cached pages that lie contiguously in the memory
// file: file pages [page, page+n) are memory-file bytes
// [off, off+n*pageSize).
type extent struct {
	page, n, off uint64
}

func (e extent) end() uint64 { return e.page + e.n }

// pageMap is the set of a file's cached pages: extents sorted by page,
// disjoint, merged where they continue each other in both the file and
// the memory file.
type pageMap struct {
	exts []extent
}

// search returns the index of the first extent ending after page.
func (m *pageMap) search(page uint64) int {
	return sort.Search(len(m.exts), func(i int) bool { return m.exts[i].end() > page })
}

// lookup returns the memory-file offset of page and how many pages from
// it on lie contiguously there (ok), or, for a page not cached, how many
// pages follow before the next cached one (^0 - page if none).
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

// insert adds e, which must lie where nothing is cached, merging it with
// neighbours it continues.
func (m *pageMap) insert(e extent) {
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
