package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/vdso"
)

// pieSpec is validSpec made position-independent (linked at 0).
func pieSpec() *testELF {
	e := validSpec()
	e.Type = elf.ET_DYN
	for i := range e.Phdrs {
		if p := &e.Phdrs[i]; p.Type == elf.PT_LOAD || p.Type == elf.PT_PHDR {
			p.Vaddr -= 0x400000
		}
	}
	e.Entry = 0x1000
	return e
}

// withInterp adds a PT_INTERP naming path (in the first page, after the
// program headers).
func withInterp(e *testELF, path string) *testELF {
	e.Phdrs = append(e.Phdrs, testPhdr{Type: elf.PT_INTERP, Flags: elf.PF_R, Off: 0x1c0, Filesz: uint64(len(path)) + 1, Memsz: uint64(len(path)) + 1})
	e.Phnum = uint16(len(e.Phdrs))
	e.Fill[0x1c0] = append([]byte(path), 0)
	return e
}

func auxValue(t *testing.T, auxv []AuxEntry, key uint64) uint64 {
	t.Helper()
	for _, e := range auxv {
		if e.Key == key {
			return e.Value
		}
	}
	t.Fatalf("auxv has no entry %d: %v", key, auxv)
	return 0
}

func TestLoadInterpreterSynthetic(t *testing.T) {
	mem := newFakeMem()
	mem.mmapBase = 0x7f12_3456_7000
	img, err := loadBytes(t, mem, withInterp(pieSpec(), "/lib/ld.so").bytes())
	if err != nil {
		t.Fatal(err)
	}
	// A PIE with an interpreter goes where Linux puts it.
	if img.Interp != "/lib/ld.so" || img.LoadBias != 0x5555_5555_4000 || img.Start != 0x5555_5555_4000 ||
		img.Entry != 0x5555_5555_5000 || img.PhdrAddr != 0x5555_5555_4040 {
		t.Fatalf("image %+v", img)
	}
	if mem.brk != img.End || mem.brkSet != 1 {
		t.Errorf("brk %#x set %d times, want %#x once", mem.brk, mem.brkSet, img.End)
	}
	if img.StartPC() != img.Entry {
		t.Errorf("StartPC %#x before the interpreter is loaded", img.StartPC())
	}

	interpFile := pieSpec().bytes()
	if err := LoadInterpreter(mem, img, bytes.NewReader(interpFile), int64(len(interpFile))); err != nil {
		t.Fatal(err)
	}
	in := img.Interpreter
	if in == nil || !in.Dyn || in.Interp != "" {
		t.Fatalf("interpreter %+v", in)
	}
	// Placed top-down from the mmap base, like an mmap.
	if in.End != mem.mmapBase || in.LoadBias != in.Start || in.Entry != in.Start+0x1000 {
		t.Errorf("interpreter at %#x-%#x entry %#x, mmap base %#x", in.Start, in.End, in.Entry, mem.mmapBase)
	}
	if img.StartPC() != in.Entry {
		t.Errorf("StartPC %#x, want the interpreter's entry %#x", img.StartPC(), in.Entry)
	}
	if code := mustRead(t, mem, in.Entry, uintptr(len(exitCode))); !bytes.Equal(code, exitCode) {
		t.Errorf("interpreter code %x", code)
	}
	// The interpreter's load leaves the break alone.
	if mem.brk != img.End || mem.brkSet != 1 {
		t.Errorf("brk %#x set %d times after the interpreter", mem.brk, mem.brkSet)
	}

	if err := MapVDSO(mem, img); err != nil {
		t.Fatal(err)
	}
	vd := vdso.Image()
	m, ok := mem.mapping(img.VDSO)
	if !ok || m.start != img.VDSO || m.name != "[vdso]" || m.prot != unix.PROT_READ|unix.PROT_EXEC ||
		m.end-m.start != uintptr(pageUp(uint64(len(vd)))) {
		t.Errorf("vDSO mapping %+v at %#x", m, img.VDSO)
	}
	if m.end != in.Start {
		t.Errorf("vDSO at %#x-%#x, not right below the interpreter at %#x", m.start, m.end, in.Start)
	}
	if got := mustRead(t, mem, img.VDSO, uintptr(len(vd))); !bytes.Equal(got, vd) {
		t.Error("vDSO contents differ from vdso.Image()")
	}

	auxv := ImageAuxv(img)
	for key, want := range map[uint64]uint64{
		AT_PHDR:         uint64(img.PhdrAddr),
		AT_PHENT:        56,
		AT_PHNUM:        6,
		AT_BASE:         uint64(in.LoadBias),
		AT_ENTRY:        uint64(img.Entry),
		AT_SYSINFO_EHDR: uint64(img.VDSO),
		AT_PAGESZ:       PageSize,
	} {
		if got := auxValue(t, auxv, key); got != want {
			t.Errorf("auxv[%d] = %#x, want %#x", key, got, want)
		}
	}

	// Each step is done once.
	if err := LoadInterpreter(mem, img, bytes.NewReader(interpFile), int64(len(interpFile))); !errors.Is(err, unix.EINVAL) {
		t.Errorf("second LoadInterpreter: %v", err)
	}
	if err := MapVDSO(mem, img); !errors.Is(err, unix.EINVAL) {
		t.Errorf("second MapVDSO: %v", err)
	}
}

func TestLoadInterpreterWithoutInterp(t *testing.T) {
	mem := newFakeMem()
	img, err := loadBytes(t, mem, validSpec().bytes())
	if err != nil {
		t.Fatal(err)
	}
	b := pieSpec().bytes()
	if err := LoadInterpreter(mem, img, bytes.NewReader(b), int64(len(b))); !errors.Is(err, unix.EINVAL) {
		t.Errorf("LoadInterpreter for a static program: %v", err)
	}
	if auxValue(t, ImageAuxv(img), AT_BASE) != 0 {
		t.Error("AT_BASE without an interpreter")
	}
	for _, e := range ImageAuxv(img) {
		if e.Key == AT_SYSINFO_EHDR {
			t.Error("AT_SYSINFO_EHDR without a vDSO")
		}
	}
}

func TestLoadPIEAlignment(t *testing.T) {
	for _, tc := range []struct {
		name        string
		base, align uint64
		wantStart   uintptr
	}{
		{"2MiB", 0, 0x200000, 0x5555_5540_0000},
		{"page", 0, 0x1000, 0x5555_5555_4000},
		// Linked (prelinked) above the base: the bias wraps, the image
		// still starts at the base.
		{"prelinked high", 0x7000_0000_0000, 0x1000, 0x5555_5555_4000},
		// The bias stays aligned, so the image keeps its placement
		// modulo 2 MiB (Linux aligns the base before subtracting
		// p_vaddr, and gives 0x555555400000 with a bias that is not).
		{"2MiB, linked at 1MiB", 0x10_0000, 0x200000, 0x5555_5550_0000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := withInterp(pieSpec(), "/ld")
			for i := range e.Phdrs {
				if p := &e.Phdrs[i]; p.Type == elf.PT_LOAD || p.Type == elf.PT_PHDR {
					p.Vaddr += tc.base
					if p.Type == elf.PT_LOAD {
						p.PAlign = tc.align
					}
				}
			}
			e.Entry += tc.base
			mem := newFakeMem()
			img, err := loadBytes(t, mem, e.bytes())
			if err != nil {
				t.Fatal(err)
			}
			if img.Start != tc.wantStart || uint64(img.LoadBias)%tc.align != 0 || img.Entry != img.Start+0x1000 {
				t.Errorf("image %+v", img)
			}
		})
	}
}

func TestLoadInterpreterExec(t *testing.T) {
	// An ET_EXEC interpreter goes at its own addresses; AT_BASE is 0,
	// as Linux reports for it.
	interp := validSpec()
	for i := range interp.Phdrs {
		if p := &interp.Phdrs[i]; p.Type == elf.PT_LOAD || p.Type == elf.PT_PHDR {
			p.Vaddr += 0x1000_0000
		}
	}
	interp.Entry += 0x1000_0000
	mem := newFakeMem()
	img, err := loadBytes(t, mem, withInterp(validSpec(), "/ld").bytes())
	if err != nil {
		t.Fatal(err)
	}
	b := interp.bytes()
	if err := LoadInterpreter(mem, img, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	if img.Interpreter.LoadBias != 0 || img.StartPC() != 0x1040_1000 || auxValue(t, ImageAuxv(img), AT_BASE) != 0 {
		t.Errorf("interpreter %+v", img.Interpreter)
	}

	// One that overlaps the executable: mem refuses.
	mem = newFakeMem()
	img, err = loadBytes(t, mem, withInterp(validSpec(), "/ld").bytes())
	if err != nil {
		t.Fatal(err)
	}
	b = validSpec().bytes()
	if err := LoadInterpreter(mem, img, bytes.NewReader(b), int64(len(b))); !errors.Is(err, unix.EEXIST) {
		t.Errorf("overlapping interpreter: %v, want EEXIST", err)
	}
	if img.Interpreter != nil {
		t.Error("Interpreter set after an error")
	}
}

// TestLoadInterpreterHostile loads each hostile executable as an
// interpreter: what LoadELF refuses in its headers is ELIBBAD, and
// nothing is mapped.
func TestLoadInterpreterHostile(t *testing.T) {
	cases := hostileCases()
	// An interpreter with an interpreter of its own.
	cases = append(cases, hostileCase{name: "interpreter with PT_INTERP", mut: func(e *testELF) {
		withInterp(e, "/lib/ld2")
	}, want: unix.ELIBBAD})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := validSpec()
			if tc.mut != nil {
				tc.mut(spec)
			}
			b := spec.bytes()
			if tc.patch != nil {
				b = tc.patch(b)
			}
			// Errors that come from placing the image, not from its
			// headers, stay what they are; a file too short for a
			// header is EIO, as in Linux.
			want := unix.ELIBBAD
			if _, err := parse(bytes.NewReader(b), int64(len(b))); err == nil && tc.want != unix.ELIBBAD {
				want = tc.want
			}
			if len(b) < 64 {
				want = unix.EIO
			}
			// The executable is a PIE, out of the interpreter's way.
			mem := newFakeMem()
			img, err := loadBytes(t, mem, withInterp(pieSpec(), "/ld").bytes())
			if err != nil {
				t.Fatal(err)
			}
			calls := mem.mapCalls
			err = LoadInterpreter(mem, img, bytes.NewReader(b), int64(len(b)))
			if !errors.Is(err, want) {
				t.Fatalf("LoadInterpreter: %v, want %v", err, want)
			}
			t.Log(err)
			if img.Interpreter != nil || mem.mapCalls != calls || mem.brkSet != 1 {
				t.Errorf("interpreter %+v, %d mappings made before the error", img.Interpreter, mem.mapCalls-calls)
			}
		})
	}
}

func TestLoadInterpreterReadErrors(t *testing.T) {
	file := pieSpec().bytes()
	size := int64(len(file))
	for _, tc := range []struct {
		name string
		r    interface {
			ReadAt([]byte, int64) (int, error)
		}
		want unix.Errno
	}{
		{"errno passed on", errReader{unix.EACCES}, unix.EACCES},
		{"file shorter than said", bytes.NewReader(file[:0x1800]), unix.EIO},
		{"failure in contents", lyingReader{file, 0x1800, unix.ESTALE}, unix.ESTALE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := newFakeMem()
			img, err := loadBytes(t, mem, withInterp(validSpec(), "/ld").bytes())
			if err != nil {
				t.Fatal(err)
			}
			if err := LoadInterpreter(mem, img, tc.r, size); !errors.Is(err, tc.want) || errors.Is(err, unix.ELIBBAD) {
				t.Fatalf("LoadInterpreter: %v, want %v", err, tc.want)
			}
		})
	}
}

// TestLoadDynamicHost goes through an exec of the host's /bin/true, a
// dynamically linked PIE, with the host's dynamic linker, as far as
// memory and the initial stack: every address the dynamic linker reads
// from the auxiliary vector must lead to the right bytes.
func TestLoadDynamicHost(t *testing.T) {
	const exePath = "/bin/true"
	exeFile, err := os.ReadFile(exePath)
	if err != nil {
		t.Skipf("needs %s: %v", exePath, err)
	}
	ef, err := elf.NewFile(bytes.NewReader(exeFile))
	if err != nil {
		t.Fatal(err)
	}
	var interpPath string
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			p.ReadAt(b, 0)
			interpPath = cstring(b)
		}
	}
	if interpPath == "" || ef.Type != elf.ET_DYN {
		t.Skipf("%s is not a dynamically linked PIE (%v, interpreter %q)", exePath, ef.Type, interpPath)
	}
	// The path is a symbolic link on Debian; opening follows it, as the
	// kernel's open of PT_INTERP does.
	interpFile, err := os.ReadFile(interpPath)
	if err != nil {
		t.Skipf("needs the dynamic linker %s: %v", interpPath, err)
	}

	mem := newFakeMem()
	img, err := LoadELF(mem, bytes.NewReader(exeFile), int64(len(exeFile)))
	if err != nil {
		t.Fatal(err)
	}
	if img.Interp != interpPath || img.Start != 0x5555_5555_4000 {
		t.Errorf("image %+v", img)
	}
	checkImage(t, mem, exeFile, img, true)
	if err := LoadInterpreter(mem, img, bytes.NewReader(interpFile), int64(len(interpFile))); err != nil {
		t.Fatal(err)
	}
	checkImage(t, mem, interpFile, img.Interpreter, true)
	if err := MapVDSO(mem, img); err != nil {
		t.Fatal(err)
	}
	t.Logf("executable %#x-%#x, interpreter %#x-%#x, vDSO %#x, start %#x",
		img.Start, img.End, img.Interpreter.Start, img.Interpreter.End, img.VDSO, img.StartPC())

	// The dynamic linker also runs as a program, and refuses itself as
	// an interpreter.
	if err := LoadInterpreter(newFakeMem(), &Image{Interp: "/x"}, bytes.NewReader(exeFile), int64(len(exeFile))); !errors.Is(err, unix.ELIBBAD) {
		t.Errorf("%s as an interpreter: %v, want ELIBBAD", exePath, err)
	}

	const top = 0x7fef_f000_0000
	if err := mem.MapFixed(top-1<<20, 1<<20, unix.PROT_READ|unix.PROT_WRITE, "[stack]"); err != nil {
		t.Fatal(err)
	}
	auxv := append(ImageAuxv(img), AuxEntry{AT_UID, 0}, AuxEntry{AT_HWCAP, 0x178bfbff}, AuxEntry{AT_CLKTCK, 100})
	st, err := WriteStack(mem, StackParams{Top: top, Argv: []string{exePath}, Envv: []string{"A=1"}, Auxv: auxv, ExecFn: exePath})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := parseStack(mem, st.SP)
	if err != nil {
		t.Fatal(err)
	}
	aux := func(k uint64) uintptr {
		v, ok := ps.aux(k)
		if !ok {
			t.Fatalf("no auxv entry %d", k)
		}
		return uintptr(v)
	}
	// AT_PHDR: the executable's program headers, in mapped memory.
	phoff := binary.LittleEndian.Uint64(exeFile[32:])
	table := exeFile[phoff : phoff+uint64(len(ef.Progs))*56]
	if aux(AT_PHNUM) != uintptr(len(ef.Progs)) || aux(AT_PHENT) != 56 {
		t.Errorf("AT_PHNUM %d AT_PHENT %d", aux(AT_PHNUM), aux(AT_PHENT))
	}
	if got := mustRead(t, mem, aux(AT_PHDR), uintptr(len(table))); !bytes.Equal(got, table) {
		t.Error("AT_PHDR does not point at the executable's program headers")
	}
	// AT_ENTRY: the executable's entry; the thread starts in ld.so.
	if aux(AT_ENTRY) != uintptr(ef.Entry)+img.LoadBias || img.StartPC() == aux(AT_ENTRY) {
		t.Errorf("AT_ENTRY %#x, start %#x", aux(AT_ENTRY), img.StartPC())
	}
	// AT_BASE: where ld.so's ELF header is (its first segment maps
	// file offset 0 at address 0).
	if got := mustRead(t, mem, aux(AT_BASE), 64); !bytes.Equal(got, interpFile[:64]) {
		t.Error("AT_BASE does not point at the interpreter's ELF header")
	}
	if m, ok := mem.mapping(img.StartPC()); !ok || m.prot&unix.PROT_EXEC == 0 {
		t.Errorf("start %#x not in executable memory: %+v", img.StartPC(), m)
	}
	// AT_SYSINFO_EHDR: the vDSO image.
	vd := vdso.Image()
	if got := mustRead(t, mem, aux(AT_SYSINFO_EHDR), uintptr(len(vd))); !bytes.Equal(got, vd) {
		t.Error("AT_SYSINFO_EHDR does not point at the vDSO")
	}
	if s, _ := mem.readString(uintptr(aux(AT_EXECFN))); s != exePath {
		t.Errorf("AT_EXECFN %q", s)
	}
	if s, _ := mem.readString(uintptr(aux(AT_PLATFORM))); s != "x86_64" {
		t.Errorf("AT_PLATFORM %q", s)
	}
	// Nothing overlaps, and the break follows the executable.
	for i := 1; i < len(mem.maps); i++ {
		if mem.maps[i-1].end > mem.maps[i].start {
			t.Errorf("mappings overlap: %+v %+v", mem.maps[i-1], mem.maps[i])
		}
	}
	if mem.brk != img.End {
		t.Errorf("brk %#x, want %#x", mem.brk, img.End)
	}
}
