package loader

import (
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Auxiliary vector keys. Linux: include/uapi/linux/auxvec.h and
// arch/x86/include/uapi/asm/auxvec.h.
const (
	AT_NULL         = 0
	AT_PHDR         = 3
	AT_PHENT        = 4
	AT_PHNUM        = 5
	AT_PAGESZ       = 6
	AT_BASE         = 7
	AT_FLAGS        = 8
	AT_ENTRY        = 9
	AT_UID          = 11
	AT_EUID         = 12
	AT_GID          = 13
	AT_EGID         = 14
	AT_PLATFORM     = 15
	AT_HWCAP        = 16
	AT_CLKTCK       = 17
	AT_SECURE       = 23
	AT_RANDOM       = 25
	AT_HWCAP2       = 26
	AT_EXECFN       = 31
	AT_SYSINFO_EHDR = 33
	AT_MINSIGSTKSZ  = 51
)

// AuxEntry is one entry of the auxiliary vector.
type AuxEntry struct {
	Key, Value uint64
}

// Limits on execve arguments. Linux: include/uapi/linux/binfmts.h,
// include/uapi/linux/limits.h, include/asm-generic/resource.h.
const (
	// MaxArgStrlen is MAX_ARG_STRLEN: the longest argument or
	// environment string, its NUL included.
	MaxArgStrlen = 32 * PageSize
	// ArgMax is ARG_MAX, the room strings always get however small the
	// stack limit.
	ArgMax = 32 * PageSize
	// DefaultStackLimit is _STK_LIM, the default RLIMIT_STACK.
	DefaultStackLimit = 8 << 20
	// DefaultArgLimit is ArgLimit(DefaultStackLimit): 2 MiB.
	DefaultArgLimit = DefaultStackLimit / 4
)

// platformString is AT_PLATFORM's string on x86-64 (ELF_PLATFORM).
const platformString = "x86_64"

// ArgLimit returns how many bytes argument and environment strings and
// their pointers may take for a stack limit of stackRlimit bytes (the soft
// RLIMIT_STACK): a quarter of it, at most 6 MiB, at least ArgMax.
// Linux: fs/exec.c, bprm_stack_limits().
func ArgLimit(stackRlimit uint64) uint64 {
	limit := min(uint64(DefaultStackLimit/4*3), stackRlimit/4)
	return max(limit, ArgMax)
}

// CheckArgs returns E2BIG when argv, envv and execfn do not fit in limit
// bytes (see ArgLimit) or one of them is longer than MaxArgStrlen, as
// execve would. Strings must not contain NUL bytes (EINVAL): they are the
// C strings the application passed. WriteStack calls it; the exec path may
// call it earlier, before giving up the old address space.
// Linux: fs/exec.c, bprm_stack_limits() and copy_strings().
func CheckArgs(argv, envv []string, execfn string, limit uint64) error {
	// Linux counts an empty argv as one pointer: it adds "" as argv[0].
	ptrs := (uint64(max(len(argv), 1)) + uint64(len(envv))) * 8
	if limit <= ptrs {
		return fmt.Errorf("stack: %d arguments and %d environment strings: %w", len(argv), len(envv), unix.E2BIG)
	}
	room := limit - ptrs
	var used uint64
	if len(argv) == 0 {
		used = 1
	}
	for _, set := range [][]string{{execfn}, envv, argv} {
		for _, s := range set {
			if uint64(len(s))+1 > MaxArgStrlen {
				return fmt.Errorf("stack: string of %d bytes, longer than %d: %w", len(s), MaxArgStrlen-1, unix.E2BIG)
			}
			if strings.IndexByte(s, 0) >= 0 {
				return fmt.Errorf("stack: string with a NUL byte: %w", unix.EINVAL)
			}
			used += uint64(len(s)) + 1
			if used > room {
				return fmt.Errorf("stack: arguments and environment take more than %d bytes: %w", limit, unix.E2BIG)
			}
		}
	}
	return nil
}

// StackParams is what WriteStack puts on a new process stack.
type StackParams struct {
	// Top is the end of the stack mapping; [Top-size, Top) is mapped
	// read-write and large enough, or WriteStack fails with mem's error.
	Top uintptr
	// Argv and Envv are the argument and environment strings. An empty
	// Argv is replaced by {""}, as Linux does since 5.18.
	Argv, Envv []string
	// Auxv is the auxiliary vector without AT_RANDOM, AT_EXECFN,
	// AT_PLATFORM and AT_NULL, which WriteStack adds (EINVAL if present).
	Auxv []AuxEntry
	// ExecFn is the path given to execve, for AT_EXECFN.
	ExecFn string
	// Random is the 16 bytes AT_RANDOM points at.
	Random [16]byte
	// ArgLimit bounds the strings and pointers (see ArgLimit); 0 means
	// DefaultArgLimit.
	ArgLimit uint64
}

// Stack describes an initial process stack written by WriteStack.
type Stack struct {
	// SP is the initial stack pointer: it points at argc and is 16-byte
	// aligned.
	SP uintptr
	// ArgStart, ArgEnd, EnvStart and EnvEnd bound the argument and
	// environment strings, as Linux's mm->arg_start and friends, for
	// /proc/[pid]/cmdline and environ.
	ArgStart, ArgEnd, EnvStart, EnvEnd uintptr
	// Auxv is the auxiliary vector as written, AT_NULL included, for
	// /proc/[pid]/auxv.
	Auxv []AuxEntry
}

// SetupStack writes the initial process stack below top and returns the
// stack pointer; see WriteStack. The strings may take DefaultArgLimit
// bytes, as with Linux's default 8 MiB RLIMIT_STACK.
func SetupStack(mem Memory, top uintptr, argv, envv []string, auxv []AuxEntry, execfn string, random [16]byte) (sp uintptr, err error) {
	st, err := WriteStack(mem, StackParams{
		Top: top, Argv: argv, Envv: envv, Auxv: auxv,
		ExecFn: execfn, Random: random,
	})
	return st.SP, err
}

// WriteStack writes the System V x86-64 initial process stack exactly as
// Linux lays it out (fs/exec.c, do_execveat_common() and fs/binfmt_elf.c,
// create_elf_tables()), from the top down:
//
//	8 zero bytes                 at Top-8
//	ExecFn string                AT_EXECFN
//	environment strings          EnvStart..EnvEnd
//	argument strings             ArgStart..ArgEnd
//	(down to 16-byte alignment)
//	"x86_64"                     AT_PLATFORM
//	16 random bytes              AT_RANDOM (not aligned, as in Linux)
//	padding
//	auxv pairs, AT_NULL last
//	envp pointers, NULL
//	argv pointers, NULL
//	argc                         SP, 16-byte aligned
//
// Unlike Linux it does not move the strings' base down by a random amount
// (arch_align_stack()): the layout is a function of the arguments alone.
// It writes the whole block with one Memory.WriteForce.
func WriteStack(mem Memory, p StackParams) (Stack, error) {
	limit := p.ArgLimit
	if limit == 0 {
		limit = DefaultArgLimit
	}
	if err := CheckArgs(p.Argv, p.Envv, p.ExecFn, limit); err != nil {
		return Stack{}, err
	}
	for _, e := range p.Auxv {
		switch e.Key {
		case AT_NULL, AT_RANDOM, AT_EXECFN, AT_PLATFORM:
			return Stack{}, fmt.Errorf("stack: auxv entry %d is added by WriteStack: %w", e.Key, unix.EINVAL)
		}
	}
	argv := p.Argv
	if len(argv) == 0 {
		argv = []string{""}
	}

	// Lay out addresses first, as uint64 so that nothing wraps before the
	// size is known to fit below Top.
	top := uint64(p.Top)
	pos := top - 8 // Linux: bprm->p = vma->vm_end - sizeof(void *)
	var strSize uint64
	for _, s := range argv {
		strSize += uint64(len(s)) + 1
	}
	for _, s := range p.Envv {
		strSize += uint64(len(s)) + 1
	}
	strSize += uint64(len(p.ExecFn)) + 1

	auxv := make([]AuxEntry, 0, len(p.Auxv)+4)
	auxv = append(auxv, p.Auxv...)
	auxv = append(auxv, AuxEntry{AT_RANDOM, 0}, AuxEntry{AT_EXECFN, 0}, AuxEntry{AT_PLATFORM, 0}, AuxEntry{AT_NULL, 0})
	items := uint64(len(argv)+1) + uint64(len(p.Envv)+1) + 1
	// What lies below the strings, alignment slack included.
	tables := 15 + uint64(len(platformString)+1) + 16 + uint64(len(auxv))*16 + items*8 + 15
	if top < 8+strSize+tables {
		return Stack{}, fmt.Errorf("stack: top %#x too low for %d bytes: %w", top, 8+strSize+tables, unix.EFAULT)
	}

	strBase := pos - strSize // lowest string: argv[0]
	execfnAddr := pos - uint64(len(p.ExecFn)) - 1
	p2 := strBase &^ 15 // arch_align_stack() without the random offset
	platformAddr := p2 - uint64(len(platformString)) - 1
	randomAddr := platformAddr - 16
	auxv[len(auxv)-4].Value = randomAddr
	auxv[len(auxv)-3].Value = execfnAddr
	auxv[len(auxv)-2].Value = platformAddr
	sp := randomAddr - uint64(len(auxv))*16 // STACK_ADD(p, ei_index)
	sp = (sp - items*8) &^ 15               // STACK_ROUND(sp, items)

	buf := make([]byte, top-sp)
	at := func(addr uint64) []byte { return buf[addr-sp:] }
	le := binary.LittleEndian

	// Strings, ascending: argv, envv, execfn; then the 8 zero bytes.
	a := strBase
	w := at(sp) // pointer area
	le.PutUint64(w, uint64(len(argv)))
	w = w[8:]
	st := Stack{ArgStart: uintptr(a)}
	for _, s := range argv {
		le.PutUint64(w, a)
		w = w[8:]
		copy(at(a), s) // the NUL is already there
		a += uint64(len(s)) + 1
	}
	w = w[8:] // NULL
	st.ArgEnd, st.EnvStart = uintptr(a), uintptr(a)
	for _, s := range p.Envv {
		le.PutUint64(w, a)
		w = w[8:]
		copy(at(a), s)
		a += uint64(len(s)) + 1
	}
	w = w[8:] // NULL
	st.EnvEnd = uintptr(a)
	copy(at(execfnAddr), p.ExecFn)
	for _, e := range auxv {
		le.PutUint64(w, e.Key)
		le.PutUint64(w[8:], e.Value)
		w = w[16:]
	}
	copy(at(platformAddr), platformString)
	copy(at(randomAddr), p.Random[:])

	if err := mem.WriteForce(uintptr(sp), buf); err != nil {
		return Stack{}, fmt.Errorf("stack: writing %d bytes at %#x: %w", len(buf), sp, err)
	}
	st.SP = uintptr(sp)
	st.Auxv = auxv
	return st, nil
}

// ImageAuxv returns the auxiliary vector entries that describe img:
// AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS and AT_ENTRY,
// then AT_SYSINFO_EHDR if MapVDSO has mapped the vDSO. AT_PHDR, AT_PHENT
// and AT_PHNUM describe the executable, also when an interpreter runs
// first (it finds the program through them); AT_BASE is the
// interpreter's load bias, 0 without one, as in Linux. The caller adds
// the rest (AT_MINSIGSTKSZ, AT_HWCAP, AT_HWCAP2, AT_CLKTCK, credentials,
// AT_SECURE); WriteStack adds AT_RANDOM, AT_EXECFN and AT_PLATFORM.
func ImageAuxv(img *Image) []AuxEntry {
	var base uint64
	if img.Interpreter != nil {
		base = uint64(img.Interpreter.LoadBias)
	}
	auxv := []AuxEntry{
		{AT_PHDR, uint64(img.PhdrAddr)},
		{AT_PHENT, uint64(img.Phent)},
		{AT_PHNUM, uint64(img.Phnum)},
		{AT_PAGESZ, PageSize},
		{AT_BASE, base},
		{AT_FLAGS, 0},
		{AT_ENTRY, uint64(img.Entry)},
	}
	if img.VDSO != 0 {
		auxv = append(auxv, AuxEntry{AT_SYSINFO_EHDR, uint64(img.VDSO)})
	}
	return auxv
}
