package tmpfs

import (
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

type fakeSpace struct{}

func (fakeSpace) InvalidateMapping(vfs.Mappable, uint64, uint64) {}

func sealable(t *testing.T, fs *FS) (*File, vfs.FileImpl) {
	t.Helper()
	in, err := root(fs).Tmpfile(ctx, reg(0o777))
	if err != nil {
		t.Fatal(err)
	}
	f := in.(*File)
	f.InitSeals(0)
	return f, open(t, f)
}

func TestSealsOfOrdinaryFiles(t *testing.T) {
	fs, _ := newFS(t, Options{})
	f := create(t, root(fs), "f")
	if got := f.Seals(); got != unix.F_SEAL_SEAL {
		t.Fatalf("seals of a new file = %#x, want F_SEAL_SEAL", got)
	}
	if err := f.AddSeals(unix.F_SEAL_WRITE, nil); err != unix.EPERM {
		t.Fatalf("AddSeals on a file sealed against sealing = %v, want EPERM", err)
	}
}

func TestWriteSeals(t *testing.T) {
	fs, _ := newFS(t, Options{})
	f, o := sealable(t, fs)
	if _, err := o.WriteAt([]byte("0123456789"), 0); err != nil {
		t.Fatal(err)
	}
	f.AddMapping(fakeSpace{})
	busy := func([]vfs.MappingSpace) bool { return true }
	if err := f.AddSeals(unix.F_SEAL_WRITE, busy); err != unix.EBUSY {
		t.Fatalf("F_SEAL_WRITE with a writable mapping = %v, want EBUSY", err)
	}
	idle := func([]vfs.MappingSpace) bool { return false }
	if err := f.AddSeals(unix.F_SEAL_WRITE, idle); err != nil {
		t.Fatal(err)
	}
	if _, err := o.WriteAt([]byte("x"), 0); err != unix.EPERM {
		t.Errorf("write after F_SEAL_WRITE = %v, want EPERM", err)
	}
	if _, _, err := o.(vfs.AppendImpl).Append([]byte("x")); err != unix.EPERM {
		t.Errorf("append after F_SEAL_WRITE = %v, want EPERM", err)
	}
	if err := f.fallocate(unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, 1); err != unix.EPERM {
		t.Errorf("punch after F_SEAL_WRITE = %v, want EPERM", err)
	}
	if err := f.SetStat(ctx, &vfs.SetAttr{Mask: unix.STATX_SIZE, Size: 100}); err != nil {
		t.Errorf("truncate after F_SEAL_WRITE = %v, want success", err)
	}
	if !f.WriteSealed() {
		t.Error("WriteSealed = false")
	}
}

func TestSizeSeals(t *testing.T) {
	fs, _ := newFS(t, Options{})
	f, o := sealable(t, fs)
	size := int64(pageSize + 100)
	if err := f.SetStat(ctx, &vfs.SetAttr{Mask: unix.STATX_SIZE, Size: size}); err != nil {
		t.Fatal(err)
	}
	if err := f.AddSeals(unix.F_SEAL_GROW|unix.F_SEAL_SHRINK, nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range []int64{size - 1, size + 1} {
		if err := f.SetStat(ctx, &vfs.SetAttr{Mask: unix.STATX_SIZE, Size: s}); err != unix.EPERM {
			t.Errorf("truncate to %d = %v, want EPERM", s, err)
		}
	}
	if err := f.SetStat(ctx, &vfs.SetAttr{Mask: unix.STATX_SIZE, Size: size}); err != nil {
		t.Errorf("truncate to the same size = %v", err)
	}
	// Writes running past the end stop at the last page boundary within it.
	buf := make([]byte, 2*pageSize)
	for _, c := range []struct {
		off  int64
		n    int
		want int
		err  error
	}{
		{0, 2 * pageSize, pageSize, nil},
		{50, pageSize + 51, pageSize - 50, nil},
		{50, pageSize + 50, pageSize + 50, nil},
		{pageSize, 100, 100, nil},
		{pageSize, 101, 0, unix.EPERM},
		{size, 1, 0, unix.EPERM},
	} {
		n, err := o.WriteAt(buf[:c.n], c.off)
		if n != c.want || err != c.err {
			t.Errorf("WriteAt(%d bytes at %d) = %d, %v; want %d, %v", c.n, c.off, n, err, c.want, c.err)
		}
	}
	if err := f.fallocate(unix.FALLOC_FL_KEEP_SIZE, 0, size+1); err != unix.EPERM {
		t.Errorf("fallocate past the end = %v, want EPERM", err)
	}
	if err := f.fallocate(0, 0, size); err != nil {
		t.Errorf("fallocate within = %v", err)
	}
}

func TestExecSeal(t *testing.T) {
	fs, _ := newFS(t, Options{})
	f, _ := sealable(t, fs)
	if err := f.AddSeals(unix.F_SEAL_EXEC, nil); err != nil {
		t.Fatal(err)
	}
	want := uint32(unix.F_SEAL_EXEC | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_FUTURE_WRITE)
	if got := f.Seals(); got != want {
		t.Errorf("F_SEAL_EXEC on an executable file: seals %#x, want %#x", got, want)
	}
	if err := f.SetStat(ctx, &vfs.SetAttr{Mask: unix.STATX_MODE, Mode: 0o666}); err != unix.EPERM {
		t.Errorf("chmod -x = %v, want EPERM", err)
	}
	if err := f.SetStat(ctx, &vfs.SetAttr{Mask: unix.STATX_MODE, Mode: 0o755}); err != nil {
		t.Errorf("chmod keeping x = %v", err)
	}
	if err := f.AddSeals(unix.F_SEAL_SEAL, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.AddSeals(0, nil); err != unix.EPERM {
		t.Errorf("AddSeals after F_SEAL_SEAL = %v, want EPERM", err)
	}
}
