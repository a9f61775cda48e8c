package syscalldoc

import (
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/kernel"
)

func TestRender(t *testing.T) {
	var st kernel.SyscallTable
	st.Arch = "x86_64"
	fn := func(*kernel.Task, *kernel.SyscallArguments) (uintptr, error) { return 0, nil }
	// Added out of order: the document lists calls by number.
	for _, row := range []kernel.Syscall{
		{Nr: 169, Name: "reboot", Err: unix.EPERM, Note: "a container does not reboot the host"},
		{Nr: 0, Name: "read", Fn: fn, Support: kernel.Supported},
		{Nr: 134, Name: "uselib", Err: unix.ENOSYS, Note: "obsolete"},
		{Nr: 2, Name: "open", Fn: fn, Support: kernel.Partial, Note: "O_RDONLY|O_CLOEXEC only\nfor now"},
		{Nr: 135, Name: "personality"},
	} {
		st.Table[row.Nr] = row
	}
	want := "# System calls (x86_64)\n" +
		"\n" +
		"What magawa's application kernel does with each system call of the Linux ABI.\n" +
		"A **supported** call is implemented with Linux semantics. A **partial** call is\n" +
		"implemented, but some of its flags or modes are not (see its notes). An\n" +
		"**unsupported** call fails with ENOSYS, or with the errno given in its notes, and\n" +
		"is logged once by name. No call is ever passed through to the host kernel.\n" +
		"\n" +
		"Generated from the kernel's system-call table (`kernel/syscalls`) by\n" +
		"`go run ./tools/syscalldoc/cmd`; do not edit by hand.\n" +
		"\n" +
		"| support | calls |\n" +
		"|---|---:|\n" +
		"| supported | 1 |\n" +
		"| partial | 1 |\n" +
		"| unsupported | 3 |\n" +
		"| total | 5 |\n" +
		"\n" +
		"| nr | name | support | notes |\n" +
		"|---:|---|---|---|\n" +
		"| 0 | read | supported |  |\n" +
		"| 2 | open | partial | O_RDONLY\\|O_CLOEXEC only for now |\n" +
		"| 134 | uselib | unsupported | obsolete |\n" +
		"| 135 | personality | unsupported |  |\n" +
		"| 169 | reboot | unsupported | a container does not reboot the host; fails with EPERM |\n"
	if got := Render(&st); got != want {
		t.Errorf("Render:\n%s\nwant:\n%s", got, want)
	}
}

func TestNotes(t *testing.T) {
	fn := func(*kernel.Task, *kernel.SyscallArguments) (uintptr, error) { return 0, nil }
	for _, tt := range []struct {
		row  kernel.Syscall
		want string
	}{
		{kernel.Syscall{Name: "a"}, ""},
		{kernel.Syscall{Name: "a", Err: unix.ENOSYS}, ""},
		{kernel.Syscall{Name: "a", Err: unix.EPERM}, "fails with EPERM"},
		{kernel.Syscall{Name: "a", Err: unix.EPERM, Note: "n"}, "n; fails with EPERM"},
		// Err only matters to a row without an implementation.
		{kernel.Syscall{Name: "a", Fn: fn, Err: unix.EPERM, Note: "n"}, "n"},
		{kernel.Syscall{Name: "a", Err: 4000}, "fails with errno 4000"},
	} {
		if got := notes(&tt.row); got != tt.want {
			t.Errorf("notes(%+v) = %q, want %q", tt.row, got, tt.want)
		}
	}
}
