package suite

import (
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestNumbers(t *testing.T) {
	vs, err := numbers([]byte("1.5 2\n"))
	if err != nil || len(vs) != 2 || vs[0] != 1.5 || vs[1] != 2 {
		t.Errorf("numbers: %v %v", vs, err)
	}
	for _, bad := range []string{"", "listening\n", "1.5 x"} {
		if _, err := numbers([]byte(bad)); err == nil {
			t.Errorf("numbers(%q) took it", bad)
		}
	}
}

func TestWrkRate(t *testing.T) {
	out := "Running 5s test @ http://10.0.0.2:8080/\n  1 threads and 32 connections\n" +
		"  Socket errors: connect 0, read 32, write 0, timeout 0\nRequests/sec:   8420.51\nTransfer/sec:      1.52MB\n"
	if v, err := wrkRate([]byte(out)); err != nil || v[0] != 8420.51 {
		t.Errorf("wrkRate: %v %v", v, err)
	}
	if _, err := wrkRate([]byte(out + "  Non-2xx or 3xx responses: 12\n")); err == nil {
		t.Error("wrkRate took a run with error responses")
	}
}

func TestPathsIn(t *testing.T) {
	native := &Sample{W: &Workspace{Rootfs: "/w/rootfs", Vol: "/w/vol"}, RT: &Runtime{Kind: Native}}
	container := &Sample{W: native.W, RT: &Runtime{Kind: Magawa}}
	for in, want := range map[string]string{
		"/bench/src.tar":                        "/w/rootfs/bench/src.tar",
		"rm -rf /tmp/untar && mkdir /tmp/untar": "rm -rf /w/rootfs/tmp/untar && mkdir /w/rootfs/tmp/untar",
		"/vol":                                  "/w/vol",
		"-o=/vol/x":                             "-o=/w/vol/x",
		"/bin/busybox":                          "/bin/busybox",
		"i=0; while [ $i -lt 5 ]; do :; done":   "i=0; while [ $i -lt 5 ]; do :; done",
	} {
		if got := pathsIn(native, in); got != want {
			t.Errorf("natively %q: %q, want %q", in, got, want)
		}
		if got := pathsIn(container, in); got != in {
			t.Errorf("in a container %q: %q, want it unchanged", in, got)
		}
	}
}

// TestTextBlob: the gzip input is the same every run, and compresses
// as text does, neither incompressible nor trivial.
func TestTextBlob(t *testing.T) {
	a, b := textBlob(1<<20), textBlob(1<<20)
	if !bytes.Equal(a, b) || len(a) != 1<<20 {
		t.Fatal("textBlob is not the same bytes each time")
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(a)
	w.Close()
	if r := float64(len(a)) / float64(z.Len()); r < 2 || r > 6 {
		t.Errorf("textBlob compresses %.1f:1", r)
	}
}

// TestCProgram: the file gcc compiles in the sandbox compiles.
func TestCProgram(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "prog.c")
	if err := os.WriteFile(src, cProgram(5), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gcc", "-O2", "-Wall", "-Werror", "-o", filepath.Join(dir, "prog"), src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
}

func TestCasesUnique(t *testing.T) {
	groups := map[string]bool{}
	for _, g := range Groups {
		groups[g] = true
	}
	for _, quick := range []bool{false, true} {
		seen := map[string]bool{}
		for _, c := range Cases(&Workspace{Quick: quick}) {
			if seen[c.ID] {
				t.Errorf("case %s twice", c.ID)
			}
			seen[c.ID] = true
			if !groups[c.Group] || c.run == nil || len(c.Metrics) == 0 {
				t.Errorf("case %s: group %q, %d metrics, run %v", c.ID, c.Group, len(c.Metrics), c.run != nil)
			}
		}
	}
}
