package shim

import (
	"reflect"
	"strings"
	"testing"
)

func TestFlagsFromTOML(t *testing.T) {
	flags, err := flagsFromTOML([]byte("# comment\n[magawa]\nplatform = \"systrap\"\nstrace = true\nsandbox = \"vm\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"--platform=systrap", "--sandbox=vm", "--strace=true"}; !reflect.DeepEqual(flags, want) {
		t.Errorf("flags %q, want %q", flags, want)
	}
	if flags, err := flagsFromTOML([]byte("[other]\nx = 1\n")); err != nil || flags != nil {
		t.Errorf("a file without [magawa]: %q, %v; want no flags", flags, err)
	}
	for body, want := range map[string]string{
		"[magawa]\nroot = \"/tmp\"\n":  "root: not an option",
		"[magawa]\nstrace = \"yes\"\n": "want true or false",
		"[magawa]\nplatform = true\n":  "want a string",
		"[magawa]\nplatform = 3\n":     "want a string or a boolean",
		"magawa = 1\n":                 "not a table",
		"[magawa\n":                    "options file",
	} {
		if _, err := flagsFromTOML([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", body, err, want)
		}
	}
}
