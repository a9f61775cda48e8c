package oci

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeBundle makes a bundle directory with a rootfs and the given
// config.json.
func writeBundle(t *testing.T, config string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigName), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadMinimal(t *testing.T) {
	dir := writeBundle(t, `{"ociVersion": "1.0.2-dev", "root": {"path": "rootfs"},
		"process": {"args": ["sh"], "cwd": "/"}, "somethingNew": {"x": 1}}`)
	spec, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Root.Path != "rootfs" || spec.Process.Args[0] != "sh" {
		t.Errorf("loaded %+v", spec)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, config, want string
	}{
		{
			name:   "not an object",
			config: `["sh"]`,
			want:   `config.json: not a JSON object`,
		},
		{
			name:   "empty",
			config: "  \n",
			want:   `config.json: not a JSON object`,
		},
		{
			name:   "syntax",
			config: "{\"ociVersion\": \"1.0.0\",\n  \"root\": }",
			want:   `config.json: line 2, column 11: invalid character '}' looking for beginning of value`,
		},
		{
			name:   "trailing garbage",
			config: `{"ociVersion": "1.0.0"} x`,
			want:   `config.json: line 1, column 25: invalid character 'x' after top-level value`,
		},
		{
			name:   "string for array",
			config: "{\"ociVersion\": \"1.0.0\",\n \"process\": {\"args\": \"sh\"}}",
			want:   `config.json: line 2, column 25: process.args: JSON string where an array was expected`,
		},
		{
			name:   "negative uid",
			config: `{"process": {"user": {"uid": -1}}}`,
			want:   `config.json: line 1, column 31: process.user.uid: JSON number -1 where an unsigned 32-bit integer was expected`,
		},
		{
			name:   "array for object",
			config: `{"linux": []}`,
			want:   `config.json: line 1, column 11: linux: JSON array where an object was expected`,
		},
		{
			name:   "invalid after parsing",
			config: `{"ociVersion": "1.0.0", "root": {"path": "rootfs"}, "process": {"args": [], "cwd": "/"}}`,
			want:   `config.json: process.args: must not be empty`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeBundle(t, tc.config))
			if err == nil {
				t.Fatalf("loaded; want error %q", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got %s\nwant %s", err, tc.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %q does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestLoadTooLarge(t *testing.T) {
	// Valid JSON, so only the size can be what is refused.
	config := `{"ociVersion": "1.0.0", "annotations": {"pad": "` + strings.Repeat("x", MaxConfigSize) + `"}}`
	_, err := Load(writeBundle(t, config))
	if err == nil || err.Error() != "config.json: larger than 4 MiB" {
		t.Errorf("error %v, want config.json: larger than 4 MiB", err)
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(t.TempDir())
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v, want one wrapping ErrNotExist", err)
	}
	if errors.Is(err, ErrInvalid) {
		t.Errorf("a missing file is not an invalid configuration: %v", err)
	}
}
