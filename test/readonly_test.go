package test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReadOnlyRoot runs programs/sandbox_only/readonly.c, which tries every
// way of changing a host file, creating one, or removing a directory
// through the sandbox's view of the host root, then checks on the host
// that nothing changed. Opening for writing must fail with EROFS, as on a
// read-only mount; the other calls may also be unimplemented (ENOSYS).
func TestReadOnlyRoot(t *testing.T) {
	magawaBin(t)
	progs := programs(t)
	forEachPlatform(t, func(t *testing.T, platform string) {
		t.Parallel()
		dir := t.TempDir()
		// The sandbox must be able to reach the directory.
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "precious")
		newPath := filepath.Join(dir, "new")
		const content = "original content\n"
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		before, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}

		r := runSandbox(t, platform, progs["sandbox_only/readonly"].Path, file, newPath, dir)
		if r.Status != (exitStatus{}) {
			t.Errorf("readonly: %v\nstdout:\n%s\nstderr:\n%s", r.Status, r.Stdout, r.Stderr)
		}

		// The host.
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("the file is gone: %v", err)
		}
		if string(b) != content {
			t.Errorf("file content changed to %q", b)
		}
		after, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if after.Mode() != before.Mode() || !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
			t.Errorf("file metadata changed: before %v %v %d, after %v %v %d",
				before.Mode(), before.ModTime(), before.Size(), after.Mode(), after.ModTime(), after.Size())
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("the directory is gone: %v", err)
		}
		if len(entries) != 1 || entries[0].Name() != "precious" {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("directory now holds %v, want only [precious]", names)
		}

		// What the program saw.
		sawContent := false
		sc := bufio.NewScanner(bytes.NewReader(r.Stdout))
		for sc.Scan() {
			what, res, ok := strings.Cut(sc.Text(), ": ")
			if !ok {
				continue
			}
			if what == "content" {
				sawContent = res == strings.TrimSuffix(content, "\n")
				continue
			}
			errno, failed := strings.CutPrefix(res, "-1 ")
			if !failed {
				t.Errorf("%s succeeded in the sandbox (returned %s)", what, res)
				continue
			}
			want := []string{"EROFS", "ENOSYS", "EPERM", "EBADF", "EINVAL"}
			if strings.HasPrefix(what, "open") || strings.HasPrefix(what, "creat") {
				want = []string{"EROFS"}
			}
			if !slices.Contains(want, errno) {
				t.Errorf("%s failed with %s, want one of %v", what, errno, want)
			}
		}
		if !sawContent {
			t.Errorf("readonly did not read back the original content\nstdout:\n%s", r.Stdout)
		}
	})
}
