package futex

import (
	"encoding/binary"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func waitvOf(mem *fakeMem, vals ...uint32) []Waitv {
	vs := make([]Waitv, len(vals))
	for i, v := range vals {
		vs[i] = Waitv{Val: uint64(v), Addr: mem.addr(i), Flags: Futex2SizeU32 | Futex2Private}
	}
	return vs
}

func TestWaitv(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(4)
	vs := waitvOf(mem, 0, 0, 0)
	vs[1].Flags = Futex2SizeU32 // a shared one
	idx := make(chan int, 1)
	done := async(func() error {
		i, err := m.Waitv(mem, newBlocker(), vs, time.Time{})
		idx <- i
		return err
	})
	k1 := mustKey(t, mem, mem.addr(1), false)
	awaitQueued(t, m, mustKey(t, mem, mem.addr(2), true), 1)
	if n, _ := m.Wake(mustKey(t, mem, mem.addr(1), true), 1, BitsetMatchAny); n != 0 {
		t.Errorf("a private wake reached a shared entry")
	}
	if n, err := m.Wake(k1, 1, BitsetMatchAny); n != 1 || err != nil {
		t.Fatalf("Wake = %d, %v", n, err)
	}
	if err := recv(t, done); err != nil {
		t.Fatalf("Waitv = %v", err)
	}
	if i := <-idx; i != 1 {
		t.Errorf("Waitv = %d, want 1", i)
	}
	checkEmpty(t, m)
}

func TestWaitvValueDiffers(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(4)
	mem.store(mem.addr(2), 5)
	if i, err := m.Waitv(mem, newBlocker(), waitvOf(mem, 0, 0, 0, 0), time.Time{}); i != -1 || err != unix.EAGAIN {
		t.Errorf("Waitv = %d, %v; want EAGAIN", i, err)
	}
	checkEmpty(t, m)
}

// wakeOnLoad wakes the futex at wakeAddr the first time the word at
// loadAddr is read: a wake that lands while Waitv is still queuing.
type wakeOnLoad struct {
	*fakeMem
	m                  *Manager
	loadAddr, wakeAddr uintptr
	done               bool
}

func (w *wakeOnLoad) LoadUint32(addr uintptr) (uint32, error) {
	if addr == w.loadAddr && !w.done {
		w.done = true
		// The bucket of loadAddr is locked; wake from another goroutine.
		key, _ := KeyOf(w.fakeMem, w.wakeAddr, true)
		c := make(chan struct{})
		go func() { w.m.Wake(key, 1, BitsetMatchAny); close(c) }()
		<-c
	}
	return w.fakeMem.LoadUint32(addr)
}

// A futex woken while later ones are being queued is reported even if a
// later value differs.
func TestWaitvWokenDuringSetup(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(64)
	// The second futex must hash to another bucket than the first, or
	// the wake would wait for the lock Waitv holds.
	k0 := mustKey(t, mem, mem.addr(0), true)
	j := 1
	for m.index(mustKey(t, mem, mem.addr(j), true)) == m.index(k0) {
		j++
	}
	mem.store(mem.addr(j), 5)
	vs := []Waitv{
		{Addr: mem.addr(0), Flags: Futex2SizeU32 | Futex2Private},
		{Addr: mem.addr(j), Flags: Futex2SizeU32 | Futex2Private},
	}
	wm := &wakeOnLoad{fakeMem: mem, m: m, loadAddr: mem.addr(j), wakeAddr: mem.addr(0)}
	if i, err := m.Waitv(wm, newBlocker(), vs, time.Time{}); i != 0 || err != nil {
		t.Errorf("Waitv = %d, %v; want 0", i, err)
	}
	checkEmpty(t, m)
}

func TestWaitvErrors(t *testing.T) {
	m := NewManager(nil)
	mem := newFakeMem(4)
	b := newBlocker()
	long := make([]Waitv, WaitvMax+1)
	for i := range long {
		long[i] = Waitv{Addr: mem.addr(0), Flags: Futex2SizeU32}
	}
	for _, tc := range []struct {
		name string
		vs   []Waitv
		want error
	}{
		{"empty", nil, unix.EINVAL},
		{"too many", long, unix.EINVAL},
		{"u8", []Waitv{{Addr: mem.addr(0), Flags: Futex2SizeU8}}, unix.EINVAL},
		{"u64", []Waitv{{Addr: mem.addr(0), Flags: Futex2SizeU64}}, unix.EINVAL},
		{"numa", []Waitv{{Addr: mem.addr(0), Flags: Futex2SizeU32 | Futex2NUMA}}, unix.EINVAL},
		{"unknown flag", []Waitv{{Addr: mem.addr(0), Flags: Futex2SizeU32 | 0x10}}, unix.EINVAL},
		{"val over 32 bits", []Waitv{{Val: 1 << 32, Addr: mem.addr(0), Flags: Futex2SizeU32}}, unix.EINVAL},
		{"misaligned", []Waitv{{Addr: mem.addr(0) + 1, Flags: Futex2SizeU32}}, unix.EINVAL},
		{"unmapped", []Waitv{{Addr: mem.addr(0), Flags: Futex2SizeU32}, {Addr: 0x100, Flags: Futex2SizeU32}}, unix.EFAULT},
		{"mpol accepted", []Waitv{{Val: 1, Addr: mem.addr(0), Flags: Futex2SizeU32 | Futex2MPOL}}, unix.EAGAIN},
	} {
		if i, err := m.Waitv(mem, b, tc.vs, time.Time{}); i != -1 || err != tc.want {
			t.Errorf("%s: Waitv = %d, %v; want %v", tc.name, i, err, tc.want)
		}
	}
	if _, err := m.Waitv(mem, b, waitvOf(mem, 0, 0), time.Now().Add(time.Millisecond)); err != ErrTimedOut {
		t.Errorf("Waitv timeout = %v", err)
	}
	b.interrupt()
	if _, err := m.Waitv(mem, b, waitvOf(mem, 0, 0), time.Time{}); err != ErrInterrupted {
		t.Errorf("Waitv interrupted = %v", err)
	}
	checkEmpty(t, m)
}

func TestDecodeWaitv(t *testing.T) {
	raw := make([]byte, 2*WaitvSize)
	binary.LittleEndian.PutUint64(raw[0:], 7)
	binary.LittleEndian.PutUint64(raw[8:], 0x1000)
	binary.LittleEndian.PutUint32(raw[16:], Futex2SizeU32|Futex2Private)
	binary.LittleEndian.PutUint64(raw[24:], 1<<40)
	binary.LittleEndian.PutUint64(raw[32:], 0x2004)
	vs, err := DecodeWaitv(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := []Waitv{{7, 0x1000, Futex2SizeU32 | Futex2Private}, {1 << 40, 0x2004, 0}}
	for i := range want {
		if vs[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, vs[i], want[i])
		}
	}
	raw[44] = 1 // __reserved
	if _, err := DecodeWaitv(raw); err != unix.EINVAL {
		t.Errorf("reserved set: %v", err)
	}
	if _, err := DecodeWaitv(raw[:30]); err != unix.EINVAL {
		t.Errorf("short: %v", err)
	}
}

func TestDeadline(t *testing.T) {
	for _, ts := range [][2]int64{{-1, 0}, {0, -1}, {0, 1e9}} {
		if _, err := Deadline(ts[0], ts[1], true, false); err != unix.EINVAL {
			t.Errorf("Deadline(%v) = %v, want EINVAL", ts, err)
		}
	}
	before := time.Now()
	d, err := Deadline(2, 5, true, false)
	after := time.Now()
	if err != nil || d.Before(before.Add(2*time.Second+5)) || d.After(after.Add(2*time.Second+5)) {
		t.Errorf("relative Deadline = %v, %v; want now+2s", d, err)
	}
	d, err = Deadline(1700000000, 42, false, true)
	if err != nil || !d.Equal(time.Unix(1700000000, 42)) {
		t.Errorf("realtime Deadline = %v, %v", d, err)
	}
	var mono unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono); err != nil {
		t.Fatal(err)
	}
	before = time.Now()
	d, err = Deadline(mono.Sec+3, mono.Nsec, false, false)
	if err != nil || d.Before(before.Add(2*time.Second)) || d.After(time.Now().Add(3*time.Second)) {
		t.Errorf("monotonic Deadline = %v, %v; want about now+3s", d, err)
	}
	if d, err := Deadline(1<<62, 0, true, false); err != nil || d.Before(time.Now()) {
		t.Errorf("huge Deadline = %v, %v; want far future", d, err)
	}
}
