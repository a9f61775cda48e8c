package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOverlayRoot runs programs/sandbox_only/overlay.c, which changes a
// host file, creates, links, renames and removes files through the
// sandbox's root (an overlay over the host's root), and prints what it
// sees. Inside the sandbox every change holds; afterwards the host's
// files must be exactly as before.
func TestOverlayRoot(t *testing.T) {
	magawaBin(t)
	progs := programs(t)
	forEachPlatform(t, func(t *testing.T, platform string) {
		t.Parallel()
		dir := t.TempDir()
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

		r := runSandbox(t, platform, progs["sandbox_only/overlay"].Path, file, newPath, dir)
		if r.Status != (exitStatus{}) {
			t.Errorf("overlay: %v\nstdout:\n%s\nstderr:\n%s", r.Status, r.Stdout, r.Stderr)
		}
		want := []string{
			"open O_WRONLY|O_TRUNC: ok",
			"content after write: changed",
			"content after append: changed",
			"more",
			"mode and owner: 600 1:1",
			"new file: new file",
			"mkdir: ok", "symlink: ok", "link: ok", "mkfifo: ok", "rename: ok", "unlink: ok",
			"open unlinked: -1 ENOENT",
			"directory: fifo hard link renamed sub",
			"rmdir with entries: -1 ENOTEMPTY",
		}
		for _, w := range want {
			if !strings.Contains(string(r.Stdout), w+"\n") {
				t.Errorf("the sandbox did not see %q\nstdout:\n%s\nstderr:\n%s", w, r.Stdout, r.Stderr)
			}
		}

		// The host.
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("the file is gone from the host: %v", err)
		}
		if string(b) != content {
			t.Errorf("the host file's content changed to %q", b)
		}
		after, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if after.Mode() != before.Mode() || !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
			t.Errorf("the host file's metadata changed: before %v %v %d, after %v %v %d",
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
			t.Errorf("the host directory now holds %v, want only [precious]", names)
		}
	})
}

// TestOverlayNone runs with --overlay=none: the root is the gofer's
// export itself, writable, so what the program writes reaches the host
// directory (and only it).
func TestOverlayNone(t *testing.T) {
	magawaBin(t)
	requireStaticBusybox(t)
	forEachPlatform(t, func(t *testing.T, platform string) {
		root := t.TempDir()
		if err := os.Chmod(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		bb, err := os.ReadFile(busybox)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), bb, 0o755); err != nil {
			t.Fatal(err)
		}
		r := run(t, runSpec{Argv: []string{magawaBin(t), "--platform=" + platform, "--overlay=none", "do", "--rootfs", root, "--",
			"/bin/busybox", "sh", "-c", "echo through > /written && /bin/busybox mkdir /dir && /bin/busybox cat /written"}})
		if r.Status != (exitStatus{}) || string(r.Stdout) != "through\n" {
			t.Fatalf("--overlay=none: %v\nstdout:\n%s\nstderr:\n%s", r.Status, r.Stdout, r.Stderr)
		}
		b, err := os.ReadFile(filepath.Join(root, "written"))
		if err != nil || string(b) != "through\n" {
			t.Errorf("the write did not reach the host directory: %q, %v", b, err)
		}
		if st, err := os.Stat(filepath.Join(root, "dir")); err != nil || !st.IsDir() {
			t.Errorf("mkdir did not reach the host directory: %v", err)
		}
	})
}
