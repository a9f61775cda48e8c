package loader

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseInterpreterLine(t *testing.T) {
	long := strings.Repeat("a", 300)
	for _, tc := range []struct {
		name, head  string
		interp, arg string
		err         unix.Errno
	}{
		{name: "plain", head: "#!/bin/sh\necho hi\n", interp: "/bin/sh"},
		{name: "argument", head: "#! /bin/sh -e \n", interp: "/bin/sh", arg: "-e"},
		{name: "rest of line is one argument", head: "#!/usr/bin/env python3 -u  -W x\n", interp: "/usr/bin/env", arg: "python3 -u  -W x"},
		{name: "tabs", head: "#!\t/bin/sh\t-x\t\n", interp: "/bin/sh", arg: "-x"},
		{name: "no newline, short file", head: "#!/bin/sh", interp: "/bin/sh"},
		// The blanks are followed by the buffer's NUL padding, not by the
		// end of the line, so Linux keeps them.
		{name: "no newline, short file, argument", head: "#!/bin/sh -x  ", interp: "/bin/sh", arg: "-x  "},
		{name: "carriage return kept", head: "#!/bin/sh\r\n", interp: "/bin/sh\r"},
		{name: "NUL ends the path", head: "#!/bin/sh\x00 -x\n", interp: "/bin/sh"},
		{name: "NUL ends the argument", head: "#!/bin/sh -a\x00b\n", interp: "/bin/sh", arg: "-a"},
		// Linux passes an empty argument here; we cannot tell it apart.
		{name: "NUL starts the argument", head: "#!/bin/sh \x00foo\n", interp: "/bin/sh"},
		{name: "line longer than the buffer: argument cut", head: "#!/bin/sh " + long + "\n", interp: "/bin/sh", arg: long[:245]},
		{name: "newline past the buffer", head: "#!/bin/sh -x" + strings.Repeat(" ", 250) + "\n", interp: "/bin/sh", arg: "-x"},
		{name: "path ends at the last byte", head: "#!" + strings.Repeat("p", 253) + " ", interp: strings.Repeat("p", 253)},
		{name: "path too long for the buffer", head: "#!/" + long, err: unix.ENOEXEC},
		{name: "path too long, then newline", head: "#!/" + long + "\n", err: unix.ENOEXEC},
		{name: "not a script", head: "echo hi\n", err: unix.ENOEXEC},
		{name: "ELF", head: "\x7fELF\x02\x01\x01", err: unix.ENOEXEC},
		{name: "empty", head: "", err: unix.ENOEXEC},
		{name: "hash only", head: "#", err: unix.ENOEXEC},
		{name: "no interpreter", head: "#!\n", err: unix.ENOEXEC},
		{name: "blanks only", head: "#!  \t \nfoo", err: unix.ENOEXEC},
		{name: "blanks filling the buffer", head: "#!" + strings.Repeat(" ", 300), err: unix.ENOEXEC},
		// Linux goes on to open "" and fails so.
		{name: "bare #! file", head: "#!", err: unix.ENOENT},
		{name: "blanks then end of file", head: "#!   ", err: unix.ENOENT},
		{name: "NUL first", head: "#!\x00/bin/sh\n", err: unix.ENOENT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			interp, arg, err := ParseInterpreterLine([]byte(tc.head))
			if tc.err != 0 {
				if !errors.Is(err, tc.err) {
					t.Fatalf("= %q, %q, %v; want %v", interp, arg, err, tc.err)
				}
				return
			}
			if err != nil || interp != tc.interp || arg != tc.arg {
				t.Fatalf("= %q, %q, %v; want %q, %q", interp, arg, err, tc.interp, tc.arg)
			}
		})
	}
}

func TestIsELF(t *testing.T) {
	for head, want := range map[string]bool{
		"\x7fELF":         true,
		"\x7fELF\x02\x01": true,
		"\x7fEL":          false,
		"":                false,
		"#!/bin/sh":       false,
		"\x7fElf":         false,
	} {
		if got := IsELF([]byte(head)); got != want {
			t.Errorf("IsELF(%q) = %v", head, got)
		}
	}
}

func FuzzParseInterpreterLine(f *testing.F) {
	for _, s := range []string{"#!/bin/sh\n", "#! /usr/bin/env a b\n", "#!", "#!/bin/sh\x00x", "#!" + strings.Repeat(" ", 254) + "x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		interp, arg, err := ParseInterpreterLine(head)
		if err != nil {
			var errno unix.Errno
			if !errors.As(err, &errno) {
				t.Fatalf("error without errno: %v", err)
			}
			return
		}
		if interp == "" || strings.ContainsAny(interp, " \t\x00") || len(interp)+len(arg) > BinprmBufSize {
			t.Fatalf("interp %q arg %q", interp, arg)
		}
		if strings.ContainsRune(arg, 0) || strings.TrimLeft(arg, " \t") != arg {
			t.Fatalf("arg %q", arg)
		}
	})
}
