package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
)

// testPhdr and testELF describe a synthetic executable; bytes() lays it
// out, and hostile variants are made by changing fields.
type testPhdr struct {
	Type                              elf.ProgType
	Flags                             elf.ProgFlag
	Off, Vaddr, Filesz, Memsz, PAlign uint64
}

type testELF struct {
	Class, Data, Version byte
	Type                 elf.Type
	Machine              elf.Machine
	Entry, Phoff         uint64
	Phentsize, Phnum     uint16
	Phdrs                []testPhdr
	Size                 uint64
	Fill                 map[uint64][]byte // file contents by offset
}

// exitCode is "mov $60, %eax; xor %edi, %edi; syscall".
var exitCode = []byte{0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05}

// validSpec is a small well-formed static ET_EXEC: a read-only page with
// the headers, one page of code, and data followed by bss.
func validSpec() *testELF {
	data := make([]byte, 0x20)
	for i := range data {
		data[i] = byte(i + 1)
	}
	return &testELF{
		Class: byte(elf.ELFCLASS64), Data: byte(elf.ELFDATA2LSB), Version: byte(elf.EV_CURRENT),
		Type: elf.ET_EXEC, Machine: elf.EM_X86_64,
		Entry: 0x401000, Phoff: 64, Phentsize: 56, Phnum: 5,
		Phdrs: []testPhdr{
			{Type: elf.PT_PHDR, Flags: elf.PF_R, Off: 64, Vaddr: 0x400040, Filesz: 5 * 56, Memsz: 5 * 56, PAlign: 8},
			{Type: elf.PT_LOAD, Flags: elf.PF_R, Off: 0, Vaddr: 0x400000, Filesz: 0x200, Memsz: 0x200, PAlign: 0x1000},
			{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_X, Off: 0x1000, Vaddr: 0x401000, Filesz: 0x10, Memsz: 0x10, PAlign: 0x1000},
			{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_W, Off: 0x2000, Vaddr: 0x402000, Filesz: 0x20, Memsz: 0x3000, PAlign: 0x1000},
			{Type: elf.PT_GNU_STACK, Flags: elf.PF_R | elf.PF_W},
		},
		Size: 0x2020,
		Fill: map[uint64][]byte{0x1000: exitCode, 0x2000: data},
	}
}

func (e *testELF) bytes() []byte {
	b := make([]byte, e.Size)
	var h [64]byte
	copy(h[:], "\x7fELF")
	h[elf.EI_CLASS], h[elf.EI_DATA], h[elf.EI_VERSION] = e.Class, e.Data, e.Version
	le := binary.LittleEndian
	le.PutUint16(h[16:], uint16(e.Type))
	le.PutUint16(h[18:], uint16(e.Machine))
	le.PutUint32(h[20:], 1)
	le.PutUint64(h[24:], e.Entry)
	le.PutUint64(h[32:], e.Phoff)
	le.PutUint16(h[52:], 64)
	le.PutUint16(h[54:], e.Phentsize)
	le.PutUint16(h[56:], e.Phnum)
	copy(b, h[:])
	for i, p := range e.Phdrs {
		var ph [56]byte
		le.PutUint32(ph[0:], uint32(p.Type))
		le.PutUint32(ph[4:], uint32(p.Flags))
		le.PutUint64(ph[8:], p.Off)
		le.PutUint64(ph[16:], p.Vaddr)
		le.PutUint64(ph[24:], p.Vaddr)
		le.PutUint64(ph[32:], p.Filesz)
		le.PutUint64(ph[40:], p.Memsz)
		le.PutUint64(ph[48:], p.PAlign)
		off := e.Phoff + uint64(i)*56
		if off < e.Size {
			copy(b[off:], ph[:])
		}
	}
	for off, data := range e.Fill {
		if off < e.Size {
			copy(b[off:], data)
		}
	}
	return b
}

func loadBytes(t testing.TB, mem *fakeMem, b []byte) (*Image, error) {
	t.Helper()
	return LoadELF(mem, bytes.NewReader(b), int64(len(b)))
}

func mustRead(t *testing.T, mem *fakeMem, addr, n uintptr) []byte {
	t.Helper()
	b, err := mem.read(addr, n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadSynthetic(t *testing.T) {
	spec := validSpec()
	file := spec.bytes()
	mem := newFakeMem()
	img, err := loadBytes(t, mem, file)
	if err != nil {
		t.Fatal(err)
	}
	want := Image{
		Entry: 0x401000, PhdrAddr: 0x400040, Phnum: 5, Phent: 56,
		Start: 0x400000, End: 0x405000, BrkStart: 0x405000,
	}
	if *img != want {
		t.Errorf("image = %+v, want %+v", *img, want)
	}
	wantMaps := []fakeMapping{
		{0x400000, 0x401000, unix.PROT_READ, ""},
		{0x401000, 0x402000, unix.PROT_READ | unix.PROT_EXEC, ""},
		{0x402000, 0x405000, unix.PROT_READ | unix.PROT_WRITE, ""},
	}
	if len(mem.maps) != len(wantMaps) {
		t.Fatalf("mappings = %+v, want %+v", mem.maps, wantMaps)
	}
	for i := range wantMaps {
		if mem.maps[i] != wantMaps[i] {
			t.Errorf("mapping %d = %+v, want %+v", i, mem.maps[i], wantMaps[i])
		}
	}
	if mem.brk != 0x405000 || mem.brkSet != 1 {
		t.Errorf("brk = %#x (set %d times), want 0x405000 once", mem.brk, mem.brkSet)
	}
	if got := mustRead(t, mem, 0x400000, 0x200); !bytes.Equal(got, file[:0x200]) {
		t.Error("headers page differs from the file")
	}
	if got := mustRead(t, mem, 0x401000, 0x10); !bytes.Equal(got, file[0x1000:0x1010]) {
		t.Errorf("code = %x", got)
	}
	if got := mustRead(t, mem, 0x402000, 0x20); !bytes.Equal(got, file[0x2000:0x2020]) {
		t.Errorf("data = %x", got)
	}
	if got := mustRead(t, mem, 0x402020, 0x3000-0x20); !bytes.Equal(got, make([]byte, 0x3000-0x20)) {
		t.Error("bss is not zero")
	}
	// Beyond p_filesz in the last file page stays zero too.
	if got := mustRead(t, mem, 0x401010, 0x10); !bytes.Equal(got, make([]byte, 0x10)) {
		t.Errorf("tail of code page = %x, want zeros", got)
	}
}

func TestLoadSharedPages(t *testing.T) {
	// Three segments in one page, then one that starts in that page and
	// runs on: the page is mapped once with the union of protections.
	spec := validSpec()
	spec.Phdrs = []testPhdr{
		{Type: elf.PT_LOAD, Flags: elf.PF_R, Off: 0, Vaddr: 0x400000, Filesz: 0x200, Memsz: 0x200},
		{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_X, Off: 0x1000, Vaddr: 0x401000, Filesz: 0x800, Memsz: 0x800},
		{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_W, Off: 0x1800, Vaddr: 0x401800, Filesz: 0x10, Memsz: 0x100},
		{Type: elf.PT_LOAD, Flags: elf.PF_R, Off: 0x1a00, Vaddr: 0x401a00, Filesz: 0x100, Memsz: 0x100},
		{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_W, Off: 0x1c00, Vaddr: 0x401c00, Filesz: 0x1800, Memsz: 0x2800},
	}
	spec.Phnum = uint16(len(spec.Phdrs))
	spec.Size = 0x3400
	spec.Fill = map[uint64][]byte{}
	fill := make([]byte, 0x3400-0x1000)
	for i := range fill {
		fill[i] = byte(i*7 + 3)
	}
	spec.Fill[0x1000] = fill
	file := spec.bytes()
	mem := newFakeMem()
	if _, err := loadBytes(t, mem, file); err != nil {
		t.Fatal(err)
	}
	rwx := unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC
	wantMaps := []fakeMapping{
		{0x400000, 0x401000, unix.PROT_READ, ""},
		{0x401000, 0x402000, rwx, ""},
		{0x402000, 0x405000, unix.PROT_READ | unix.PROT_WRITE, ""},
	}
	if len(mem.maps) != len(wantMaps) {
		t.Fatalf("mappings = %+v, want %+v", mem.maps, wantMaps)
	}
	for i := range wantMaps {
		if mem.maps[i] != wantMaps[i] {
			t.Errorf("mapping %d = %+v, want %+v", i, mem.maps[i], wantMaps[i])
		}
	}
	for _, p := range spec.Phdrs {
		got := mustRead(t, mem, uintptr(p.Vaddr), uintptr(p.Filesz))
		if !bytes.Equal(got, file[p.Off:p.Off+p.Filesz]) {
			t.Errorf("segment at %#x: contents differ", p.Vaddr)
		}
		zero := mustRead(t, mem, uintptr(p.Vaddr+p.Filesz), uintptr(p.Memsz-p.Filesz))
		if !bytes.Equal(zero, make([]byte, len(zero))) {
			t.Errorf("segment at %#x: bss not zero (a later segment's page prefix overwrote it?)", p.Vaddr)
		}
	}
}

func TestLoadPagePrefixAndPhdrFallback(t *testing.T) {
	// The only segment starts mid-page and does not hold the program
	// headers: the page prefix comes from the file, as Linux maps whole
	// pages, and PT_PHDR gives AT_PHDR.
	spec := validSpec()
	spec.Phoff = 0x1040
	spec.Phnum = 2
	spec.Phdrs = []testPhdr{
		{Type: elf.PT_PHDR, Flags: elf.PF_R, Off: 0x1040, Vaddr: 0x401040, Filesz: 112, Memsz: 112},
		{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_X, Off: 0x1100, Vaddr: 0x401100, Filesz: 0x10, Memsz: 0x10},
	}
	spec.Entry = 0x401100
	spec.Size = 0x1110
	spec.Fill = map[uint64][]byte{0x1100: exitCode}
	file := spec.bytes()
	mem := newFakeMem()
	img, err := loadBytes(t, mem, file)
	if err != nil {
		t.Fatal(err)
	}
	if img.PhdrAddr != 0x401040 {
		t.Errorf("PhdrAddr = %#x, want 0x401040 from PT_PHDR", img.PhdrAddr)
	}
	if got := mustRead(t, mem, 0x401000, 0x110); !bytes.Equal(got, file[0x1000:0x1110]) {
		t.Error("page prefix does not hold the file's bytes")
	}
}

func TestLoadStaticPIESynthetic(t *testing.T) {
	for _, tc := range []struct {
		name  string
		base  uint64 // p_vaddr of the first segment
		align uint64
		want  uint64 // alignment of the bias
	}{
		{"page", 0, 0x1000, 0x1000},
		{"2MiB", 0, 0x200000, 0x200000},
		{"huge align capped", 0, 1 << 40, maxLoadAlign},
		{"not a power of two", 0, 0x3000, 0x1000},
		{"prelinked", 0x7000_0000_0000, 0x200000, 0x200000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := validSpec()
			spec.Type = elf.ET_DYN
			for i := range spec.Phdrs {
				p := &spec.Phdrs[i]
				if p.Type == elf.PT_LOAD || p.Type == elf.PT_PHDR {
					p.Vaddr = p.Vaddr - 0x400000 + tc.base
				}
				if p.Type == elf.PT_LOAD {
					p.PAlign = tc.align
				}
			}
			spec.Entry = 0x1000 + tc.base
			mem := newFakeMem()
			mem.mmapBase = 0x7f12_3456_7000
			// Occupy the top of the free area so the placement must adapt.
			if err := mem.MapFixed(0x7f12_3456_4000, 0x3000, unix.PROT_READ, "x"); err != nil {
				t.Fatal(err)
			}
			img, err := loadBytes(t, mem, spec.bytes())
			if err != nil {
				t.Fatal(err)
			}
			bias := uint64(img.LoadBias)
			if bias%tc.want != 0 {
				t.Errorf("bias %#x not aligned to %#x", bias, tc.want)
			}
			if !img.Dyn || img.Start != uintptr(tc.base+bias) || img.End != img.Start+0x5000 || img.BrkStart != img.End {
				t.Errorf("image = %+v", img)
			}
			if img.Entry != uintptr(spec.Entry+bias) || img.PhdrAddr != uintptr(tc.base+bias+0x40) {
				t.Errorf("entry %#x phdr %#x, bias %#x", img.Entry, img.PhdrAddr, bias)
			}
			if img.End > 0x7f12_3456_4000 {
				t.Errorf("image %#x-%#x overlaps the existing mapping", img.Start, img.End)
			}
			code := mustRead(t, mem, uintptr(0x1000+tc.base+bias), uintptr(len(exitCode)))
			if !bytes.Equal(code, exitCode) {
				t.Errorf("code = %x", code)
			}
		})
	}
}

func TestLoadAcceptsOddities(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mut   func(e *testELF)
		check func(t *testing.T, img *Image)
	}{
		{
			// Linux does not check it; the program faults at once.
			name: "entry outside executable segment",
			mut:  func(e *testELF) { e.Entry = 0x402000 },
		},
		{
			name: "entry unmapped",
			mut:  func(e *testELF) { e.Entry = 0x1000_0000 },
		},
		{
			name: "empty PT_LOAD at address 0",
			mut: func(e *testELF) {
				e.Phdrs[4] = testPhdr{Type: elf.PT_LOAD, Flags: elf.PF_R}
			},
		},
		{
			name: "executable stack",
			mut:  func(e *testELF) { e.Phdrs[4].Flags |= elf.PF_X },
			check: func(t *testing.T, img *Image) {
				if !img.ExecStack {
					t.Error("ExecStack = false")
				}
			},
		},
		{
			name: "interpreter, first one wins, path up to first NUL",
			mut: func(e *testELF) {
				e.Phnum = 7
				e.Phdrs = append(e.Phdrs,
					testPhdr{Type: elf.PT_INTERP, Off: 0x1d0, Filesz: 12},
					// Not NUL-terminated, but never looked at.
					testPhdr{Type: elf.PT_INTERP, Off: 0x1e0, Filesz: 6})
				e.Fill[0x1d0] = []byte("/lib/ld\x00xx\x00\x00")
				e.Fill[0x1e0] = []byte("/other")
			},
			check: func(t *testing.T, img *Image) {
				if img.Interp != "/lib/ld" {
					t.Errorf("Interp = %q", img.Interp)
				}
			},
		},
		{
			name: "no PT_PHDR, headers in first segment",
			mut:  func(e *testELF) { e.Phdrs[0].Type = elf.PT_NOTE },
			check: func(t *testing.T, img *Image) {
				if img.PhdrAddr != 0x400040 {
					t.Errorf("PhdrAddr = %#x", img.PhdrAddr)
				}
			},
		},
		{
			name: "file-less segment need not be congruent",
			mut: func(e *testELF) {
				e.Phdrs[4] = testPhdr{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_W, Off: 0x123, Vaddr: 0x500000, Memsz: 0x1000}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := validSpec()
			tc.mut(spec)
			img, err := loadBytes(t, newFakeMem(), spec.bytes())
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, img)
			}
		})
	}
}

// hostileCase is a mutation of validSpec, or of its bytes, and the errno
// LoadELF must give.
type hostileCase struct {
	name  string
	mut   func(e *testELF)
	patch func(b []byte) []byte
	want  unix.Errno
}

func hostileCases() []hostileCase {
	le := binary.LittleEndian
	ph := func(i int, f func(p *testPhdr)) func(e *testELF) {
		return func(e *testELF) { f(&e.Phdrs[i]) }
	}
	return []hostileCase{
		{name: "empty file", patch: func(b []byte) []byte { return nil }, want: unix.ENOEXEC},
		{name: "magic only", patch: func(b []byte) []byte { return b[:4] }, want: unix.ENOEXEC},
		{name: "truncated header", patch: func(b []byte) []byte { return b[:40] }, want: unix.ENOEXEC},
		{name: "header only", patch: func(b []byte) []byte { return b[:64] }, want: unix.ENOEXEC},
		{name: "truncated program headers", patch: func(b []byte) []byte { return b[:64+56*3] }, want: unix.ENOEXEC},
		{name: "truncated segment", patch: func(b []byte) []byte { return b[:0x2010] }, want: unix.ENOEXEC},
		{name: "bad magic", patch: func(b []byte) []byte { b[1] = 'e'; return b }, want: unix.ENOEXEC},
		{name: "ELFCLASS32", mut: func(e *testELF) { e.Class = byte(elf.ELFCLASS32) }, want: unix.ENOEXEC},
		{name: "ELFCLASSNONE", mut: func(e *testELF) { e.Class = 0 }, want: unix.ENOEXEC},
		{name: "big endian", mut: func(e *testELF) { e.Data = byte(elf.ELFDATA2MSB) }, want: unix.ENOEXEC},
		{name: "version 0", mut: func(e *testELF) { e.Version = 0 }, want: unix.ENOEXEC},
		{name: "version 2", mut: func(e *testELF) { e.Version = 2 }, want: unix.ENOEXEC},
		{name: "EM_386", mut: func(e *testELF) { e.Machine = elf.EM_386 }, want: unix.ENOEXEC},
		{name: "EM_AARCH64", mut: func(e *testELF) { e.Machine = elf.EM_AARCH64 }, want: unix.ENOEXEC},
		{name: "ET_REL", mut: func(e *testELF) { e.Type = elf.ET_REL }, want: unix.ENOEXEC},
		{name: "ET_CORE", mut: func(e *testELF) { e.Type = elf.ET_CORE }, want: unix.ENOEXEC},
		{name: "ET_NONE", mut: func(e *testELF) { e.Type = elf.ET_NONE }, want: unix.ENOEXEC},
		{name: "e_phentsize 32", mut: func(e *testELF) { e.Phentsize = 32 }, want: unix.ENOEXEC},
		{name: "e_phentsize 64", mut: func(e *testELF) { e.Phentsize = 64 }, want: unix.ENOEXEC},
		{name: "e_phnum 0", mut: func(e *testELF) { e.Phnum = 0 }, want: unix.ENOEXEC},
		{name: "e_phnum 74", mut: func(e *testELF) { e.Phnum = 74; e.Size = 0x10000 }, want: unix.ENOEXEC},
		{name: "e_phnum 65535", mut: func(e *testELF) { e.Phnum = 0xffff; e.Size = 0x400000 }, want: unix.ENOEXEC},
		{name: "e_phoff beyond EOF", mut: func(e *testELF) { e.Phoff = 0x10000 }, want: unix.ENOEXEC},
		{name: "e_phoff overflowing", patch: func(b []byte) []byte {
			le.PutUint64(b[32:], ^uint64(0)-8)
			return b
		}, want: unix.ENOEXEC},
		{name: "p_filesz > p_memsz", mut: ph(3, func(p *testPhdr) { p.Memsz = 0x10 }), want: unix.EINVAL},
		{name: "contents beyond EOF", mut: ph(3, func(p *testPhdr) { p.Filesz, p.Memsz = 0x1000, 0x3000 }), want: unix.ENOEXEC},
		{name: "p_offset beyond EOF", mut: ph(3, func(p *testPhdr) { p.Off = 0x100000 }), want: unix.ENOEXEC},
		{name: "p_offset+p_filesz overflowing", mut: ph(3, func(p *testPhdr) { p.Off = ^uint64(0) - 0xfff }), want: unix.ENOEXEC},
		{name: "huge p_filesz", mut: ph(3, func(p *testPhdr) { p.Filesz, p.Memsz = 1<<40, 1<<40 }), want: unix.ENOEXEC},
		{name: "p_vaddr+p_memsz overflowing", mut: ph(3, func(p *testPhdr) { p.Memsz = ^uint64(0) - 0x1000 }), want: unix.EINVAL},
		{name: "segment beyond the address space", mut: ph(3, func(p *testPhdr) { p.Vaddr = platform.MaxUserAddress }), want: unix.EINVAL},
		{name: "segment straddling the top", mut: ph(3, func(p *testPhdr) {
			p.Vaddr = platform.MaxUserAddress - 0x1000
			p.Memsz = 0x2000
		}), want: unix.EINVAL},
		{name: "segment in the kernel half", mut: ph(3, func(p *testPhdr) { p.Vaddr = 0xffff_8000_0000_0000 }), want: unix.EINVAL},
		{name: "segment at address 0", mut: func(e *testELF) {
			e.Phdrs[1].Vaddr = 0
			e.Phdrs[0].Vaddr = 0x40
		}, want: unix.EPERM},
		{name: "ET_EXEC spanning the address space", mut: func(e *testELF) {
			e.Phdrs[1].Vaddr = 0
			e.Phdrs[0].Vaddr = 0x40
			e.Phdrs[3].Vaddr = platform.MaxUserAddress - 0x3000
		}, want: unix.EPERM},
		{name: "segment below MinUserAddress", mut: func(e *testELF) {
			e.Phdrs[1].Vaddr = platform.MinUserAddress - 0x1000
			e.Phdrs[1].Memsz = 0x2000
		}, want: unix.EPERM},
		{name: "segments overlapping", mut: ph(3, func(p *testPhdr) { p.Vaddr = 0x401008; p.Off = 0x2008; p.Filesz = 0x18 }), want: unix.ENOEXEC},
		{name: "segments descending", mut: func(e *testELF) { e.Phdrs[2], e.Phdrs[3] = e.Phdrs[3], e.Phdrs[2] }, want: unix.ENOEXEC},
		{name: "same segment twice", mut: func(e *testELF) { e.Phdrs[4] = e.Phdrs[3] }, want: unix.ENOEXEC},
		{name: "p_vaddr and p_offset not congruent", mut: ph(3, func(p *testPhdr) { p.Off = 0x1ff0 }), want: unix.EINVAL},
		{name: "no PT_LOAD", mut: func(e *testELF) {
			for i := range e.Phdrs {
				if e.Phdrs[i].Type == elf.PT_LOAD {
					e.Phdrs[i].Type = elf.PT_NOTE
				}
			}
		}, want: unix.EINVAL},
		{name: "only empty PT_LOADs", mut: func(e *testELF) {
			for i := range e.Phdrs {
				e.Phdrs[i].Filesz, e.Phdrs[i].Memsz = 0, 0
			}
		}, want: unix.EINVAL},
		{name: "ET_DYN spanning the address space", mut: func(e *testELF) {
			e.Type = elf.ET_DYN
			e.Phdrs[1].Vaddr = 0
			e.Phdrs[0].Vaddr = 0x40
			e.Phdrs[2].Vaddr = 0x1000
			e.Phdrs[3].Vaddr = platform.MaxUserAddress - 0x3000
			e.Phdrs[3].Off = 0x2000
		}, want: unix.ENOMEM},
		{name: "ET_DYN larger than the free space", mut: func(e *testELF) {
			e.Type = elf.ET_DYN
			e.Phdrs[1].Vaddr = 0
			e.Phdrs[0].Vaddr = 0x40
			e.Phdrs[2].Vaddr = 0x1000
			e.Entry = 0x1000
			e.Phdrs[3].Vaddr = 0x7f00_0000_0000
		}, want: unix.ENOMEM},
		{name: "entry beyond the address space", mut: func(e *testELF) { e.Entry = platform.MaxUserAddress }, want: unix.EINVAL},
		{name: "entry in the kernel half", mut: func(e *testELF) { e.Entry = 0xffff_ffff_ff60_0000 }, want: unix.EINVAL},
		{name: "PT_INTERP too long", mut: func(e *testELF) {
			e.Phdrs[4] = testPhdr{Type: elf.PT_INTERP, Off: 0, Filesz: 4097}
		}, want: unix.ENOEXEC},
		{name: "PT_INTERP of one byte", mut: func(e *testELF) {
			e.Phdrs[4] = testPhdr{Type: elf.PT_INTERP, Off: 0x1ff, Filesz: 1}
		}, want: unix.ENOEXEC},
		{name: "PT_INTERP not NUL-terminated", mut: func(e *testELF) {
			e.Phdrs[4] = testPhdr{Type: elf.PT_INTERP, Off: 0x1d0, Filesz: 8}
			e.Fill[0x1d0] = []byte("/lib/ld.so")
		}, want: unix.ENOEXEC},
		{name: "PT_INTERP beyond EOF", mut: func(e *testELF) {
			e.Phdrs[4] = testPhdr{Type: elf.PT_INTERP, Off: 0x2010, Filesz: 0x100}
		}, want: unix.EIO},
		{name: "PT_INTERP offset overflowing", mut: func(e *testELF) {
			e.Phdrs[4] = testPhdr{Type: elf.PT_INTERP, Off: ^uint64(0) - 1, Filesz: 16}
		}, want: unix.EIO},
		{name: "PT_INTERP empty path", mut: func(e *testELF) {
			e.Phdrs[4] = testPhdr{Type: elf.PT_INTERP, Off: 0x1f0, Filesz: 4}
		}, want: unix.ENOENT},
	}
}

func TestLoadHostile(t *testing.T) {
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			spec := validSpec()
			if tc.mut != nil {
				tc.mut(spec)
			}
			b := spec.bytes()
			if tc.patch != nil {
				b = tc.patch(b)
			}
			mem := newFakeMem()
			img, err := loadBytes(t, mem, b)
			if !errors.Is(err, tc.want) {
				t.Fatalf("LoadELF = %+v, %v; want %v", img, err, tc.want)
			}
			t.Logf("%v", err)
			if img != nil {
				t.Errorf("image %+v returned with an error", img)
			}
			if mem.mapCalls != 0 || mem.brkSet != 0 {
				t.Errorf("%d mappings made before the error", mem.mapCalls)
			}
		})
	}
}

// errReader fails every read with err.
type errReader struct{ err error }

func (r errReader) ReadAt(p []byte, off int64) (int, error) { return 0, r.err }

// lyingReader serves data but fails beyond a point.
type lyingReader struct {
	data  []byte
	limit int64
	err   error
}

func (r lyingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > r.limit {
		return 0, r.err
	}
	return copy(p, r.data[off:]), nil
}

func TestLoadReadErrors(t *testing.T) {
	file := validSpec().bytes()
	size := int64(len(file))
	for _, tc := range []struct {
		name string
		r    interface {
			ReadAt([]byte, int64) (int, error)
		}
		want unix.Errno
	}{
		{"errno passed on", errReader{unix.EACCES}, unix.EACCES},
		{"wrapped errno passed on", errReader{&os.PathError{Op: "read", Path: "x", Err: unix.ENOLINK}}, unix.ENOLINK},
		{"other error is EIO", errReader{errors.New("boom")}, unix.EIO},
		{"file shorter than said", bytes.NewReader(file[:0x1800]), unix.EIO},
		{"failure in contents", lyingReader{file, 0x1800, unix.ESTALE}, unix.ESTALE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadELF(newFakeMem(), tc.r, size)
			if !errors.Is(err, tc.want) {
				t.Fatalf("LoadELF: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestLoadMemoryErrors(t *testing.T) {
	// Something already mapped where an ET_EXEC goes: mem's error comes
	// back.
	mem := newFakeMem()
	if err := mem.MapFixed(0x402000, 0x1000, unix.PROT_READ, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := loadBytes(t, mem, validSpec().bytes()); !errors.Is(err, unix.EEXIST) {
		t.Fatalf("LoadELF: %v, want EEXIST", err)
	}
}

// checkAgainstFile compares what LoadELF did with what debug/elf reads in
// the file at path.
func checkAgainstFile(t *testing.T, path string, wantDyn bool) {
	t.Helper()
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.NewFile(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if (ef.Type == elf.ET_DYN) != wantDyn {
		t.Fatalf("%s is %v", path, ef.Type)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem := newFakeMem()
	img, err := LoadELF(mem, f, int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %+v", path, img)
	if img.Interp != "" || img.ExecStack {
		t.Errorf("image = %+v", img)
	}
	checkImage(t, mem, file, img, wantDyn)
	if img.BrkStart != img.End || mem.brk != img.BrkStart {
		t.Errorf("BrkStart %#x, mem brk %#x, want %#x", img.BrkStart, mem.brk, img.End)
	}
	auxv := ImageAuxv(img)
	if auxv[0] != (AuxEntry{AT_PHDR, uint64(img.PhdrAddr)}) || auxv[6] != (AuxEntry{AT_ENTRY, uint64(img.Entry)}) {
		t.Errorf("ImageAuxv = %+v", auxv)
	}
}

// checkImage compares img, loaded into mem, with the ELF file's contents:
// entry, program headers in memory, segment contents, bss, protections
// and bounds.
func checkImage(t *testing.T, mem *fakeMem, file []byte, img *Image, wantDyn bool) {
	t.Helper()
	ef, err := elf.NewFile(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	bias := uint64(img.LoadBias)
	if !wantDyn && bias != 0 {
		t.Errorf("ET_EXEC with bias %#x", bias)
	}
	if wantDyn && (bias == 0 || bias%PageSize != 0) {
		t.Errorf("ET_DYN bias %#x", bias)
	}
	if uint64(img.Entry) != ef.Entry+bias {
		t.Errorf("Entry = %#x, want %#x", img.Entry, ef.Entry+bias)
	}
	if img.Dyn != wantDyn || img.Phnum != len(ef.Progs) || img.Phent != 56 {
		t.Errorf("image = %+v", img)
	}
	phoff := binary.LittleEndian.Uint64(file[32:])
	table := file[phoff : phoff+uint64(56*len(ef.Progs))]
	if got := mustRead(t, mem, img.PhdrAddr, uintptr(len(table))); !bytes.Equal(got, table) {
		t.Errorf("no program headers at PhdrAddr %#x", img.PhdrAddr)
	}
	var hi uint64
	for _, p := range ef.Progs {
		if p.Type == elf.PT_PHDR && uint64(img.PhdrAddr) != p.Vaddr+bias {
			t.Errorf("PhdrAddr %#x, PT_PHDR says %#x", img.PhdrAddr, p.Vaddr+bias)
		}
		if p.Type != elf.PT_LOAD {
			continue
		}
		addr := uintptr(p.Vaddr + bias)
		if got := mustRead(t, mem, addr, uintptr(p.Filesz)); !bytes.Equal(got, file[p.Off:p.Off+p.Filesz]) {
			t.Errorf("segment at %#x: contents differ", addr)
		}
		bss := mustRead(t, mem, addr+uintptr(p.Filesz), uintptr(p.Memsz-p.Filesz))
		if !bytes.Equal(bss, make([]byte, len(bss))) {
			t.Errorf("segment at %#x: bss not zero", addr)
		}
		prot := protOf(p.Flags)
		for a := addr &^ (PageSize - 1); a < addr+uintptr(p.Memsz); a += PageSize {
			m, ok := mem.mapping(a)
			if !ok || m.prot&prot != prot {
				t.Errorf("page %#x: mapping %+v, want at least prot %#x", a, m, prot)
				break
			}
		}
		hi = max(hi, p.Vaddr+p.Memsz)
	}
	if img.End != uintptr(pageUp(hi)+bias) {
		t.Errorf("End %#x, want %#x", img.End, pageUp(hi)+bias)
	}
}

func TestLoadBusybox(t *testing.T) {
	const path = "/bin/busybox"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("needs a static %s (apt-get install busybox-static): %v", path, err)
	}
	checkAgainstFile(t, path, false)
}

// buildHello compiles a C hello world with gcc and the given flags.
func buildHello(t *testing.T, flags ...string) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("needs gcc")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "hello.c")
	if err := os.WriteFile(src, []byte("#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "hello")
	args := append(append([]string{}, flags...), "-o", out, src)
	if b, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
		t.Skipf("gcc %v cannot build (static libc missing?): %v\n%s", flags, err, b)
	}
	return out
}

func TestLoadGCCStatic(t *testing.T) {
	checkAgainstFile(t, buildHello(t, "-static"), false)
}

func TestLoadGCCStaticPIE(t *testing.T) {
	checkAgainstFile(t, buildHello(t, "-static-pie"), true)
}
