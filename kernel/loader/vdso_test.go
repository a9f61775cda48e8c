package loader

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/vdso"
)

// vvarMem is a fakeMem that maps the kernel's vvar page (MapVVar) as a
// mapping of its own, remembering where.
type vvarMem struct {
	*fakeMem
	at  []uintptr
	err error
}

func (m *vvarMem) MapVVar(addr uintptr) error {
	m.at = append(m.at, addr)
	if m.err != nil {
		return m.err
	}
	m.maps = append(m.maps, fakeMapping{addr, addr + vdso.VVarSize, unix.PROT_READ, VVarName})
	return nil
}

// checkVDSOLayout checks [vvar] right below [vdso], with their
// protections and names, and the image's bytes.
func checkVDSOLayout(t *testing.T, mem *fakeMem, img *Image) {
	t.Helper()
	vd := vdso.Image()
	m, ok := mem.mapping(img.VDSO)
	if !ok || m.start != img.VDSO || m.name != VDSOName || m.prot != unix.PROT_READ|unix.PROT_EXEC ||
		m.end-m.start != uintptr(pageUp(uint64(len(vd)))) {
		t.Errorf("vDSO mapping %+v at %#x", m, img.VDSO)
	}
	if got := mustRead(t, mem, img.VDSO, uintptr(len(vd))); !bytes.Equal(got, vd) {
		t.Error("vDSO contents differ from vdso.Image()")
	}
	v, ok := mem.mapping(img.VDSO - 1)
	if !ok || v.start != img.VDSO-vdso.VVarSize || v.end != img.VDSO || v.name != VVarName || v.prot != unix.PROT_READ {
		t.Errorf("vvar mapping %+v below the vDSO at %#x", v, img.VDSO)
	}
}

// TestMapVDSOZeroVVar: a Memory that cannot map the kernel's page gets
// a page of zeros, from which the vDSO serves nothing.
func TestMapVDSOZeroVVar(t *testing.T) {
	mem := newFakeMem()
	img := &Image{}
	if err := MapVDSO(mem, img); err != nil {
		t.Fatal(err)
	}
	checkVDSOLayout(t, mem, img)
	if got := mustRead(t, mem, img.VDSO-vdso.VVarSize, vdso.VVarSize); !bytes.Equal(got, make([]byte, vdso.VVarSize)) {
		t.Error("the vvar page is not zeros")
	}
	if auxValue(t, ImageAuxv(img), AT_SYSINFO_EHDR) != uint64(img.VDSO) {
		t.Error("AT_SYSINFO_EHDR is not the vDSO")
	}
}

func TestMapVDSOKernelVVar(t *testing.T) {
	mem := &vvarMem{fakeMem: newFakeMem()}
	img := &Image{}
	if err := MapVDSO(mem, img); err != nil {
		t.Fatal(err)
	}
	if len(mem.at) != 1 || mem.at[0] != img.VDSO-vdso.VVarSize {
		t.Fatalf("MapVVar at %#x, vDSO at %#x", mem.at, img.VDSO)
	}
	if mem.mapCalls != 1 {
		t.Errorf("%d MapFixed calls, want the image's only", mem.mapCalls)
	}
	checkVDSOLayout(t, mem.fakeMem, img)
}

func TestMapVDSOVVarError(t *testing.T) {
	mem := &vvarMem{fakeMem: newFakeMem(), err: unix.ENOMEM}
	img := &Image{}
	if err := MapVDSO(mem, img); !errors.Is(err, unix.ENOMEM) || img.VDSO != 0 {
		t.Errorf("MapVDSO: %v, vDSO at %#x", err, img.VDSO)
	}
	if mem.mapCalls != 0 {
		t.Error("the image was mapped after the vvar page failed")
	}
}
