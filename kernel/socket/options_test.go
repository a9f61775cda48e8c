package socket

import "testing"

// TestBufferSize checks SO_RCVBUF's arithmetic against what Linux 6.x
// reads back: doubled, a negative plain value taken as huge and capped,
// a negative FORCE value as 0, a FORCE value past the maximum kept.
func TestBufferSize(t *testing.T) {
	for _, c := range []struct {
		v     int32
		force bool
		want  int
	}{
		{8192, false, 16384},
		{1, false, 2},
		{-1, false, 2 * MaxBuffer},
		{1 << 30, false, 2 * MaxBuffer},
		{1 << 20, true, 2 << 20},
		{-1, true, 0},
		{1<<31 - 1, true, (1<<31 - 1) / 2 * 2},
	} {
		if got := BufferSize(c.v, c.force); got != c.want {
			t.Errorf("BufferSize(%d, force %v) = %d, want %d", c.v, c.force, got, c.want)
		}
	}
}
