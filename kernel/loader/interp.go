package loader

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// LoadInterpreter maps the program interpreter f, of size bytes, into
// mem beside the executable img that LoadELF loaded and that names it in
// img.Interp, and records it in img.Interpreter: the thread then starts
// at its entry (Image.StartPC) and ImageAuxv gives its load bias as
// AT_BASE. The caller opens img.Interp as execve opens an executable
// (open_exec(): symbolic links followed, a regular file with execute
// permission) and hands the file over.
//
// An ET_DYN interpreter (every ld.so) is placed where mem.FindFree says,
// as Linux mmaps it; an ET_EXEC one at its own addresses. Its program
// break and PT_GNU_STACK are not used: the executable's are.
//
// Errors wrap an errno. Headers that LoadELF would refuse in an
// executable, whatever its errno there, and an interpreter that names an
// interpreter itself give ELIBBAD ("accessing a corrupted shared
// library"), which Linux gives for the checks of the interpreter's ELF
// header; ENOEXEC is avoided because shells take it as "run this file as
// a script". Failures to read f are passed on; a file shorter than size,
// or than an ELF header, is EIO, as in Linux. Errors while mapping
// (EEXIST when an ET_EXEC interpreter's addresses overlap the
// executable's, ENOMEM, EPERM) are mem's or the placement's. The headers
// are checked before anything is mapped; any error leaves mem as the
// executable's load left it, or partly filled: the caller discards the
// address space.
//
// Linux: fs/binfmt_elf.c, load_elf_binary() and load_elf_interp(). Linux
// does not look at an interpreter's own PT_INTERP (nor run it), and its
// header checks fail past the point of no return, killing the process;
// here exec fails before the old program is gone.
func LoadInterpreter(mem Memory, img *Image, f io.ReaderAt, size int64) error {
	if img == nil || img.Interp == "" || img.Interpreter != nil {
		return fmt.Errorf("elf: no interpreter to load (or loaded already): %w", unix.EINVAL)
	}
	if size < ehdrSize {
		// Linux reads the interpreter's ELF header with elf_read(),
		// which calls a short read EIO, before looking at it.
		return fmt.Errorf("interpreter %s: %d bytes, shorter than an ELF header: %w", img.Interp, size, unix.EIO)
	}
	l, err := parse(f, size)
	if err != nil {
		var rerr *readError
		if errors.As(err, &rerr) {
			return fmt.Errorf("interpreter %s: %w", img.Interp, err)
		}
		return fmt.Errorf("interpreter %s: %v: %w", img.Interp, err, unix.ELIBBAD)
	}
	if l.interp != "" {
		return fmt.Errorf("interpreter %s names an interpreter itself (%s): %w", img.Interp, l.interp, unix.ELIBBAD)
	}
	// Without PT_INTERP, chooseBias places an ET_DYN image with FindFree:
	// the mmap-style placement Linux gives the interpreter.
	interp, err := l.load(mem, f)
	if err != nil {
		return fmt.Errorf("interpreter %s: %w", img.Interp, err)
	}
	img.Interpreter = interp
	return nil
}
