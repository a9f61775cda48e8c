package sandbox

import (
	"errors"
	"strings"
	"testing"

	"magawa/kernel/memfile"
	"magawa/kernel/platform"
)

// testPlatform starts, or fails to as a host without its features would.
type testPlatform struct {
	platform.Platform
	name string
}

func (p testPlatform) Name() string { return p.name }
func (testPlatform) Close() error   { return nil }

func init() {
	platform.Register("test-unavailable", func(int) (platform.Platform, error) {
		return nil, errors.New("the host does not enable FSGSBASE for user mode")
	})
	platform.Register("test-available", func(int) (platform.Platform, error) {
		return testPlatform{name: "test-available"}, nil
	})
}

func startTestPlatform(t *testing.T, name string, defaults ...string) (*Sandbox, error) {
	t.Helper()
	old := DefaultPlatforms
	DefaultPlatforms = defaults
	t.Cleanup(func() { DefaultPlatforms = old })
	mf, err := memfile.New(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mf.Close() })
	s := &Sandbox{cfg: Config{Platform: name}, mf: mf}
	return s, s.startPlatform()
}

// With no platform asked for, the first default that starts is taken,
// and the runtime is told why the others were passed over.
func TestDefaultPlatformFallsBack(t *testing.T) {
	s, err := startTestPlatform(t, "", "test-unavailable", "test-available")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Platform(); got != "test-available" {
		t.Errorf("platform %q, want test-available", got)
	}
	note := s.PlatformNote()
	for _, want := range []string{"test-unavailable unavailable", "FSGSBASE", "using platform test-available"} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q lacks %q", note, want)
		}
	}

	s, err = startTestPlatform(t, "", "test-available", "test-unavailable")
	if err != nil || s.Platform() != "test-available" || s.PlatformNote() != "" {
		t.Errorf("first default available: platform %v, note %q, err %v", s.p, s.PlatformNote(), err)
	}
}

// A platform asked for by name is that platform or an error, never
// another.
func TestAskedPlatformDoesNotFallBack(t *testing.T) {
	_, err := startTestPlatform(t, "test-unavailable", "test-available")
	if err == nil || !strings.Contains(err.Error(), "FSGSBASE") {
		t.Errorf("err %v, want the platform's own error", err)
	}
	_, err = startTestPlatform(t, "", "test-unavailable")
	if err == nil {
		t.Errorf("no default starts: no error")
	}
}
