package test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// TestEscape runs programs/sandbox_only/escape.c with a root of its own
// (--root-dir), next to which sits a secret file. The program tries
// symbolic links out of the root, ".." chains, /proc/self/root and the
// other magic links, chroot and openat2, while the test swaps a directory
// inside the root with a symbolic link to ".." on the host, racing the
// sandbox's path walks. No path may ever read the secret.
func TestEscape(t *testing.T) {
	magawaBin(t)
	progs := programs(t)
	forEachPlatform(t, func(t *testing.T, platform string) {
		base := t.TempDir()
		if err := os.Chmod(base, 0o755); err != nil {
			t.Fatal(err)
		}
		root := filepath.Join(base, "root")
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(os.WriteFile(filepath.Join(base, "secret"), []byte("SECRET: must never be read\n"), 0o644))
		for _, d := range []string{"bin", "dir", "swap", "tmp", "proc", "sys", "dev"} {
			must(os.MkdirAll(filepath.Join(root, d), 0o755))
		}
		exe, err := os.ReadFile(progs["sandbox_only/escape"].Path)
		must(err)
		must(os.WriteFile(filepath.Join(root, "bin", "escape"), exe, 0o755))
		must(os.Symlink("/../secret", filepath.Join(root, "link-abs")))
		must(os.Symlink("../secret", filepath.Join(root, "link-rel")))
		must(os.Symlink("../..", filepath.Join(root, "dir", "up")))
		must(os.Symlink("..", filepath.Join(root, "swaplink")))
		// A volume whose host directory sits next to the secret: from
		// inside, its ".." is the sandbox's root, never the host's
		// parent, and its links resolve in the sandbox.
		vol := filepath.Join(base, "vol")
		must(os.MkdirAll(vol, 0o755))
		must(os.Symlink("../secret", filepath.Join(vol, "up")))
		must(os.Symlink("/../../secret", filepath.Join(vol, "abs")))

		// Swap /swap and /swaplink as fast as the host allows while the
		// program walks through /swap.
		var stop atomic.Bool
		var wg sync.WaitGroup
		wg.Add(1)
		swaps := 0
		go func() {
			defer wg.Done()
			a, b := filepath.Join(root, "swap"), filepath.Join(root, "swaplink")
			for !stop.Load() {
				if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
					t.Errorf("swapping: %v", err)
					return
				}
				swaps++
			}
		}()
		r := run(t, runSpec{Argv: []string{magawaBin(t), "--platform=" + platform, "do", "--root-dir", root, "--volume", vol + ":/vol", "--", "/bin/escape"}})
		stop.Store(true)
		wg.Wait()
		out := string(r.Stdout)
		if r.Status != (exitStatus{}) || !strings.Contains(out, "leaks: 0\n") || !strings.Contains(out, "tries: many\n") {
			t.Errorf("escape: %v, %d host swaps\nstdout:\n%s\nstderr:\n%s", r.Status, swaps, r.Stdout, r.Stderr)
		}
		if strings.Contains(out, "LEAK") || strings.Contains(string(r.Stderr), "SECRET") {
			t.Errorf("the secret next to the root was read:\n%s", out)
		}
		t.Logf("%d host swaps during the run", swaps)
	})
}
