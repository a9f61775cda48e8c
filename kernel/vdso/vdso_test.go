package vdso

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// exported are the symbols glibc (sysdeps/unix/sysv/linux/x86_64) and the
// Go runtime look up, with the system call each must make.
var exported = map[string]uint32{
	"__vdso_clock_gettime": unix.SYS_CLOCK_GETTIME,
	"__vdso_gettimeofday":  unix.SYS_GETTIMEOFDAY,
	"__vdso_time":          unix.SYS_TIME,
	"__vdso_getcpu":        unix.SYS_GETCPU,
	"__vdso_clock_getres":  unix.SYS_CLOCK_GETRES,
}

// codeOf is the code of the function exported as name, at address pc of
// the image.
func codeOf(t *testing.T, name string, pc uint64) []byte {
	t.Helper()
	for _, f := range functions {
		if "__vdso_"+f.name == name {
			return funcCode(f, pc)
		}
	}
	t.Fatalf("no function %s", name)
	return nil
}

func TestImageIsStableAndSmall(t *testing.T) {
	a, b := build(), Image()
	if !bytes.Equal(a, b) {
		t.Fatal("two builds differ")
	}
	if len(b) > 4096 {
		t.Errorf("image is %d bytes, more than a page", len(b))
	}
}

func TestElfHash(t *testing.T) {
	// glibc's VDSO_HASH and the Go runtime's vdsoLinuxVersion hash.
	if h := elfHash(Version); h != 61765110 {
		t.Errorf("elfHash(%q) = %#x, want 0x3ae75f6", Version, h)
	}
	// Names long enough for the high nibble to be folded back; the
	// values are the Go runtime's (vdso_linux_amd64.go).
	for name, want := range map[string]uint32{"__vdso_gettimeofday": 0x315ca59, "__vdso_clock_gettime": 0xd35ec75} {
		if h := elfHash(name); h != want {
			t.Errorf("elfHash(%q) = %#x, want %#x", name, h, want)
		}
	}
}

// TestDebugELF reads the image with the standard library's ELF reader,
// which goes through the section headers.
func TestDebugELF(t *testing.T) {
	f, err := elf.NewFile(bytes.NewReader(Image()))
	if err != nil {
		t.Fatal(err)
	}
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB || f.Type != elf.ET_DYN || f.Machine != elf.EM_X86_64 {
		t.Errorf("header %+v", f.FileHeader)
	}
	if so, err := f.DynString(elf.DT_SONAME); err != nil || len(so) != 1 || so[0] != Soname {
		t.Errorf("DT_SONAME = %q, %v", so, err)
	}
	vers, err := f.DynamicVersions()
	if err != nil {
		t.Fatal(err)
	}
	if len(vers) != 2 || vers[0].Name != Soname || vers[0].Index != 1 || vers[0].Flags != elf.VER_FLG_BASE ||
		vers[1].Name != Version || vers[1].Index != 2 || vers[1].Flags != 0 {
		t.Errorf("version definitions %+v", vers)
	}
	text := f.Section(".text")
	if text == nil || text.Flags != elf.SHF_ALLOC|elf.SHF_EXECINSTR {
		t.Fatalf(".text = %+v", text)
	}
	code, err := text.Data()
	if err != nil {
		t.Fatal(err)
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]elf.Symbol{}
	for _, s := range syms {
		if !s.HasVersion || s.Version != Version || s.VersionIndex.IsHidden() {
			t.Errorf("symbol %s: version %q (index %v)", s.Name, s.Version, s.VersionIndex)
		}
		byName[s.Name] = s
	}
	for name := range exported {
		s, ok := byName[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || elf.ST_BIND(s.Info) != elf.STB_GLOBAL || s.Section != elf.SectionIndex(secText) {
			t.Errorf("%s: %+v", name, s)
		}
		if s.Value < text.Addr || s.Value+s.Size > text.Addr+text.Size {
			t.Errorf("%s at %#x+%d outside .text", name, s.Value, s.Size)
			continue
		}
		if got, want := code[s.Value-text.Addr:][:s.Size], codeOf(t, name, s.Value); !bytes.Equal(got, want) {
			t.Errorf("%s: code %x, want %x", name, got, want)
		}
		alias, ok := byName[strings.TrimPrefix(name, "__vdso_")]
		if !ok || alias.Value != s.Value || elf.ST_BIND(alias.Info) != elf.STB_WEAK {
			t.Errorf("weak alias of %s: %+v", name, alias)
		}
	}
	// Every PT_LOAD byte is the file's, at the address it was linked at.
	var loads int
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			loads++
			if p.Off != 0 || p.Vaddr != 0 || p.Filesz != p.Memsz || p.Flags != elf.PF_R|elf.PF_X {
				t.Errorf("PT_LOAD %+v", p.ProgHeader)
			}
		}
	}
	if loads != 1 {
		t.Errorf("%d PT_LOADs", loads)
	}
}

// mem is the image as a loader sees it: mapped at base, read only
// through the program headers and the dynamic section. Reads are bounds
// checked against the PT_LOAD.
type mem struct {
	t    *testing.T
	b    []byte
	base uint64
	end  uint64 // of the PT_LOAD
}

func (m *mem) bytes(addr, n uint64) []byte {
	m.t.Helper()
	if addr < m.base || addr+n > m.end || addr+n < addr {
		m.t.Fatalf("read of %d bytes at %#x outside the image %#x-%#x", n, addr, m.base, m.end)
	}
	return m.b[addr-m.base : addr-m.base+n]
}

func (m *mem) u16(addr uint64) uint16 { return binary.LittleEndian.Uint16(m.bytes(addr, 2)) }
func (m *mem) u32(addr uint64) uint32 { return binary.LittleEndian.Uint32(m.bytes(addr, 4)) }
func (m *mem) u64(addr uint64) uint64 { return binary.LittleEndian.Uint64(m.bytes(addr, 8)) }

func (m *mem) str(addr uint64) string {
	m.t.Helper()
	for n := uint64(0); ; n++ {
		if m.bytes(addr+n, 1)[0] == 0 {
			return string(m.bytes(addr, n))
		}
	}
}

// vdsoLookup finds name at version ver as glibc's setup_vdso() and
// dl_vdso_vsym() do (and the Go runtime's vdso_linux.go, alike): the load
// bias from the first PT_LOAD, the tables from PT_DYNAMIC, the version's
// index from DT_VERDEF by hash and name, the symbol through the DT_HASH
// chain of its name's hash, then its DT_VERSYM entry checked.
func vdsoLookup(t *testing.T, img []byte, base uint64, name, ver string) uint64 {
	t.Helper()
	m := &mem{t: t, b: img, base: base, end: base + uint64(len(img))}
	phoff, phnum := m.u64(base+32), m.u16(base+56)
	var bias, dynAddr uint64
	haveLoad := false
	for i := uint64(0); i < uint64(phnum); i++ {
		ph := base + phoff + i*56
		switch elf.ProgType(m.u32(ph)) {
		case elf.PT_LOAD:
			if !haveLoad {
				haveLoad = true
				bias = base - m.u64(ph+16)
				m.end = base + m.u64(ph+40)
			}
		case elf.PT_DYNAMIC:
			dynAddr = m.u64(ph + 16)
			if elf.ProgFlag(m.u32(ph+4))&elf.PF_W != 0 {
				t.Error("PT_DYNAMIC is writable: glibc would relocate it in place")
			}
		}
	}
	if !haveLoad || dynAddr == 0 {
		t.Fatal("no PT_LOAD or PT_DYNAMIC")
	}
	tags := map[elf.DynTag]uint64{}
	for d := bias + dynAddr; ; d += 16 {
		tag := elf.DynTag(m.u64(d))
		if tag == elf.DT_NULL {
			break
		}
		tags[tag] = m.u64(d + 8)
	}
	for _, tag := range []elf.DynTag{elf.DT_HASH, elf.DT_STRTAB, elf.DT_SYMTAB, elf.DT_VERSYM, elf.DT_VERDEF} {
		if _, ok := tags[tag]; !ok {
			t.Fatalf("no %v", tag)
		}
	}
	if tags[elf.DT_SYMENT] != 24 {
		t.Fatalf("DT_SYMENT %d", tags[elf.DT_SYMENT])
	}
	strtab := bias + tags[elf.DT_STRTAB]
	strsz := tags[elf.DT_STRSZ]
	strAt := func(off uint32) string {
		if uint64(off) >= strsz {
			t.Fatalf("string offset %d beyond DT_STRSZ %d", off, strsz)
		}
		return m.str(strtab + uint64(off))
	}

	verIndex := -1
	for vd := bias + tags[elf.DT_VERDEF]; ; {
		if m.u16(vd) != 1 {
			t.Fatalf("vd_version %d", m.u16(vd))
		}
		flags, ndx, hash := m.u16(vd+2), m.u16(vd+4), m.u32(vd+8)
		aux := vd + uint64(m.u32(vd+12))
		if elf.DynamicVersionFlag(flags)&elf.VER_FLG_BASE == 0 && hash == elfHash(ver) && strAt(m.u32(aux)) == ver {
			verIndex = int(ndx & 0x7fff)
		}
		next := m.u32(vd + 16)
		if next == 0 {
			break
		}
		vd += uint64(next)
	}
	if verIndex < 0 {
		t.Fatalf("no version %s", ver)
	}

	hashtab := bias + tags[elf.DT_HASH]
	nbucket, nchain := m.u32(hashtab), m.u32(hashtab+4)
	if nbucket == 0 {
		t.Fatal("no buckets")
	}
	symtab := bias + tags[elf.DT_SYMTAB]
	seen := 0
	for i := m.u32(hashtab + 8 + 4*uint64(elfHash(name)%nbucket)); i != 0; i = m.u32(hashtab + 8 + 4*uint64(nbucket+i)) {
		if i >= nchain {
			t.Fatalf("chain index %d beyond nchain %d", i, nchain)
		}
		if seen++; seen > int(nchain) {
			t.Fatal("hash chain loops")
		}
		sym := symtab + 24*uint64(i)
		if strAt(m.u32(sym)) != name {
			continue
		}
		info, shndx, value := m.bytes(sym+4, 1)[0], m.u16(sym+6), m.u64(sym+8)
		typ, bind := elf.ST_TYPE(info), elf.ST_BIND(info)
		if typ != elf.STT_FUNC || (bind != elf.STB_GLOBAL && bind != elf.STB_WEAK) || shndx == uint16(elf.SHN_UNDEF) || value == 0 {
			t.Fatalf("%s: info %#x shndx %d value %#x", name, info, shndx, value)
		}
		if vs := m.u16(bias + tags[elf.DT_VERSYM] + 2*uint64(i)); int(vs&0x7fff) != verIndex || vs&0x8000 != 0 {
			t.Fatalf("%s: versym %#x, want %d", name, vs, verIndex)
		}
		return bias + value
	}
	t.Fatalf("%s not found", name)
	return 0
}

func TestLookupLikeLoaders(t *testing.T) {
	img := Image()
	const base = 0x7fff_f7fc_8000
	for name := range exported {
		addr := vdsoLookup(t, img, base, name, Version)
		m := &mem{t: t, b: img, base: base, end: base + uint64(len(img))}
		want := codeOf(t, name, addr-base)
		if got := m.bytes(addr, uint64(len(want))); !bytes.Equal(got, want) {
			t.Errorf("%s at %#x: code %x", name, addr, got)
		}
	}
}

// TestEhFrame follows .eh_frame_hdr's table, as libgcc's unwinder does
// from PT_GNU_EH_FRAME, to each function's FDE.
func TestEhFrame(t *testing.T) {
	img := Image()
	f, err := elf.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	var hdr uint64
	for _, p := range f.Progs {
		if p.Type == elf.PT_GNU_EH_FRAME {
			hdr = p.Vaddr
		}
	}
	m := &mem{t: t, b: img, end: uint64(len(img))}
	if hdr == 0 || m.bytes(hdr, 4)[0] != 1 || m.bytes(hdr, 4)[1] != dwEhPePcrelSdata4 ||
		m.bytes(hdr, 4)[2] != dwEhPeUdata4 || m.bytes(hdr, 4)[3] != dwEhPeDatarelSdata4 {
		t.Fatalf("eh_frame_hdr at %#x: %x", hdr, m.bytes(hdr, 4))
	}
	ehFrame := hdr + 4 + uint64(int32(m.u32(hdr+4)))
	if s := f.Section(".eh_frame"); s == nil || s.Addr != ehFrame {
		t.Fatalf("eh_frame_ptr %#x, .eh_frame %+v", ehFrame, s)
	}
	count := m.u32(hdr + 8)
	if int(count) != len(functions) {
		t.Fatalf("%d FDEs", count)
	}
	syms, _ := f.DynamicSymbols()
	addrOf := map[string]uint64{}
	for _, s := range syms {
		addrOf[s.Name] = s.Value
	}
	prev := uint64(0)
	for i := uint64(0); i < uint64(count); i++ {
		pc := hdr + uint64(int32(m.u32(hdr+12+8*i)))
		fde := hdr + uint64(int32(m.u32(hdr+16+8*i)))
		if pc <= prev {
			t.Errorf("table not sorted at %d", i)
		}
		prev = pc
		if want := addrOf["__vdso_"+functions[i].name]; pc != want {
			t.Errorf("entry %d: pc %#x, want %#x", i, pc, want)
		}
		if cie := fde + 4 - uint64(m.u32(fde+4)); cie != ehFrame {
			t.Errorf("FDE %#x: CIE at %#x, want %#x", fde, cie, ehFrame)
		}
		begin := fde + 8 + uint64(int32(m.u32(fde+8)))
		if size := uint32(len(codeOf(t, "__vdso_"+functions[i].name, pc))); begin != pc || m.u32(fde+12) != size {
			t.Errorf("FDE %#x covers %#x+%d, want %#x+%d", fde, begin, m.u32(fde+12), pc, size)
		}
	}
}

// TestBinutils has readelf and objdump read the image: they must find
// nothing to warn about and disassemble each function to its system call.
func TestBinutils(t *testing.T) {
	readelf, err1 := exec.LookPath("readelf")
	objdump, err2 := exec.LookPath("objdump")
	if err1 != nil || err2 != nil {
		t.Skip("needs readelf and objdump (binutils)")
	}
	path := filepath.Join(t.TempDir(), "vdso.so")
	if err := os.WriteFile(path, Image(), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(prog string, args ...string) string {
		out, err := exec.Command(prog, append(args, path)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
		}
		if s := strings.ToLower(string(out)); strings.Contains(s, "warning") || strings.Contains(s, "error") {
			t.Errorf("%s %v complains:\n%s", prog, args, out)
		}
		return string(out)
	}
	all := run(readelf, "-a", "-W")
	for name := range exported {
		if !strings.Contains(all, name+"@@"+Version) {
			t.Errorf("readelf -a does not show %s@@%s", name, Version)
		}
	}
	frames := run(readelf, "--debug-dump=frames")
	if n := strings.Count(frames, " FDE "); n != len(functions) {
		t.Errorf("readelf finds %d FDEs:\n%s", n, frames)
	}
	dis := run(objdump, "-d")
	for name, nr := range exported {
		want := fmt.Sprintf("<%s@@%s>:", name, Version)
		i := strings.Index(dis, want)
		if i < 0 {
			t.Errorf("objdump -d: no %s", want)
			continue
		}
		body, _, _ := strings.Cut(dis[i:], "\n\n")
		if !strings.Contains(body, fmt.Sprintf("mov    $0x%x,%%eax", nr)) || !strings.Contains(body, "syscall") ||
			!strings.Contains(body, "ret") || strings.Contains(body, "(bad)") {
			t.Errorf("objdump -d, %s:\n%s", name, body)
		}
		fast := fastFuncs[name]
		if strings.Contains(body, "rdtsc") != fast || strings.Contains(body, "lfence") != fast {
			t.Errorf("objdump -d, %s: rdtsc and lfence expected %v:\n%s", name, fast, body)
		}
	}
}

// fastFuncs are the functions that answer from the vvar page.
var fastFuncs = map[string]bool{"__vdso_clock_gettime": true, "__vdso_gettimeofday": true, "__vdso_time": true}
