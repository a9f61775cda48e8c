package loader

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
)

// PageSize is the page size of the application address space.
const PageSize = 4096

const (
	ehdrSize = 64 // sizeof(Elf64_Ehdr)
	phdrSize = 56 // sizeof(Elf64_Phdr)

	// maxPhdrBytes bounds the program header table. Linux:
	// fs/binfmt_elf.c, load_elf_phdrs() refuses a table larger than 64 KiB
	// or than ELF_MIN_ALIGN, the page size on x86-64: 73 entries at most.
	maxPhdrBytes = PageSize

	// maxInterpLen is PATH_MAX, the longest PT_INTERP Linux accepts.
	maxInterpLen = 4096

	// maxLoadAlign caps the p_align honoured when placing a
	// position-independent image. Linux honours any power of two; a huge
	// one would only make the placement fail, and 2 MiB (a huge page) is
	// the largest alignment that buys anything.
	maxLoadAlign = 2 << 20

	// copyChunk bounds the buffer segment contents are copied through.
	copyChunk = 256 << 10

	// etDynBase is where a position-independent executable that has an
	// interpreter goes: Linux's ELF_ET_DYN_BASE on x86-64, two thirds of
	// the 47-bit address space (arch/x86/include/asm/elf.h). It is
	// computed from Linux's TASK_SIZE, not from our smaller
	// platform.MaxUserAddress, so that a program lands where it does
	// natively with randomization off (0x555555554000) and addresses in
	// logs and debuggers compare.
	etDynBase = (1<<47 - PageSize) / 3 * 2
)

// Image describes an ELF executable loaded into an address space, and,
// once LoadInterpreter and MapVDSO have run, its interpreter and the vDSO.
type Image struct {
	// Entry is the program's entry point, e_entry plus LoadBias
	// (AT_ENTRY). Without an interpreter the thread starts here; with
	// one, at the interpreter's entry: see StartPC.
	Entry uintptr
	// PhdrAddr is where the program headers are in application memory
	// (AT_PHDR).
	PhdrAddr uintptr
	// Phnum and Phent are e_phnum and e_phentsize (AT_PHNUM, AT_PHENT).
	Phnum, Phent int
	// Dyn is true for an ET_DYN file. With an interpreter (a PIE) it is
	// placed at Linux's ELF_ET_DYN_BASE, 0x555555554000; without one
	// (static-pie, or a dynamic linker run as a program) where
	// Memory.FindFree says, as Linux maps it at the mmap base. Linux
	// moves the break of the latter away from the image, to
	// ELF_ET_DYN_BASE, when it randomizes; that choice is the caller's.
	Dyn bool
	// LoadBias is what was added to every p_vaddr: 0 for ET_EXEC.
	LoadBias uintptr
	// Start and End are the page-aligned bounds of the loaded segments.
	Start, End uintptr
	// BrkStart is where the program break starts: the page-aligned end
	// of the highest segment. LoadELF has passed it to Memory.SetBrkStart
	// (an interpreter's is not used).
	BrkStart uintptr
	// Interp is the path named by PT_INTERP, or "" for a static program.
	// The caller opens it and calls LoadInterpreter.
	Interp string
	// Interpreter is the interpreter LoadInterpreter loaded, or nil. Its
	// LoadBias is AT_BASE and its Entry is where the thread starts.
	Interpreter *Image
	// VDSO is where MapVDSO mapped the vDSO (AT_SYSINFO_EHDR), or 0.
	VDSO uintptr
	// ExecStack is true when PT_GNU_STACK asks for an executable stack.
	// Without PT_GNU_STACK it is false: on x86-64 Linux only 32-bit
	// programs get READ_IMPLIES_EXEC.
	ExecStack bool
}

// segment is a validated, non-empty PT_LOAD.
type segment struct {
	vaddr, memsz   uint64
	offset, filesz uint64
	prot           int
}

// layout is what parse learned from the headers; nothing is mapped yet.
type layout struct {
	dyn       bool // ET_DYN: placed by FindFree
	entry     uint64
	phoff     uint64
	phnum     int
	segs      []segment // ascending, not overlapping
	align     uint64    // for ET_DYN: power of two, PageSize..maxLoadAlign
	phdrVaddr uint64    // PT_PHDR's p_vaddr, if havePhdr
	havePhdr  bool
	interp    string
	execStack bool
}

// StartPC is where the new program's first thread starts: the
// interpreter's entry point if one was loaded, else the program's.
func (img *Image) StartPC() uintptr {
	if img.Interpreter != nil {
		return img.Interpreter.Entry
	}
	return img.Entry
}

// LoadELF maps the x86-64 ELF executable f, of size bytes, into mem,
// copies its segments in and sets the start of the program break. Both
// ET_EXEC and ET_DYN images are accepted: an ET_DYN one with an
// interpreter (a PIE) is placed at ELF_ET_DYN_BASE as Linux places it,
// one without (static-pie) where mem.FindFree says. A dynamically linked
// program names its interpreter in Image.Interp: the caller then loads it
// with LoadInterpreter.
//
// Errors wrap the errno execve should return (compare with errors.Is):
// ENOEXEC for what is not a well-formed x86-64 executable, and where
// Linux gives another errno for a header it dislikes (EINVAL, EPERM,
// ENOMEM, EIO, ENOENT), that one. Every header is checked before anything is
// mapped; an error after that comes from mem or from reading f, and leaves
// mem partly filled: the caller discards the address space, as Linux past
// its point of no return kills the task.
func LoadELF(mem Memory, f io.ReaderAt, size int64) (*Image, error) {
	l, err := parse(f, size)
	if err != nil {
		return nil, err
	}
	img, err := l.load(mem, f)
	if err != nil {
		return nil, err
	}
	mem.SetBrkStart(img.BrkStart)
	return img, nil
}

func noexec(format string, args ...any) error {
	return elfErr(unix.ENOEXEC, format, args...)
}

func elfErr(errno unix.Errno, format string, args ...any) error {
	return fmt.Errorf("elf: "+format+": %w", append(args, errno)...)
}

// parse reads and checks the ELF header and program headers.
func parse(f io.ReaderAt, size int64) (*layout, error) {
	if size < 0 {
		size = 0
	}
	// Linux reads the first bytes of the file into a zeroed buffer, so a
	// short file fails the checks below with ENOEXEC rather than EIO.
	var eh [ehdrSize]byte
	if err := readAt(f, eh[:min(size, ehdrSize)], 0); err != nil {
		return nil, fmt.Errorf("elf: reading header: %w", err)
	}
	if !IsELF(eh[:]) {
		return nil, noexec("bad magic")
	}
	// Linux checks none of class, data encoding or version (only the
	// machine), but a file that gets them wrong is not an x86-64 program:
	// x32 binaries, for one, are ELFCLASS32 with EM_X86_64.
	if c := elf.Class(eh[elf.EI_CLASS]); c != elf.ELFCLASS64 {
		return nil, noexec("class %v, want ELFCLASS64", c)
	}
	if d := elf.Data(eh[elf.EI_DATA]); d != elf.ELFDATA2LSB {
		return nil, noexec("data encoding %v, want ELFDATA2LSB", d)
	}
	// Only the e_ident version byte: tiny hand-made executables reuse the
	// e_version word, and Linux runs them.
	if v := elf.Version(eh[elf.EI_VERSION]); v != elf.EV_CURRENT {
		return nil, noexec("version %v, want EV_CURRENT", v)
	}
	le := binary.LittleEndian
	typ := elf.Type(le.Uint16(eh[16:]))
	if typ != elf.ET_EXEC && typ != elf.ET_DYN {
		return nil, noexec("type %v, want ET_EXEC or ET_DYN", typ)
	}
	if m := elf.Machine(le.Uint16(eh[18:])); m != elf.EM_X86_64 {
		return nil, noexec("machine %v, want EM_X86_64", m)
	}
	l := &layout{
		dyn:   typ == elf.ET_DYN,
		entry: le.Uint64(eh[24:]),
		phoff: le.Uint64(eh[32:]),
		align: PageSize,
	}

	// Linux: fs/binfmt_elf.c, load_elf_phdrs(). Its failures, a short
	// read included, all end as ENOEXEC.
	if pe := le.Uint16(eh[54:]); pe != phdrSize {
		return nil, noexec("e_phentsize %d, want %d", pe, phdrSize)
	}
	l.phnum = int(le.Uint16(eh[56:]))
	tableSize := uint64(l.phnum) * phdrSize
	if tableSize == 0 || tableSize > maxPhdrBytes {
		return nil, noexec("%d program headers, want 1 to %d", l.phnum, maxPhdrBytes/phdrSize)
	}
	if l.phoff > uint64(size) || tableSize > uint64(size)-l.phoff {
		return nil, noexec("program headers at %#x beyond end of file (%d bytes)", l.phoff, size)
	}
	table := make([]byte, tableSize)
	if err := readAt(f, table, int64(l.phoff)); err != nil {
		return nil, fmt.Errorf("elf: reading program headers: %w", err)
	}

	haveInterp := false
	var prevEnd uint64 // end of the previous non-empty PT_LOAD
	for i := 0; i < l.phnum; i++ {
		ph := table[i*phdrSize : (i+1)*phdrSize]
		ptype := elf.ProgType(le.Uint32(ph[0:]))
		flags := elf.ProgFlag(le.Uint32(ph[4:]))
		off := le.Uint64(ph[8:])
		vaddr := le.Uint64(ph[16:])
		filesz := le.Uint64(ph[32:])
		memsz := le.Uint64(ph[40:])
		palign := le.Uint64(ph[48:])

		switch ptype {
		case elf.PT_INTERP:
			// Linux uses the first PT_INTERP and ignores the others.
			if haveInterp {
				continue
			}
			haveInterp = true
			interp, err := readInterp(f, size, off, filesz)
			if err != nil {
				return nil, err
			}
			l.interp = interp
		case elf.PT_GNU_STACK:
			// The last one wins, as in Linux.
			l.execStack = flags&elf.PF_X != 0
		case elf.PT_PHDR:
			if !l.havePhdr {
				l.phdrVaddr, l.havePhdr = vaddr, true
			}
		case elf.PT_LOAD:
			// Linux: load_elf_binary() refuses, with EINVAL, a segment
			// whose p_filesz exceeds p_memsz or whose p_vaddr+p_memsz
			// (before the bias) passes TASK_SIZE; our TASK_SIZE is
			// platform.MaxUserAddress.
			if filesz > memsz {
				return nil, elfErr(unix.EINVAL, "program header %d: p_filesz %#x > p_memsz %#x", i, filesz, memsz)
			}
			if vaddr >= platform.MaxUserAddress || memsz > platform.MaxUserAddress-vaddr {
				return nil, elfErr(unix.EINVAL, "program header %d: segment %#x+%#x outside the address space", i, vaddr, memsz)
			}
			if palign&(palign-1) == 0 && palign > l.align {
				l.align = min(palign, maxLoadAlign)
			}
			if memsz == 0 {
				// Linux maps nothing for an empty segment.
				continue
			}
			if filesz > 0 {
				// Linux maps file pages, so the offset must be page
				// aligned where the address is: mmap() gives EINVAL.
				if vaddr%PageSize != off%PageSize {
					return nil, elfErr(unix.EINVAL, "program header %d: p_vaddr %#x and p_offset %#x differ modulo the page size", i, vaddr, off)
				}
				// Linux maps the file lazily and the program dies of
				// SIGBUS on touching a page past the end; we copy now,
				// so a truncated file is refused.
				if off > uint64(size) || filesz > uint64(size)-off {
					return nil, noexec("program header %d: contents %#x+%#x beyond end of file (%d bytes)", i, off, filesz, size)
				}
			}
			// The ELF specification wants PT_LOADs sorted by p_vaddr.
			// Linux does not check, and a later segment silently
			// replaces the pages of an earlier one it overlaps; we
			// refuse such files. Sharing a page is fine.
			if len(l.segs) > 0 && vaddr < prevEnd {
				return nil, noexec("program header %d: segment at %#x overlaps or precedes the previous one (ending at %#x)", i, vaddr, prevEnd)
			}
			prevEnd = vaddr + memsz
			l.segs = append(l.segs, segment{
				vaddr: vaddr, memsz: memsz,
				offset: off, filesz: filesz,
				prot: protOf(flags),
			})
		}
	}
	if len(l.segs) == 0 {
		// Linux: total_mapping_size() is 0, EINVAL for ET_DYN (an
		// ET_EXEC would be started with nothing mapped).
		return nil, elfErr(unix.EINVAL, "no loadable segment")
	}
	if span := l.hi() - l.lo(); l.dyn && span > platform.MaxUserAddress-platform.MinUserAddress {
		return nil, elfErr(unix.ENOMEM, "segments span %#x bytes, more than the address space", span)
	}
	return l, nil
}

// readInterp reads a PT_INTERP path. Linux: load_elf_binary().
func readInterp(f io.ReaderAt, size int64, off, filesz uint64) (string, error) {
	if filesz < 2 || filesz > maxInterpLen {
		return "", noexec("PT_INTERP of %d bytes, want 2 to %d", filesz, maxInterpLen)
	}
	// elf_read() turns a short read into EIO.
	if off > uint64(size) || filesz > uint64(size)-off {
		return "", elfErr(unix.EIO, "PT_INTERP %#x+%#x beyond end of file (%d bytes)", off, filesz, size)
	}
	buf := make([]byte, filesz)
	if err := readAt(f, buf, int64(off)); err != nil {
		return "", fmt.Errorf("elf: reading PT_INTERP: %w", err)
	}
	if buf[filesz-1] != 0 {
		return "", noexec("PT_INTERP not NUL-terminated")
	}
	// Linux opens the path as a C string: up to the first NUL.
	path := cstring(buf)
	if path == "" {
		// open_exec("") fails so.
		return "", elfErr(unix.ENOENT, "PT_INTERP names an empty path")
	}
	return path, nil
}

func protOf(f elf.ProgFlag) int {
	prot := unix.PROT_NONE
	if f&elf.PF_R != 0 {
		prot |= unix.PROT_READ
	}
	if f&elf.PF_W != 0 {
		prot |= unix.PROT_WRITE
	}
	if f&elf.PF_X != 0 {
		prot |= unix.PROT_EXEC
	}
	return prot
}

func pageDown(a uint64) uint64 { return a &^ (PageSize - 1) }

// pageUp must only see addresses below platform.MaxUserAddress.
func pageUp(a uint64) uint64 { return (a + PageSize - 1) &^ (PageSize - 1) }

// lo and hi bound the pages of the segments, before the bias.
func (l *layout) lo() uint64 { return pageDown(l.segs[0].vaddr) }
func (l *layout) hi() uint64 {
	s := l.segs[len(l.segs)-1]
	return pageUp(s.vaddr + s.memsz)
}

// region is a run of pages mapped with one protection.
type region struct {
	start, end uint64
	prot       int
}

// regions returns the pages to map, biased: the pages of each segment,
// where a page shared by consecutive segments gets the union of their
// protections. Linux maps each segment over the last (MAP_FIXED), so the
// later segment's protection wins on a shared page; the union keeps both
// segments usable.
func (l *layout) regions(bias uint64) []region {
	var rs []region
	for _, s := range l.segs {
		start := pageDown(s.vaddr) + bias
		end := pageUp(s.vaddr+s.memsz) + bias
		if n := len(rs); n > 0 && rs[n-1].end > start {
			// Segments ascend without overlapping, so this one can
			// only begin in the last page of the previous run.
			last := &rs[n-1]
			shared := region{start, start + PageSize, last.prot | s.prot}
			last.end = start
			if last.start == last.end {
				rs = rs[:n-1]
			}
			rs = append(rs, shared)
			start += PageSize
		}
		if start < end {
			rs = append(rs, region{start, end, s.prot})
		}
	}
	return rs
}

// chooseBias returns the load bias: 0 for ET_EXEC; for ET_DYN with an
// interpreter, one that puts the image at etDynBase; for ET_DYN without,
// one that puts it in a free range found by mem. An ET_DYN bias is a
// multiple of l.align.
// Linux: fs/binfmt_elf.c, load_elf_binary() and load_elf_interp().
func (l *layout) chooseBias(mem Memory) (uint64, error) {
	if !l.dyn {
		return 0, nil
	}
	if l.interp != "" {
		// The address space is still empty but for what the caller
		// mapped before (nothing, at exec), so the fixed place is
		// free; if not, MapFixed says so. Linux rounds the base down
		// to the alignment and then subtracts the first p_vaddr; we
		// subtract first, which keeps the bias itself aligned (the
		// same result when the first segment is aligned, as linkers
		// make it). The subtraction may wrap, for a prelinked image
		// above the base: the arithmetic is modulo 2^64, as Linux's.
		bias := (etDynBase - l.lo()) &^ (l.align - 1)
		if l.hi()-l.lo() > platform.MaxUserAddress-(l.lo()+bias) {
			return 0, elfErr(unix.ENOMEM, "image of %#x bytes does not fit above %#x", l.hi()-l.lo(), l.lo()+bias)
		}
		return bias, nil
	}
	// Ask for align-PageSize bytes more than the span, so an aligned
	// start exists inside the free range.
	length := l.hi() - l.lo() + l.align - PageSize
	if length > platform.MaxUserAddress-platform.MinUserAddress {
		return 0, elfErr(unix.ENOMEM, "image of %#x bytes does not fit the address space", length)
	}
	start, err := mem.FindFree(uintptr(length))
	if err != nil {
		return 0, fmt.Errorf("elf: finding %#x bytes for a position-independent image: %w", length, err)
	}
	s := uint64(start)
	if s%PageSize != 0 || s < platform.MinUserAddress || s > platform.MaxUserAddress || length > platform.MaxUserAddress-s {
		return 0, elfErr(unix.ENOMEM, "no room for a position-independent image (got %#x for %#x bytes)", s, length)
	}
	// Unsigned arithmetic wraps, so a p_vaddr above the free range (a
	// prelinked image) gives a "negative" bias, as in Linux. Rounding up
	// to the alignment stays exact because it divides 2^64.
	bias := s - l.lo()
	bias = (bias + l.align - 1) &^ (l.align - 1)
	return bias, nil
}

func (l *layout) load(mem Memory, f io.ReaderAt) (*Image, error) {
	bias, err := l.chooseBias(mem)
	if err != nil {
		return nil, err
	}
	rs := l.regions(bias)
	for _, r := range rs {
		// Linux: mmap() below vm.mmap_min_addr fails with EPERM.
		if r.start < platform.MinUserAddress {
			return nil, elfErr(unix.EPERM, "segment page %#x below the lowest mappable address %#x", r.start, platform.MinUserAddress)
		}
		if r.end > platform.MaxUserAddress {
			return nil, elfErr(unix.EINVAL, "segment page %#x beyond the address space", r.end-PageSize)
		}
	}
	// Linux checks the entry point only against TASK_SIZE (EINVAL). An
	// entry outside any executable segment is accepted, as Linux does:
	// the program then dies of SIGSEGV at its first instruction, which is
	// what it would do natively, and refusing it with ENOEXEC would make
	// shells retry the binary as a shell script.
	entry := l.entry + bias
	if entry >= platform.MaxUserAddress {
		return nil, elfErr(unix.EINVAL, "entry point %#x beyond the address space", entry)
	}

	for _, r := range rs {
		if err := mem.MapFixed(uintptr(r.start), uintptr(r.end-r.start), r.prot, ""); err != nil {
			return nil, fmt.Errorf("elf: mapping %#x-%#x: %w", r.start, r.end, err)
		}
	}
	if err := l.copySegments(mem, f, bias); err != nil {
		return nil, err
	}

	// Linux: the PT_LOAD whose file range holds e_phoff locates the
	// program headers in memory (the last such, as its loop overwrites).
	// PT_PHDR is only our fallback; Linux would report the bias alone.
	var phdr uint64
	found := false
	for _, s := range l.segs {
		if s.offset <= l.phoff && l.phoff-s.offset < s.filesz {
			phdr, found = l.phoff-s.offset+s.vaddr, true
		}
	}
	if !found && l.havePhdr {
		phdr = l.phdrVaddr
	}

	img := &Image{
		Entry:     uintptr(entry),
		PhdrAddr:  uintptr(phdr + bias),
		Phnum:     l.phnum,
		Phent:     phdrSize,
		Dyn:       l.dyn,
		LoadBias:  uintptr(bias),
		Start:     uintptr(l.lo() + bias),
		End:       uintptr(l.hi() + bias),
		BrkStart:  uintptr(l.hi() + bias),
		Interp:    l.interp,
		ExecStack: l.execStack,
	}
	return img, nil
}

// copySegments writes the file contents of each segment; the rest of the
// mapped pages stays zero, which is the bss.
func (l *layout) copySegments(mem Memory, f io.ReaderAt, bias uint64) error {
	// Linux maps whole file pages, so the bytes of a segment's first page
	// that precede p_vaddr are the file's too; programs find their ELF
	// header and program headers that way. We copy them as well, but not
	// over the end of a previous segment that shares the page.
	type span struct{ dst, off, n uint64 }
	spans := make([]span, 0, len(l.segs))
	var prevEnd, largest uint64
	for _, s := range l.segs {
		if s.filesz > 0 {
			from := max(pageDown(s.vaddr), prevEnd)
			lead := s.vaddr - from // <= s.offset: offsets are congruent
			sp := span{dst: from + bias, off: s.offset - lead, n: lead + s.filesz}
			spans = append(spans, sp)
			largest = max(largest, sp.n)
		}
		prevEnd = s.vaddr + s.memsz
	}
	if len(spans) == 0 {
		return nil
	}
	buf := make([]byte, min(largest, copyChunk))
	for _, sp := range spans {
		for done := uint64(0); done < sp.n; {
			chunk := buf[:min(sp.n-done, uint64(len(buf)))]
			if err := readAt(f, chunk, int64(sp.off+done)); err != nil {
				return fmt.Errorf("elf: reading segment contents at %#x: %w", sp.off+done, err)
			}
			if err := mem.WriteForce(uintptr(sp.dst+done), chunk); err != nil {
				return fmt.Errorf("elf: writing segment contents at %#x: %w", sp.dst+done, err)
			}
			done += uint64(len(chunk))
		}
	}
	return nil
}

// readAt fills buf from f at off. A short read means the file shrank
// under us or its size was wrong; Linux's elf_read() calls that EIO. A
// host errno from f is passed on as it is. Errors are readErrors.
func readAt(f io.ReaderAt, buf []byte, off int64) error {
	if len(buf) == 0 {
		return nil
	}
	n, err := f.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	var errno unix.Errno
	switch {
	case err == nil || err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		err = fmt.Errorf("short read of %d bytes at %#x: %w", len(buf), off, unix.EIO)
	case errors.As(err, &errno):
	default:
		err = fmt.Errorf("%v: %w", err, unix.EIO)
	}
	return &readError{err}
}

// readError is a failure to read the file, as opposed to something wrong
// with what it holds.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// cstring returns b up to its first NUL.
func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
