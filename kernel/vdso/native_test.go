package vdso

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// These tests run the image's machine code on the host: testdata/call.c
// maps the image read+exec with a vvar file mapped in the page below it,
// as the loader maps them, and calls the functions.

var (
	callerOnce sync.Once
	callerDir  string
	callerErr  error
)

// caller builds testdata/call.c and writes the image beside it.
func caller(t *testing.T) (bin, img string) {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("needs gcc")
	}
	callerOnce.Do(func() {
		callerDir, callerErr = os.MkdirTemp("", "magawa-vdso-")
		if callerErr != nil {
			return
		}
		if callerErr = os.WriteFile(filepath.Join(callerDir, "vdso.so"), Image(), 0o644); callerErr != nil {
			return
		}
		out, err := exec.Command(gcc, "-O1", "-Wall", "-Werror", "-o", filepath.Join(callerDir, "call"), "testdata/call.c").CombinedOutput()
		if err != nil {
			callerErr = fmt.Errorf("gcc: %v\n%s", err, out)
		}
	})
	if callerErr != nil {
		t.Fatal(callerErr)
	}
	return filepath.Join(callerDir, "call"), filepath.Join(callerDir, "vdso.so")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if callerDir != "" {
		os.RemoveAll(callerDir)
	}
	os.Exit(code)
}

// runCaller runs the caller in mode over the vvar file and returns its
// output, failing unless it exits 0.
func runCaller(t *testing.T, vvar, mode string, extra ...string) string {
	t.Helper()
	bin, img := caller(t)
	args := []string{img, vvar}
	for _, name := range []string{"clock_gettime", "gettimeofday", "time", "getcpu", "clock_getres"} {
		args = append(args, fmt.Sprint(vdsoLookup(t, Image(), 0, "__vdso_"+name, Version)))
	}
	args = append(append(args, mode), extra...)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", mode, err, out)
	}
	return string(out)
}

// vvarFile creates a vvar file holding d (none: zeros) and returns its
// path.
func vvarFile(t *testing.T, d *Data) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vvar")
	b := make([]byte, VVarSize)
	if d != nil {
		NewPage(b).Store(d)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCallNativelyFallback: with a page of zeros every function makes
// its system call and behaves as the host's.
func TestCallNativelyFallback(t *testing.T) {
	if out := runCaller(t, vvarFile(t, nil), "fallback"); out != "ok\n" {
		t.Fatal(out)
	}
}

// TestCallNativelyWriting: while the sequence count is odd (the kernel
// is writing, or a copy of the page was frozen mid-write) the functions
// make their system calls, even though the page holds a whole Data.
func TestCallNativelyWriting(t *testing.T) {
	d := Data{TSC: ReadTSC(), Shift: Shift}
	for _, id := range []int{clockRealtime, clockMonotonic} {
		d.Clocks[id] = Clock{Mult: 1 << Shift, Base: 1}
	}
	path := vvarFile(t, &d)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[vvarSeq] |= 1
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := runCaller(t, path, "fallback"); out != "ok\n" {
		t.Fatal(out)
	}
}

// TestCallNativelyTable compares the machine code with Data.Read over
// pages made up to reach its corners: each result must lie between
// Data.Read at the TSC read just before the call and just after it.
func TestCallNativelyTable(t *testing.T) {
	now := ReadTSC()
	line := Clock{Mult: multOf(0.37), Base: 1_700_000_000_123_456_789, Frac: 1 << 31}
	cases := []struct {
		name string
		d    Data
	}{
		{"typical", Data{TSC: now, Shift: Shift, Clocks: [NumClocks]Clock{
			0:  line,
			1:  {Mult: multOf(0.37), Base: 12_345_678_901_234, Frac: 123},
			4:  {Mult: multOf(0.36999), Base: 12_345_000_000_000},
			5:  line,
			7:  {Mult: multOf(0.37), Base: 99_999_999_999, Frac: 1<<32 - 1},
			11: {Mult: multOf(0.37), Base: 1_700_000_037_000_000_000},
			15: {Mult: 1 << 32, Base: 5},
		}}},
		// A reference TSC in the future counts as now: exact results.
		{"reference ahead", Data{TSC: now + 1<<50, Shift: Shift, Clocks: [NumClocks]Clock{
			0: {Mult: 1, Base: 1_700_000_000_999_999_999, Frac: 1<<32 - 1},
			1: {Mult: 1 << 40, Base: 999_999_999, Frac: 1 << 31},
			6: {Mult: 1, Base: 0},
		}}},
		// The product needs its 128 bits, and the shift its 63.
		{"wide product", Data{TSC: now - min(now, 1<<40), Shift: 63, Clocks: [NumClocks]Clock{
			0: {Mult: 1<<62 + 12345, Base: 1_700_000_000_000_000_000, Frac: 1<<63 - 1},
			1: {Mult: ^uint64(0), Base: 0, Frac: ^uint64(0)},
		}}},
		// The sum carries into the high half: 2 ns whatever the TSC,
		// 0 if the carry were lost.
		{"carry", Data{TSC: now - min(now, 1000), Shift: 63, Clocks: [NumClocks]Clock{
			0: {Mult: 1, Base: 1_700_000_000_999_999_998, Frac: ^uint64(0)},
			1: {Mult: 1, Base: 999_999_999, Frac: ^uint64(0)},
		}}},
		{"no shift", Data{TSC: now, Shift: 0, Clocks: [NumClocks]Clock{
			0: {Mult: 3, Base: 1_699_999_999_999_999_999},
			1: {Mult: 1, Base: 999_999_999, Frac: 7},
		}}},
		// The division by 10^9 is right up to the last seconds of 2^64.
		{"top of the range", Data{TSC: now + 1<<50, Shift: Shift, Clocks: [NumClocks]Clock{
			0: {Mult: 1, Base: ^uint64(0) - 5},
			1: {Mult: 1, Base: ^uint64(0) - 999_999_999},
		}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := runCaller(t, vvarFile(t, &c.d), "table")
			checkTable(t, &c.d, out)
		})
	}
}

func checkTable(t *testing.T, d *Data, out string) {
	t.Helper()
	_, realServed := d.Read(clockRealtime, 0)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 24 {
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	for _, line := range lines {
		f := strings.Fields(line)
		num := func(i int) int64 {
			v, err := strconv.ParseInt(f[i], 10, 64)
			if err != nil {
				if u, err := strconv.ParseUint(f[i], 10, 64); err == nil {
					return int64(u)
				}
				t.Fatalf("%q: %v", line, err)
			}
			return v
		}
		t1, t2 := uint64(num(2)), uint64(num(3))
		if f[0] == "cgt" {
			t1, t2 = uint64(num(4)), uint64(num(5))
		}
		switch f[0] {
		case "cgt":
			id, rc, src := int32(num(1)), num(2), num(3)
			lo, served := d.Read(id, t1)
			if !served {
				if rc != src {
					t.Errorf("clock %d, not served: vDSO %d, system call %d", id, rc, src)
				}
				continue
			}
			hi, _ := d.Read(id, t2)
			sec, nsec := uint64(num(6)), uint64(num(7))
			got := sec*1e9 + nsec
			if rc != 0 || nsec >= 1e9 || got < lo || got > hi {
				t.Errorf("clock %d: rc %d, %d.%09d; Data.Read %d..%d", id, rc, sec, nsec, lo, hi)
			}
		case "tod":
			rc, sec, usec := num(1), uint64(num(4)), uint64(num(5))
			if !realServed {
				if rc != 0 {
					t.Errorf("gettimeofday by system call: %d", rc)
				}
				continue
			}
			lo, _ := d.Read(clockRealtime, t1)
			hi, _ := d.Read(clockRealtime, t2)
			if got := sec*1e6 + usec; rc != 0 || usec >= 1e6 || got < lo/1000 || got > hi/1000 {
				t.Errorf("gettimeofday: rc %d, %d.%06d; Data.Read %d..%d", rc, sec, usec, lo, hi)
			}
		case "time":
			rc, stored := uint64(num(1)), uint64(num(4))
			if !realServed {
				continue
			}
			lo, _ := d.Read(clockRealtime, t1)
			hi, _ := d.Read(clockRealtime, t2)
			if rc != stored || rc < lo/1e9 || rc > hi/1e9 {
				t.Errorf("time: %d (stored %d); Data.Read %d..%d", rc, stored, lo, hi)
			}
		default:
			t.Fatalf("line %q", line)
		}
	}
}

// TestCallNativelyLive runs the machine code against a page that a
// Timekeeper keeps up to date from the host's clocks, updating it every
// few milliseconds while the calls go on: CLOCK_MONOTONIC never goes
// back, and every clock agrees with the host's own (libc and the host's
// vDSO).
func TestCallNativelyLive(t *testing.T) {
	if ok, why := InvariantTSC(); !ok {
		t.Skip("needs an invariant TSC: " + why)
	}
	path := vvarFile(t, nil)
	fd, err := unix.Open(path, unix.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := unix.Mmap(fd, 0, VVarSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	unix.Close(fd)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(b)
	page := NewPage(b)
	const period = 5 * time.Millisecond
	tk := Timekeeper{Period: period}
	for i := 0; ; i++ {
		s := SampleHost()
		d := tk.Update(&s)
		if d.Clocks[clockMonotonic].Mult != 0 {
			page.Store(&d)
			break
		}
		if i == 100 {
			t.Fatal("the Timekeeper publishes nothing")
		}
		time.Sleep(period)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	updates := 0
	go func() {
		defer close(done)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			s := SampleHost()
			d := tk.Update(&s)
			page.Store(&d)
			updates++
		}
	}()
	out := runCaller(t, path, "live", "10000000")
	close(stop)
	<-done
	t.Logf("%d updates meanwhile", updates)
	if !strings.HasSuffix(out, "ok\n") {
		t.Fatal(out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "maxerr" {
			continue
		}
		e, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: up to %v off the host's", f[1], time.Duration(e))
		// The host's coarse clocks move by ticks (up to 10 ms at
		// HZ=100); ours read the fine clock, as the system calls do.
		bound := time.Millisecond
		if strings.HasSuffix(f[1], "_COARSE") {
			bound = 10 * time.Millisecond
		}
		if time.Duration(e) > bound {
			t.Errorf("%s: %v off the host's clock", f[1], time.Duration(e))
		}
	}
}
