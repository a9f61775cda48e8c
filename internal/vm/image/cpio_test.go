package image

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"
)

// cpioEntry is an entry read back from a newc archive.
type cpioEntry struct {
	name         string
	mode         uint32
	data         []byte
	major, minor uint32
}

// readCPIO parses a newc archive as the kernel does, checking the
// alignment of every header and data.
func readCPIO(t *testing.T, b []byte) []cpioEntry {
	t.Helper()
	var out []cpioEntry
	off := 0
	field := func(i int) uint32 {
		v, err := strconv.ParseUint(string(b[off+6+8*i:off+6+8*i+8]), 16, 32)
		if err != nil {
			t.Fatalf("header field %d at %d: %v", i, off, err)
		}
		return uint32(v)
	}
	for {
		if off%4 != 0 {
			t.Fatalf("header at %d is not aligned", off)
		}
		if string(b[off:off+6]) != "070701" {
			t.Fatalf("bad magic at %d: %q", off, b[off:off+6])
		}
		mode, size, major, minor, nameSize := field(1), field(6), field(9), field(10), field(11)
		name := string(b[off+110 : off+110+int(nameSize)-1])
		if b[off+110+int(nameSize)-1] != 0 {
			t.Fatalf("%s: name not NUL-terminated", name)
		}
		dataOff := (off + 110 + int(nameSize) + 3) &^ 3
		data := b[dataOff : dataOff+int(size)]
		off = (dataOff + int(size) + 3) &^ 3
		if name == "TRAILER!!!" {
			if off != len(b) {
				t.Fatalf("%d bytes after the trailer", len(b)-off)
			}
			return out
		}
		out = append(out, cpioEntry{name, mode, append([]byte(nil), data...), major, minor})
	}
}

func TestCPIOWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewCPIOWriter(&buf)
	w.Dir("dev", 0o755)
	w.CharDevice("dev/console", 0o600, 5, 1)
	w.File("init", 0o755, []byte("#!/bin/sh\n"))
	w.Symlink("bin", "usr/bin")
	// Sizes around the alignment.
	for n := 0; n < 6; n++ {
		w.File(fmt.Sprintf("f%d", n), 0o644, bytes.Repeat([]byte{'x'}, n))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	entries := readCPIO(t, buf.Bytes())
	want := []cpioEntry{
		{"dev", modeDir | 0o755, nil, 0, 0},
		{"dev/console", modeChar | 0o600, nil, 5, 1},
		{"init", modeRegular | 0o755, []byte("#!/bin/sh\n"), 0, 0},
		{"bin", modeSymlink | 0o777, []byte("usr/bin"), 0, 0},
	}
	for n := 0; n < 6; n++ {
		want = append(want, cpioEntry{fmt.Sprintf("f%d", n), modeRegular | 0o644, bytes.Repeat([]byte{'x'}, n), 0, 0})
	}
	if len(entries) != len(want) {
		t.Fatalf("%d entries, want %d", len(entries), len(want))
	}
	for i, e := range entries {
		w := want[i]
		if e.name != w.name || e.mode != w.mode || !bytes.Equal(e.data, w.data) || e.major != w.major || e.minor != w.minor {
			t.Errorf("entry %d = %+v, want %+v", i, e, w)
		}
	}
}

func TestCPIOWriterRefusesBadNames(t *testing.T) {
	for _, name := range []string{"", "/init", "a/../b", "./a", "a//b", "a/", "a\x00b"} {
		w := NewCPIOWriter(&bytes.Buffer{})
		if err := w.File(name, 0o644, nil); err == nil {
			t.Errorf("File(%q) succeeded", name)
		}
	}
	w := NewCPIOWriter(&bytes.Buffer{})
	w.Close()
	if err := w.File("late", 0o644, nil); err == nil {
		t.Error("File after Close succeeded")
	}
}
