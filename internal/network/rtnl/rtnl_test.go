package rtnl

import (
	"bytes"
	"testing"
)

// TestAttrsRoundTrip encodes nested attributes and parses them back, and
// checks that a malformed buffer is an error, not a panic.
func TestAttrsRoundTrip(t *testing.T) {
	b := Nest(2, String(1, "mirred"), Uint32(3, 7), Nest(4)).Encode()
	outer, err := ParseAttrs(b)
	if err != nil || len(outer) != 1 || outer[0].Type != 2 {
		t.Fatalf("ParseAttrs = %v, %v", outer, err)
	}
	inner, err := ParseAttrs(outer[0].Value)
	if err != nil || len(inner) != 3 {
		t.Fatalf("the nest: %v, %v", inner, err)
	}
	if v, ok := Find(inner, 1); !ok || CString(v) != "mirred" {
		t.Errorf("attribute 1 = %q", v)
	}
	if v, ok := Find(inner, 3); !ok || !bytes.Equal(v, Uint32(3, 7).Value) {
		t.Errorf("attribute 3 = %x", v)
	}
	if v, ok := Find(inner, 4); !ok || len(v) != 0 {
		t.Errorf("the empty nest = %x, %v", v, ok)
	}
	for _, bad := range [][]byte{{0xff, 0, 1, 0}, {2, 0, 1, 0}, {12, 0, 1, 0, 'a', 'b'}} {
		if _, err := ParseAttrs(bad); err == nil {
			t.Errorf("ParseAttrs(%x) succeeded", bad)
		}
	}
}
