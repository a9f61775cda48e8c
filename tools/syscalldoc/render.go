package syscalldoc

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
)

// Render returns docs/syscalls.md for t: a title, what the support levels
// mean, how many calls are at each level, and one row per call sorted by
// number.
func Render(t *kernel.SyscallTable) string {
	var rows []*kernel.Syscall
	count := map[kernel.Support]int{}
	for nr := range t.Table {
		// The table is indexed by number, so walking it is the sort.
		if sc := t.Lookup(uintptr(nr)); sc != nil {
			rows = append(rows, sc)
			count[sc.Support]++
		}
	}

	var b strings.Builder
	arch := t.Arch
	if arch == "" {
		arch = "unknown architecture"
	}
	fmt.Fprintf(&b, "# System calls (%s)\n\n", arch)
	b.WriteString("What magawa's application kernel does with each system call of the Linux ABI.\n")
	b.WriteString("A **supported** call is implemented with Linux semantics. A **partial** call is\n")
	b.WriteString("implemented, but some of its flags or modes are not (see its notes). An\n")
	b.WriteString("**unsupported** call fails with ENOSYS, or with the errno given in its notes, and\n")
	b.WriteString("is logged once by name. No call is ever passed through to the host kernel.\n\n")
	b.WriteString("Generated from the kernel's system-call table (`kernel/syscalls`) by\n")
	b.WriteString("`go run ./tools/syscalldoc/cmd`; do not edit by hand.\n\n")

	b.WriteString("| support | calls |\n|---|---:|\n")
	for _, s := range []kernel.Support{kernel.Supported, kernel.Partial, kernel.Unsupported} {
		fmt.Fprintf(&b, "| %s | %d |\n", s, count[s])
	}
	fmt.Fprintf(&b, "| total | %d |\n\n", len(rows))

	b.WriteString("| nr | name | support | notes |\n|---:|---|---|---|\n")
	for _, sc := range rows {
		fmt.Fprintf(&b, "| %d | %s | %s | %s |\n", sc.Nr, cell(sc.Name), sc.Support, cell(notes(sc)))
	}
	return b.String()
}

// notes is a row's note, plus the errno an unimplemented call fails with
// when it is not the default ENOSYS.
func notes(sc *kernel.Syscall) string {
	var parts []string
	if sc.Note != "" {
		parts = append(parts, sc.Note)
	}
	if sc.Fn == nil && sc.Err != 0 && sc.Err != unix.ENOSYS {
		name := unix.ErrnoName(sc.Err)
		if name == "" {
			name = fmt.Sprintf("errno %d", int(sc.Err))
		}
		parts = append(parts, "fails with "+name)
	}
	return strings.Join(parts, "; ")
}

// cell makes text safe inside a Markdown table cell: a "|" would end the
// cell and a newline the row.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r", "")
	return strings.ReplaceAll(s, "\n", " ")
}
