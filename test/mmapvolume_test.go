package test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// volumeDir returns a new host directory for a volume, open to the
// sandbox's programs.
func volumeDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestMmapSharedVolume runs programs/sandbox_only/mmap_volume.c natively
// and on a volume (the gofer's page cache, kernel/fs/gofer/pagecache.go):
// MAP_SHARED mappings are coherent with read(2), write(2), other
// mappings and a forked child, and their stores reach the host file at
// msync(MS_SYNC), fsync, the last munmap and the last writer's close,
// which the program checks through a second volume of the same host
// directory (whose files do not share the first's cache). The host file
// is checked afterwards too.
func TestMmapSharedVolume(t *testing.T) {
	magawaBin(t)
	prog := programs(t)["sandbox_only/mmap_volume"].Path
	nativeDir := volumeDir(t)
	native := runNative(t, prog, nativeDir, nativeDir)
	if native.Status != (exitStatus{}) {
		t.Fatalf("natively: %v\n%s%s", native.Status, native.Stdout, native.Stderr)
	}
	want, err := os.ReadFile(filepath.Join(nativeDir, "shared"))
	if err != nil {
		t.Fatal(err)
	}
	forEachPlatform(t, func(t *testing.T, platform string) {
		t.Parallel()
		dir := volumeDir(t)
		r := run(t, runSpec{Argv: []string{magawaBin(t), "--platform=" + platform, "do",
			"--volume", dir + ":/vol", "--volume", dir + ":/hostview", "--", prog, "/vol", "/hostview"}})
		compareResults(t, native, r)
		got, err := os.ReadFile(filepath.Join(dir, "shared"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("the host file differs from the native run's:\n%q\nwant\n%q", got, want)
		}
	})
}

// sqliteWAL is a Python program that writes a SQLite database in WAL
// mode (whose -shm index is a MAP_SHARED mapping) from four processes at
// once, then leaves a WAL that was never checkpointed, and exits without
// closing.
const sqliteWAL = `
import os, sqlite3, sys
db = sys.argv[1]
c = sqlite3.connect(db, timeout=60)
c.execute('pragma journal_mode=wal')
c.execute('create table t(p, i)')
c.commit()
kids = []
for k in range(4):
    pid = os.fork()
    if pid == 0:
        d = sqlite3.connect(db, timeout=60)
        for i in range(100):
            d.execute('insert into t values(?, ?)', (k, i))
            d.commit()
        d.close()
        os._exit(0)
    kids.append(pid)
for pid in kids:
    if os.waitpid(pid, 0)[1] != 0:
        sys.exit('a writer failed')
c.execute('pragma wal_autocheckpoint=0')
for i in range(50):
    c.execute('insert into t values(9, ?)', (i,))
    c.commit()
print(c.execute('select count(*) from t').fetchone()[0])
sys.stdout.flush()
os._exit(0)
`

// TestSQLiteWALVolume runs SQLite in WAL mode on a volume, then reads the
// database natively: every row must be there, the database intact.
func TestSQLiteWALVolume(t *testing.T) {
	magawaBin(t)
	python, err := exec.LookPath("python3")
	if err != nil {
		skip(t, "needs python3 with sqlite3 (apt-get install python3)")
	}
	if err := exec.Command(python, "-c", "import sqlite3").Run(); err != nil {
		skip(t, "needs python3's sqlite3 module")
	}
	forEachPlatform(t, func(t *testing.T, platform string) {
		t.Parallel()
		dir := volumeDir(t)
		r := run(t, runSpec{Argv: []string{magawaBin(t), "--platform=" + platform, "do",
			"--volume", dir + ":/data", "--", python, "-c", sqliteWAL, "/data/t.db"}})
		if r.Status != (exitStatus{}) || strings.TrimSpace(string(r.Stdout)) != "450" {
			t.Fatalf("in the sandbox: %v\nstdout:\n%s\nstderr:\n%s", r.Status, r.Stdout, r.Stderr)
		}
		out, err := exec.Command(python, "-c", `import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(c.execute('pragma integrity_check').fetchone()[0], c.execute('select count(*) from t').fetchone()[0])`,
			filepath.Join(dir, "t.db")).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok 450" {
			t.Errorf("reading the database natively: %v\n%s", err, out)
		}
	})
}
