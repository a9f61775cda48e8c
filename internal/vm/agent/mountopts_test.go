package agent

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMountOptions(t *testing.T) {
	for _, tc := range []struct {
		options     []string
		flags       uintptr
		propagation int
		data        string
	}{
		{[]string{"nosuid", "strictatime", "mode=755", "size=65536k"}, unix.MS_NOSUID | unix.MS_STRICTATIME, 0, "mode=755,size=65536k"},
		{[]string{"rbind", "ro", "rprivate"}, unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY, 1, ""},
		{[]string{"ro", "rw", "nodev", "dev"}, 0, 0, ""},
		{[]string{"nosuid", "noexec", "nodev", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}, unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV, 0, "newinstance,ptmxmode=0666,mode=0620,gid=5"},
	} {
		flags, prop, data := parseMountOptions(tc.options)
		if flags != tc.flags || len(prop) != tc.propagation || data != tc.data {
			t.Errorf("parseMountOptions(%q) = %#x, %d propagation, %q; want %#x, %d, %q", tc.options, flags, len(prop), data, tc.flags, tc.propagation, tc.data)
		}
	}
}
