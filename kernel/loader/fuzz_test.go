package loader

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
)

// maxLoaderAlloc bounds what LoadELF may allocate for a file of n bytes
// whatever its headers claim: the headers, the copy buffer and errors.
func maxLoaderAlloc(n int) uint64 { return 1<<20 + uint64(n) }

// allocated returns the bytes allocated while running f.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// checkLoad runs LoadELF on data and checks what must hold for any input.
func checkLoad(t *testing.T, data []byte) {
	mem := newFakeMem()
	mem.discard = true
	var img *Image
	var err error
	alloc := allocated(func() {
		img, err = LoadELF(mem, bytes.NewReader(data), int64(len(data)))
	})
	if alloc > maxLoaderAlloc(len(data)) {
		t.Fatalf("LoadELF allocated %d bytes for a %d-byte file", alloc, len(data))
	}
	if err != nil {
		var errno unix.Errno
		if !errors.As(err, &errno) {
			t.Fatalf("error without an errno: %v", err)
		}
		if img != nil {
			t.Fatalf("image with error %v", err)
		}
		return
	}
	if img.Start%PageSize != 0 || img.End%PageSize != 0 || img.Start >= img.End ||
		img.Start < platform.MinUserAddress || img.End > platform.MaxUserAddress {
		t.Fatalf("image bounds %#x-%#x", img.Start, img.End)
	}
	if img.Entry >= platform.MaxUserAddress || img.BrkStart != img.End || mem.brk != img.BrkStart || mem.brkSet != 1 {
		t.Fatalf("image %+v, brk %#x", img, mem.brk)
	}
	if img.Phent != 56 || img.Phnum < 1 || img.Phnum > maxPhdrBytes/56 {
		t.Fatalf("image %+v", img)
	}
	for _, m := range mem.maps {
		if m.start < img.Start || m.end > img.End {
			t.Fatalf("mapping %+v outside the image %#x-%#x", m, img.Start, img.End)
		}
	}
	// Every segment's contents come from the file: at most a page more
	// per segment than the file holds, for each of at most 73 segments.
	if mem.written > uint64(maxPhdrBytes/56)*(uint64(len(data))+PageSize) {
		t.Fatalf("wrote %d bytes from a %d-byte file", mem.written, len(data))
	}
}

func FuzzLoadELF(f *testing.F) {
	f.Add(validSpec().bytes())
	pie := validSpec()
	pie.Type = elf.ET_DYN
	for i := range pie.Phdrs {
		if pie.Phdrs[i].Vaddr != 0 {
			pie.Phdrs[i].Vaddr -= 0x400000
		}
	}
	pie.Entry = 0x1000
	f.Add(pie.bytes())
	interp := validSpec()
	interp.Phdrs[4] = testPhdr{Type: elf.PT_INTERP, Off: 0x1d0, Filesz: 8}
	interp.Fill[0x1d0] = []byte("/lib/ld\x00")
	f.Add(interp.bytes())
	f.Add(withInterp(pieSpec(), "/lib/ld").bytes())
	for _, tc := range hostileCases() {
		spec := validSpec()
		if tc.mut != nil {
			tc.mut(spec)
		}
		b := spec.bytes()
		if tc.patch != nil {
			b = tc.patch(b)
		}
		f.Add(b)
	}
	// The head of a real binary: its headers, with contents cut off.
	if b, err := os.ReadFile("/bin/busybox"); err == nil && len(b) > 4096 {
		f.Add(b[:4096])
	}
	f.Fuzz(checkLoad)
}

// TestLoadBoundedAllocation feeds headers that claim huge sizes: neither
// the refusal nor a load with an enormous bss may allocate in proportion.
func TestLoadBoundedAllocation(t *testing.T) {
	huge := validSpec()
	huge.Phdrs[3].Filesz, huge.Phdrs[3].Memsz = 1<<44, 1<<44
	bigBSS := validSpec()
	bigBSS.Phdrs[3].Memsz = 1 << 44
	bigInterp := validSpec()
	bigInterp.Phdrs[4] = testPhdr{Type: elf.PT_INTERP, Off: 0, Filesz: 1 << 60}
	for name, spec := range map[string]*testELF{"huge filesz": huge, "huge bss": bigBSS, "huge PT_INTERP": bigInterp} {
		t.Run(name, func(t *testing.T) { checkLoad(t, spec.bytes()) })
	}
	// A large real file: the copy goes through a bounded buffer.
	if b, err := os.ReadFile("/bin/busybox"); err == nil {
		mem := newFakeMem()
		mem.discard = true
		alloc := allocated(func() {
			if _, err := LoadELF(mem, bytes.NewReader(b), int64(len(b))); err != nil {
				t.Fatal(err)
			}
		})
		if alloc > copyChunk+64<<10 {
			t.Errorf("loading busybox allocated %d bytes", alloc)
		}
	}
}

// checkLoadInterpreter loads data as the interpreter of a PIE and checks
// what must hold for any input.
func checkLoadInterpreter(t *testing.T, data []byte) {
	mem := newFakeMem()
	mem.discard = true
	exe := withInterp(pieSpec(), "/ld").bytes()
	img, err := LoadELF(mem, bytes.NewReader(exe), int64(len(exe)))
	if err != nil {
		t.Fatal(err)
	}
	maps := len(mem.maps)
	alloc := allocated(func() {
		err = LoadInterpreter(mem, img, bytes.NewReader(data), int64(len(data)))
	})
	if alloc > maxLoaderAlloc(len(data)) {
		t.Fatalf("LoadInterpreter allocated %d bytes for a %d-byte file", alloc, len(data))
	}
	if mem.brkSet != 1 || mem.brk != img.End {
		t.Fatalf("the interpreter moved the break to %#x", mem.brk)
	}
	if err != nil {
		var errno unix.Errno
		if !errors.As(err, &errno) {
			t.Fatalf("error without an errno: %v", err)
		}
		if errno == unix.ENOEXEC {
			t.Fatalf("ENOEXEC for an interpreter: %v", err)
		}
		if img.Interpreter != nil {
			t.Fatalf("interpreter with error %v", err)
		}
		return
	}
	in := img.Interpreter
	if in == nil || in.Interp != "" || in.Start%PageSize != 0 || in.End%PageSize != 0 || in.Start >= in.End ||
		in.Start < platform.MinUserAddress || in.End > platform.MaxUserAddress || in.Entry >= platform.MaxUserAddress {
		t.Fatalf("interpreter %+v", in)
	}
	if img.StartPC() != in.Entry {
		t.Fatalf("StartPC %#x, interpreter entry %#x", img.StartPC(), in.Entry)
	}
	if len(mem.maps) <= maps {
		t.Fatalf("interpreter loaded without a mapping")
	}
}

func FuzzLoadInterpreter(f *testing.F) {
	f.Add(pieSpec().bytes())
	f.Add(validSpec().bytes())
	f.Add(withInterp(pieSpec(), "/ld").bytes())
	for _, tc := range hostileCases() {
		spec := pieSpec()
		if tc.mut != nil {
			tc.mut(spec)
		}
		b := spec.bytes()
		if tc.patch != nil {
			b = tc.patch(b)
		}
		f.Add(b)
	}
	if b, err := os.ReadFile("/lib64/ld-linux-x86-64.so.2"); err == nil && len(b) > 4096 {
		f.Add(b[:4096])
	}
	f.Fuzz(checkLoadInterpreter)
}
