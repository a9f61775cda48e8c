package userns

import (
	"fmt"
	"sort"
	"strings"
)

// OverflowID is what an ID outside the map reads as: Linux's default
// overflowuid and overflowgid (/proc/sys/kernel/overflowuid).
const OverflowID = 65534

// maxExtents is Linux's limit on the lines of a uid_map (since 4.15).
const maxExtents = 340

// Extent maps Count IDs from Inside (the container's) to Outside (the
// host's).
type Extent struct {
	Inside, Outside, Count uint32
}

// Map is one direction-agnostic ID map: user IDs or group IDs.
type Map struct {
	extents []Extent // sorted by Inside
}

// Identity maps every ID to itself, as Linux's initial user namespace
// does.
var Identity = &Map{extents: []Extent{{0, 0, 1<<32 - 1}}}

// New checks extents as writing them to a uid_map would (Linux:
// kernel/user_namespace.c, map_write: no empty extent, no range past
// 2^32-1, no overlap of either side, at most 340 lines) and returns
// the map.
func New(extents []Extent) (*Map, error) {
	if len(extents) == 0 {
		return nil, fmt.Errorf("an ID map needs at least one extent")
	}
	if len(extents) > maxExtents {
		return nil, fmt.Errorf("%d extents: at most %d", len(extents), maxExtents)
	}
	m := &Map{extents: append([]Extent(nil), extents...)}
	for i, e := range m.extents {
		if e.Count == 0 {
			return nil, fmt.Errorf("extent %d: zero IDs", i)
		}
		if uint64(e.Inside)+uint64(e.Count) > 1<<32-1 || uint64(e.Outside)+uint64(e.Count) > 1<<32-1 {
			return nil, fmt.Errorf("extent %d (%d %d %d): past the last ID", i, e.Inside, e.Outside, e.Count)
		}
	}
	for i, a := range m.extents {
		for _, b := range m.extents[i+1:] {
			if overlap(a.Inside, a.Count, b.Inside, b.Count) || overlap(a.Outside, a.Count, b.Outside, b.Count) {
				return nil, fmt.Errorf("extents (%d %d %d) and (%d %d %d) overlap",
					a.Inside, a.Outside, a.Count, b.Inside, b.Outside, b.Count)
			}
		}
	}
	sort.Slice(m.extents, func(i, j int) bool { return m.extents[i].Inside < m.extents[j].Inside })
	return m, nil
}

func overlap(a, n, b, m uint32) bool {
	return uint64(a) < uint64(b)+uint64(m) && uint64(b) < uint64(a)+uint64(n)
}

// Mapped reports whether the container's ID id has a host ID.
func (m *Map) Mapped(id uint32) bool {
	_, ok := m.ToHost(id)
	return ok
}

// ToHost returns the host ID of the container's ID id.
func (m *Map) ToHost(id uint32) (uint32, bool) {
	for _, e := range m.extents {
		if id >= e.Inside && uint64(id) < uint64(e.Inside)+uint64(e.Count) {
			return e.Outside + (id - e.Inside), true
		}
	}
	return 0, false
}

// FromHost returns the container's ID of the host's ID id, or
// OverflowID when the map does not reach it.
func (m *Map) FromHost(id uint32) uint32 {
	for _, e := range m.extents {
		if id >= e.Outside && uint64(id) < uint64(e.Outside)+uint64(e.Count) {
			return e.Inside + (id - e.Outside)
		}
	}
	return OverflowID
}

// IsIdentity reports whether every ID maps to itself.
func (m *Map) IsIdentity() bool {
	return len(m.extents) == 1 && m.extents[0] == Identity.extents[0]
}

// String formats the map as /proc/PID/uid_map does (Linux:
// kernel/user_namespace.c, uid_m_show), seen from inside the namespace:
// the container's ID, the host's, the count.
func (m *Map) String() string {
	var b strings.Builder
	for _, e := range m.extents {
		fmt.Fprintf(&b, "%10d %10d %10d\n", e.Inside, e.Outside, e.Count)
	}
	return b.String()
}
