package loader

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// BinprmBufSize is how many bytes of a file execve looks at to recognise
// its format (BINPRM_BUF_SIZE). Callers pass that much of the file's head,
// or the whole file when it is shorter, to IsELF and ParseInterpreterLine.
const BinprmBufSize = 256

// IsELF reports whether head starts with the ELF magic number.
func IsELF(head []byte) bool {
	return len(head) >= 4 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F'
}

// ParseInterpreterLine parses the "#!" line of a script from head, the
// first BinprmBufSize bytes of the file (or all of a shorter file; bytes
// beyond BinprmBufSize are ignored). It returns the interpreter path and
// its optional single argument: the rest of the line, blanks around it
// trimmed. The caller then executes interp with argv
// {interp, [arg,] script path, original argv[1:]...}, bounds the nesting
// of interpreters (Linux: fs/exec.c, exec_binprm() gives up with ELOOP),
// and accounts the new strings against the argument limits.
//
// It fails with ENOEXEC when head is not a "#!" script, names no
// interpreter, or has no newline within the buffer and the path could
// have been cut short; with ENOENT when a NUL right after "#!" and blanks
// makes the path empty, which Linux fails to open. Like Linux 5.0 and
// later, a line that does not end within the buffer is accepted as long
// as the path ends there: only the argument is cut.
//
// One case is not mirrored: when a NUL byte directly follows the blanks
// after the path ("#!/bin/sh \x00..."), Linux passes an empty argument;
// here arg is "" and indistinguishable from no argument.
//
// Linux: fs/binfmt_script.c, load_script().
func ParseInterpreterLine(head []byte) (interp, arg string, err error) {
	// Linux reads the head into a zeroed buffer of BinprmBufSize bytes.
	var buf [BinprmBufSize]byte
	copy(buf[:], head)
	if buf[0] != '#' || buf[1] != '!' {
		return "", "", fmt.Errorf("script: no #! line: %w", unix.ENOEXEC)
	}
	const bufEnd = BinprmBufSize - 1

	// Indices stand for load_script()'s pointers; -1 for NULL.
	iEnd := -1
	for i, c := range buf {
		if c == '\n' {
			iEnd = i
			break
		}
	}
	if iEnd < 0 {
		iEnd = nextNonBlank(&buf, 2, bufEnd)
		if iEnd < 0 {
			return "", "", fmt.Errorf("script: #! line of blanks: %w", unix.ENOEXEC)
		}
		// Without a later blank or NUL the path may be truncated.
		if nextTerminator(&buf, iEnd, bufEnd) < 0 {
			return "", "", fmt.Errorf("script: interpreter path longer than the #! buffer: %w", unix.ENOEXEC)
		}
		iEnd = bufEnd
	}
	// Trim trailing blanks; buf[1] is '!', so this stops at 2.
	for isBlank(buf[iEnd-1]) {
		iEnd--
	}
	iName := nextNonBlank(&buf, 2, iEnd)
	if iName < 0 || iName == iEnd {
		return "", "", fmt.Errorf("script: no interpreter named: %w", unix.ENOEXEC)
	}
	iArg := -1
	iSep := nextTerminator(&buf, iName, iEnd)
	if iSep >= 0 && buf[iSep] != 0 {
		iArg = nextNonBlank(&buf, iSep, iEnd)
	}

	// Linux NUL-terminates in place and copies C strings.
	buf[iEnd] = 0
	if iArg >= 0 {
		buf[iSep] = 0
		arg = cstring(buf[iArg:])
	}
	interp = cstring(buf[iName:])
	if interp == "" {
		return "", "", fmt.Errorf("script: empty interpreter path: %w", unix.ENOENT)
	}
	return interp, arg, nil
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// nextNonBlank returns the index of the first byte in buf[first:last+1]
// that is not a space or tab, or -1.
func nextNonBlank(buf *[BinprmBufSize]byte, first, last int) int {
	for i := first; i <= last; i++ {
		if !isBlank(buf[i]) {
			return i
		}
	}
	return -1
}

// nextTerminator returns the index of the first space, tab or NUL in
// buf[first:last+1], or -1.
func nextTerminator(buf *[BinprmBufSize]byte, first, last int) int {
	for i := first; i <= last; i++ {
		if isBlank(buf[i]) || buf[i] == 0 {
			return i
		}
	}
	return -1
}
