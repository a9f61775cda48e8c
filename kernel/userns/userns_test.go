package userns

import "testing"

func TestIdentity(t *testing.T) {
	if got := Identity.String(); got != "         0          0 4294967295\n" {
		t.Errorf("identity map reads %q", got)
	}
	for _, id := range []uint32{0, 1000, 65534, 1<<32 - 2} {
		if h, ok := Identity.ToHost(id); !ok || h != id {
			t.Errorf("ToHost(%d) = %d, %v", id, h, ok)
		}
		if c := Identity.FromHost(id); c != id {
			t.Errorf("FromHost(%d) = %d", id, c)
		}
	}
	if !Identity.IsIdentity() {
		t.Error("Identity is not the identity")
	}
}

func TestMap(t *testing.T) {
	// podman --uidmap 0:100000:1000 --uidmap 1000:1000:1 --uidmap 1001:101001:64535
	m, err := New([]Extent{{1001, 101001, 64535}, {0, 100000, 1000}, {1000, 1000, 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		inside, host uint32
	}{{0, 100000}, {999, 100999}, {1000, 1000}, {1001, 101001}, {65535, 165535}} {
		if h, ok := m.ToHost(c.inside); !ok || h != c.host {
			t.Errorf("ToHost(%d) = %d, %v; want %d", c.inside, h, ok, c.host)
		}
		if got := m.FromHost(c.host); got != c.inside {
			t.Errorf("FromHost(%d) = %d; want %d", c.host, got, c.inside)
		}
	}
	if m.Mapped(65536) {
		t.Error("65536 is mapped")
	}
	if got := m.FromHost(0); got != OverflowID {
		t.Errorf("host root reads as %d, want the overflow ID", got)
	}
	want := "         0     100000       1000\n      1000       1000          1\n      1001     101001      64535\n"
	if got := m.String(); got != want {
		t.Errorf("String:\n%s\nwant:\n%s", got, want)
	}
	if m.IsIdentity() {
		t.Error("a shifted map is the identity")
	}
}

func TestNewRefuses(t *testing.T) {
	for name, extents := range map[string][]Extent{
		"none":            nil,
		"empty extent":    {{0, 1000, 0}},
		"past the end":    {{0, 1<<32 - 10, 100}},
		"inside overlaps": {{0, 1000, 10}, {5, 5000, 10}},
		"host overlaps":   {{0, 1000, 10}, {100, 1005, 10}},
		"too many":        make([]Extent, maxExtents+1),
	} {
		if _, err := New(extents); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
