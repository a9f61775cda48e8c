package vdso

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"sync"
)

const (
	// Soname is the vDSO's DT_SONAME, the name ldd and
	// dl_iterate_phdr() users see.
	Soname = "linux-vdso.so.1"
	// Version is the symbol version of every exported function, the one
	// glibc and the Go runtime look symbols up with.
	Version = "LINUX_2.6"
)

// Image returns the vDSO image: an ELF shared object linked at address 0,
// to be mapped at a page-aligned address with PROT_READ|PROT_EXEC. Its
// length is not page aligned. The slice is shared: callers must not
// modify it.
func Image() []byte { return image() }

var image = sync.OnceValue(build)

// Sections, in file order; the constants are section header indexes.
const (
	secNull = iota
	secHash
	secDynsym
	secDynstr
	secVersym
	secVerdef
	secDynamic
	secEhFrameHdr
	secEhFrame
	secText
	secShstrtab
	numSections
)

// section is one section of the image.
type section struct {
	name    string
	typ     elf.SectionType
	flags   elf.SectionFlag
	align   uint64
	entsize uint64
	link    uint32
	info    uint32
	data    []byte
}

const (
	ehdrSize = 64
	phdrSize = 56
	shdrSize = 64
	symSize  = 24
	dynSize  = 16
	numPhdrs = 3 // PT_LOAD, PT_DYNAMIC, PT_GNU_EH_FRAME

	// The version indexes of .gnu.version_d: 1 is the object itself
	// (VER_FLG_BASE), 2 is LINUX_2.6.
	verIndexBase    = 1
	verIndexVersion = 2

	// hashBuckets is the number of DT_HASH buckets: about one per two
	// symbols.
	hashBuckets = 7
)

// symbol is one entry of .dynsym after the null one.
type symbol struct {
	name  string
	info  byte // ST_INFO(bind, type)
	shndx elf.SectionIndex
	value uint64 // an offset in .text, or 0 for the version symbol
	size  uint64
}

// symbols lists the dynamic symbols: each function and its weak alias,
// and the absolute symbol naming the version, which GNU ld adds for
// every version definition.
func symbols(t *textLayout) []symbol {
	var syms []symbol
	for i, f := range functions {
		off, size := t.offs[i], uint64(len(t.code[i]))
		syms = append(syms,
			symbol{"__vdso_" + f.name, stInfo(elf.STB_GLOBAL, elf.STT_FUNC), secText, off, size},
			symbol{f.name, stInfo(elf.STB_WEAK, elf.STT_FUNC), secText, off, size})
	}
	return append(syms, symbol{Version, stInfo(elf.STB_GLOBAL, elf.STT_OBJECT), elf.SHN_ABS, 0, 0})
}

// textLayout is .text: each function's code and its offset in .text.
type textLayout struct {
	offs []uint64
	code [][]byte
	data []byte
}

// layText lays the functions out in .text at address text, each
// aligned to funcAlign, the gaps filled with int3.
func layText(text uint64) *textLayout {
	t := &textLayout{}
	for _, f := range functions {
		for len(t.data)%funcAlign != 0 {
			t.data = append(t.data, 0xcc)
		}
		off := uint64(len(t.data))
		code := funcCode(f, text+off)
		t.offs = append(t.offs, off)
		t.code = append(t.code, code)
		t.data = append(t.data, code...)
	}
	return t
}

func stInfo(b elf.SymBind, t elf.SymType) byte { return byte(b)<<4 | byte(t)&0xf }

// elfHash is the hash function of the System V ABI's DT_HASH tables and
// of the vd_hash field of version definitions.
func elfHash(name string) uint32 {
	var h uint32
	for i := 0; i < len(name); i++ {
		h = h<<4 + uint32(name[i])
		g := h & 0xf000_0000
		h ^= g >> 24
		h &^= g
	}
	return h
}

// strtab is a string table under construction.
type strtab struct {
	b   []byte
	off map[string]uint32
}

func newStrtab() *strtab { return &strtab{b: []byte{0}, off: map[string]uint32{"": 0}} }

func (s *strtab) add(str string) uint32 {
	if off, ok := s.off[str]; ok {
		return off
	}
	off := uint32(len(s.b))
	s.b = append(append(s.b, str...), 0)
	s.off[str] = off
	return off
}

func align(n, a uint64) uint64 { return (n + a - 1) &^ (a - 1) }

// build lays the image out. The contents of some sections depend on the
// addresses of others (the dynamic section on all of them, the symbols on
// .text, the frame tables on each other), while no section's size does:
// so the sections are made twice, the first time to learn their sizes and
// addresses, the second time with those addresses.
func build() []byte {
	var addrs [numSections]uint64
	secs := sections(&addrs)
	off := uint64(ehdrSize + numPhdrs*phdrSize)
	for i := secNull + 1; i < numSections; i++ {
		off = align(off, secs[i].align)
		addrs[i] = off
		off += uint64(len(secs[i].data))
	}
	sizes := make([]int, numSections)
	for i, s := range secs {
		sizes[i] = len(s.data)
	}
	secs = sections(&addrs)
	for i, s := range secs {
		if len(s.data) != sizes[i] {
			// Only a change to this file can get here.
			panic(fmt.Sprintf("vdso: section %s changed size with its addresses", s.name))
		}
	}
	shoff := align(off, 8)
	img := make([]byte, shoff+numSections*shdrSize)
	le := binary.LittleEndian
	for i := secNull + 1; i < numSections; i++ {
		copy(img[addrs[i]:], secs[i].data)
	}

	// Elf64_Ehdr
	copy(img, []byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)})
	le.PutUint16(img[16:], uint16(elf.ET_DYN))
	le.PutUint16(img[18:], uint16(elf.EM_X86_64))
	le.PutUint32(img[20:], uint32(elf.EV_CURRENT))
	le.PutUint64(img[24:], 0) // e_entry: none, as in Linux's vDSO
	le.PutUint64(img[32:], ehdrSize)
	le.PutUint64(img[40:], shoff)
	le.PutUint16(img[52:], ehdrSize)
	le.PutUint16(img[54:], phdrSize)
	le.PutUint16(img[56:], numPhdrs)
	le.PutUint16(img[58:], shdrSize)
	le.PutUint16(img[60:], numSections)
	le.PutUint16(img[62:], secShstrtab)

	// Program headers. Addresses equal file offsets. The PT_LOAD covers
	// the allocated sections (what a linker would put in it; the section
	// headers follow in the same page anyway). PT_DYNAMIC is read-only:
	// glibc then leaves the dynamic section alone rather than relocating
	// it in place, which it cannot in a read+exec mapping.
	loadEnd := addrs[secText] + uint64(len(secs[secText].data))
	phdr := func(i int, typ elf.ProgType, flags elf.ProgFlag, off, size, align uint64) {
		p := img[ehdrSize+i*phdrSize:]
		le.PutUint32(p[0:], uint32(typ))
		le.PutUint32(p[4:], uint32(flags))
		le.PutUint64(p[8:], off)   // p_offset
		le.PutUint64(p[16:], off)  // p_vaddr
		le.PutUint64(p[24:], off)  // p_paddr
		le.PutUint64(p[32:], size) // p_filesz
		le.PutUint64(p[40:], size) // p_memsz
		le.PutUint64(p[48:], align)
	}
	phdr(0, elf.PT_LOAD, elf.PF_R|elf.PF_X, 0, loadEnd, 0x1000)
	phdr(1, elf.PT_DYNAMIC, elf.PF_R, addrs[secDynamic], uint64(len(secs[secDynamic].data)), 8)
	phdr(2, elf.PT_GNU_EH_FRAME, elf.PF_R, addrs[secEhFrameHdr], uint64(len(secs[secEhFrameHdr].data)), 4)

	// Section headers; index 0 stays zero.
	names := shstrtabNames()
	for i := secNull + 1; i < numSections; i++ {
		s := secs[i]
		h := img[shoff+uint64(i)*shdrSize:]
		le.PutUint32(h[0:], names.off[s.name])
		le.PutUint32(h[4:], uint32(s.typ))
		le.PutUint64(h[8:], uint64(s.flags))
		if s.flags&elf.SHF_ALLOC != 0 {
			le.PutUint64(h[16:], addrs[i])
		}
		le.PutUint64(h[24:], addrs[i])
		le.PutUint64(h[32:], uint64(len(s.data)))
		le.PutUint32(h[40:], s.link)
		le.PutUint32(h[44:], s.info)
		le.PutUint64(h[48:], s.align)
		le.PutUint64(h[56:], s.entsize)
	}
	return img
}

// shstrtabNames is the section name table.
func shstrtabNames() *strtab {
	st := newStrtab()
	for _, n := range []string{".hash", ".dynsym", ".dynstr", ".gnu.version", ".gnu.version_d",
		".dynamic", ".eh_frame_hdr", ".eh_frame", ".text", ".shstrtab"} {
		st.add(n)
	}
	return st
}

// sections makes the sections' contents for the given section addresses.
func sections(addrs *[numSections]uint64) []section {
	le := binary.LittleEndian
	text := layText(addrs[secText])
	syms := symbols(text)
	nsyms := uint32(len(syms) + 1) // the null symbol too

	dynstr := newStrtab()
	sonameOff := dynstr.add(Soname)
	versionOff := dynstr.add(Version)
	for _, s := range syms {
		dynstr.add(s.name)
	}

	// .dynsym
	dynsym := make([]byte, symSize*nsyms)
	for i, s := range syms {
		e := dynsym[symSize*(i+1):]
		le.PutUint32(e[0:], dynstr.add(s.name))
		e[4] = s.info
		le.PutUint16(e[6:], uint16(s.shndx))
		value := s.value
		if s.shndx == secText {
			value += addrs[secText]
		}
		le.PutUint64(e[8:], value)
		le.PutUint64(e[16:], s.size)
	}

	// .hash: nbucket, nchain, the buckets, then a chain entry per
	// symbol. Each symbol goes to the head of its bucket's chain.
	hash := make([]byte, 4*(2+hashBuckets+nsyms))
	le.PutUint32(hash[0:], hashBuckets)
	le.PutUint32(hash[4:], nsyms)
	bucket := func(b uint32) []byte { return hash[4*(2+b):] }
	chain := func(i uint32) []byte { return hash[4*(2+hashBuckets+i):] }
	for i, s := range syms {
		idx := uint32(i + 1)
		b := elfHash(s.name) % hashBuckets
		le.PutUint32(chain(idx), le.Uint32(bucket(b)))
		le.PutUint32(bucket(b), idx)
	}

	// .gnu.version: every symbol but the null one is LINUX_2.6, the
	// default version (no hidden bit), as Linux's "@@LINUX_2.6".
	versym := make([]byte, 2*nsyms)
	for i := uint32(1); i < nsyms; i++ {
		le.PutUint16(versym[2*i:], verIndexVersion)
	}

	// .gnu.version_d: two Elf64_Verdef, each followed by its one
	// Elf64_Verdaux.
	const verdefSize, verdauxSize = 20, 8
	verdef := make([]byte, 2*(verdefSize+verdauxSize))
	for i, d := range []struct {
		flags uint16
		ndx   uint16
		name  string
		off   uint32
	}{
		{uint16(elf.VER_FLG_BASE), verIndexBase, Soname, sonameOff},
		{0, verIndexVersion, Version, versionOff},
	} {
		e := verdef[i*(verdefSize+verdauxSize):]
		le.PutUint16(e[0:], 1) // vd_version
		le.PutUint16(e[2:], d.flags)
		le.PutUint16(e[4:], d.ndx)
		le.PutUint16(e[6:], 1) // vd_cnt
		le.PutUint32(e[8:], elfHash(d.name))
		le.PutUint32(e[12:], verdefSize) // vd_aux
		if i == 0 {
			le.PutUint32(e[16:], verdefSize+verdauxSize) // vd_next
		}
		le.PutUint32(e[verdefSize:], d.off) // vda_name; vda_next = 0
	}

	// .dynamic
	dyn := []struct {
		tag elf.DynTag
		val uint64
	}{
		{elf.DT_SONAME, uint64(sonameOff)},
		{elf.DT_HASH, addrs[secHash]},
		{elf.DT_STRTAB, addrs[secDynstr]},
		{elf.DT_SYMTAB, addrs[secDynsym]},
		{elf.DT_STRSZ, uint64(len(dynstr.b))},
		{elf.DT_SYMENT, symSize},
		{elf.DT_VERSYM, addrs[secVersym]},
		{elf.DT_VERDEF, addrs[secVerdef]},
		{elf.DT_VERDEFNUM, 2},
		{elf.DT_NULL, 0},
	}
	dynamic := make([]byte, dynSize*len(dyn))
	for i, d := range dyn {
		le.PutUint64(dynamic[dynSize*i:], uint64(d.tag))
		le.PutUint64(dynamic[dynSize*i+8:], d.val)
	}

	ehFrame, fdeOffs := ehFrame(addrs[secEhFrame], addrs[secText], text)
	ehFrameHdr := ehFrameHdr(addrs[secEhFrameHdr], addrs[secEhFrame], addrs[secText], text, fdeOffs)

	return []section{
		secNull:       {},
		secHash:       {".hash", elf.SHT_HASH, elf.SHF_ALLOC, 8, 4, secDynsym, 0, hash},
		secDynsym:     {".dynsym", elf.SHT_DYNSYM, elf.SHF_ALLOC, 8, symSize, secDynstr, 1, dynsym},
		secDynstr:     {".dynstr", elf.SHT_STRTAB, elf.SHF_ALLOC, 1, 0, 0, 0, dynstr.b},
		secVersym:     {".gnu.version", elf.SHT_GNU_VERSYM, elf.SHF_ALLOC, 2, 2, secDynsym, 0, versym},
		secVerdef:     {".gnu.version_d", elf.SHT_GNU_VERDEF, elf.SHF_ALLOC, 8, 0, secDynstr, 2, verdef},
		secDynamic:    {".dynamic", elf.SHT_DYNAMIC, elf.SHF_ALLOC, 8, dynSize, secDynstr, 0, dynamic},
		secEhFrameHdr: {".eh_frame_hdr", elf.SHT_PROGBITS, elf.SHF_ALLOC, 4, 0, 0, 0, ehFrameHdr},
		secEhFrame:    {".eh_frame", elf.SHT_PROGBITS, elf.SHF_ALLOC, 8, 0, 0, 0, ehFrame},
		secText:       {".text", elf.SHT_PROGBITS, elf.SHF_ALLOC | elf.SHF_EXECINSTR, funcAlign, 0, 0, 0, text.data},
		secShstrtab:   {".shstrtab", elf.SHT_STRTAB, 0, 1, 0, 0, 0, shstrtabNames().b},
	}
}

// DWARF call frame information encodings (the LSB's .eh_frame format).
const (
	dwEhPePcrelSdata4   = 0x1b // DW_EH_PE_pcrel | DW_EH_PE_sdata4
	dwEhPeUdata4        = 0x03
	dwEhPeDatarelSdata4 = 0x3b // DW_EH_PE_datarel | DW_EH_PE_sdata4
	dwCfaDefCfa         = 0x0c
	dwCfaOffset         = 0x80 // high two bits; the register in the low six
	regRSP              = 7    // DWARF register numbers, x86-64 psABI
	regRA               = 16
)

// ehFrame returns .eh_frame, at address at, for the functions in .text at
// text: one CIE whose initial rules are those at a function's entry (the
// canonical frame address is %rsp+8, the return address is at CFA-8), and
// one FDE per function with no further rules, since the functions never
// touch the stack; then the zero terminator. It also returns the offset
// of each FDE.
func ehFrame(at, text uint64, t *textLayout) ([]byte, []uint64) {
	le := binary.LittleEndian
	cie := []byte{
		0, 0, 0, 0, // length, below
		0, 0, 0, 0, // CIE id
		1,           // version
		'z', 'R', 0, // augmentation: a length, then the FDE pointer encoding
		1,    // code alignment factor
		0x78, // data alignment factor: -8 (SLEB128)
		regRA,
		1, // augmentation data length
		dwEhPePcrelSdata4,
		dwCfaDefCfa, regRSP, 8,
		dwCfaOffset | regRA, 1, // saved at CFA + 1*(-8)
	}
	b := pad8(cie)
	le.PutUint32(b, uint32(len(b)-4))
	var offs []uint64
	for i := range functions {
		fdeOff := uint64(len(b))
		offs = append(offs, fdeOff)
		fde := make([]byte, 17)                 // length, CIE pointer, pc begin, pc range, augmentation length 0
		le.PutUint32(fde[4:], uint32(fdeOff+4)) // back to the CIE, from this field
		pc := text + t.offs[i]
		le.PutUint32(fde[8:], uint32(pc-(at+fdeOff+8))) // pc-relative
		le.PutUint32(fde[12:], uint32(len(t.code[i])))
		fde = pad8(fde)
		le.PutUint32(fde, uint32(len(fde)-4))
		b = append(b, fde...)
	}
	return append(b, 0, 0, 0, 0), offs
}

// pad8 pads CFI to a multiple of 8 bytes with DW_CFA_nop.
func pad8(b []byte) []byte {
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// ehFrameHdr returns .eh_frame_hdr, at address at: the pointer to
// .eh_frame and the sorted table of (function, FDE) addresses that
// unwinders search through PT_GNU_EH_FRAME.
func ehFrameHdr(at, ehFrame, text uint64, t *textLayout, fdeOffs []uint64) []byte {
	le := binary.LittleEndian
	b := make([]byte, 12+8*len(fdeOffs))
	b[0] = 1 // version
	b[1] = dwEhPePcrelSdata4
	b[2] = dwEhPeUdata4
	b[3] = dwEhPeDatarelSdata4
	le.PutUint32(b[4:], uint32(ehFrame-(at+4)))
	le.PutUint32(b[8:], uint32(len(fdeOffs)))
	for i, off := range fdeOffs {
		pc := text + t.offs[i] // ascending, as the table must be
		le.PutUint32(b[12+8*i:], uint32(pc-at))
		le.PutUint32(b[16+8*i:], uint32(ehFrame+off-at))
	}
	return b
}
