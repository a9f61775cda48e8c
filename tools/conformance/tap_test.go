package conformance

import (
	"strings"
	"testing"
)

func TestParseTAP(t *testing.T) {
	const stream = `TAP version 13
ok 1 - root filesystem
not ok 2 - mounts[3] (/dev/shm) found
  ---
  {
    "reference": "https://example/config.md#mounts"
  }
  ...
ok 3 # SKIP linux.uidMappings not set
not ok 4 # TODO later
# a diagnostic line
stray output that is not TAP
ok 5 - has # in its name
1..5
`
	tap, err := ParseTAP(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if tap.Pass != 2 || tap.Fail != 1 || tap.Skip != 2 || tap.Plan != 5 {
		t.Errorf("pass %d fail %d skip %d plan %d, want 2 1 2 5", tap.Pass, tap.Fail, tap.Skip, tap.Plan)
	}
	if len(tap.Problems) != 0 {
		t.Errorf("problems %q, want none", tap.Problems)
	}
	if len(tap.Failures) != 1 {
		t.Fatalf("failures %+v", tap.Failures)
	}
	f := tap.Failures[0]
	if f.Num != 2 || f.Description != "mounts[3] (/dev/shm) found" {
		t.Errorf("failure %d %q", f.Num, f.Description)
	}
	if !strings.Contains(f.Diagnostic, `"reference": "https://example/config.md#mounts"`) || strings.Contains(f.Diagnostic, "diagnostic line") {
		t.Errorf("diagnostic %q", f.Diagnostic)
	}
}

func TestParseTAPProblems(t *testing.T) {
	for _, tc := range []struct {
		name, stream, problem string
		skipAll               string
	}{
		{"empty", "", "no TAP output", ""},
		{"no plan", "TAP version 13\nok 1 - a\n", "no plan (1 tests ran)", ""},
		{"short", "1..3\nok 1 - a\nnot ok 2 - b\n", "planned 3 tests, 2 ran", ""},
		{"bail out", "1..3\nok 1 - a\nBail out! the runtime is gone\n", "bail out: the runtime is gone", ""},
		{"two plans", "1..1\nok 1 - a\n1..1\n", "2 plans in one TAP stream", ""},
		{"two streams", "TAP version 13\nok 1 - a\n1..1\nTAP version 13\n1..0\nTAP version 13\nok 1\nok 2\n1..2\n", "", ""},
		{"short second stream", "TAP version 13\nok 1 - a\n1..1\nTAP version 13\nok 1\n1..2\n", "planned 2 tests, 1 ran", ""},
		{"skip all", "1..0 # SKIP no cgroup v1\n", "", "no cgroup v1"},
		{"late plan", "ok 1\nok 2\n1..2\n", "", ""},
	} {
		tap, err := ParseTAP(strings.NewReader(tc.stream))
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(tap.Problems, "; ")
		if got != tc.problem {
			t.Errorf("%s: problems %q, want %q", tc.name, got, tc.problem)
		}
		if tap.SkipAll != tc.skipAll {
			t.Errorf("%s: skip all %q, want %q", tc.name, tap.SkipAll, tc.skipAll)
		}
	}
}

// runtime-tools' lifecycle programs report a failure as an error block
// with no test line and plan 1..0; the programs that run runtimetest
// print a block before their own test line, which claims it.
func TestParseTAPErrorBlocks(t *testing.T) {
	const lifecycle = `TAP version 13
  ---
  {
    "error": "Hooks MUST be called in the listed order\nRefer to: https://example"
  }
  ...
1..0
`
	tap, err := ParseTAP(strings.NewReader(lifecycle))
	if err != nil {
		t.Fatal(err)
	}
	if tap.Fail != 1 || tap.Errors != 1 || len(tap.Problems) != 0 || len(tap.Failures) != 1 ||
		tap.Failures[0].Description != "Hooks MUST be called in the listed order" {
		t.Errorf("lifecycle: %+v", tap)
	}

	const claimed = `TAP version 13
  ---
  {
    "error": "exit status 1",
    "stdout": "TAP version 13\nok 1 - a\nnot ok 2 - mounts[3] (/dev/shm) found\n1..2\n"
  }
  ...
not ok 1 - check root propagation: shared
  ---
  {
    "stdout": "ok 1 - x\n"
  }
  ...
ok 2 - passes
  ---
  {
    "error": ""
  }
  ...
  ---
  {
    "stderr": "",
    "stdout": "TAP version 13\nnot ok 5 - inner five\n1..5\n"
  }
  ...
not ok 3 - its block came first
1..3
`
	tap, err = ParseTAP(strings.NewReader(claimed))
	if err != nil {
		t.Fatal(err)
	}
	if tap.Fail != 2 || tap.Pass != 1 || tap.Errors != 0 || len(tap.Problems) != 0 {
		t.Fatalf("claimed: %+v", tap)
	}
	if d := tap.Failures[0].Diagnostic; !strings.Contains(d, "exit status 1") {
		t.Errorf("the block before a test line is its diagnostic: %q", d)
	}
	if inner := strings.Join(tap.Failures[1].Inner(), "|"); inner != "not ok 5 - inner five" {
		t.Errorf("the stdout block before not ok 3 is its own: %q", inner)
	}
	inner := strings.Join(tap.Failures[0].Inner(), "|")
	if want := "not ok 2 - mounts[3] (/dev/shm) found|error: exit status 1"; inner != want {
		t.Errorf("inner %q, want %q", inner, want)
	}
}
