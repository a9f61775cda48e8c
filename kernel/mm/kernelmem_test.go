package mm

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestMapKernelMemory: a page the kernel keeps (the vvar page) is seen
// by the application and its forks as the kernel writes it, and never
// written by them.
func TestMapKernelMemory(t *testing.T) {
	m, as := newMM(t)
	off, err := m.mf.Allocate(PageSize)
	if err != nil {
		t.Fatal(err)
	}
	page := m.mf.Slice(off, PageSize)
	const addr = 0x7f00_0000_0000
	if err := m.MapKernelMemory(addr, PageSize, unix.PROT_READ, off, "[vvar]"); err != nil {
		t.Fatal(err)
	}
	if err := m.MapKernelMemory(addr, PageSize, unix.PROT_READ, off, "[vvar]"); err != unix.EEXIST {
		t.Errorf("mapping over it: %v", err)
	}
	child, cas := fork(t, m)
	copy(page, "tick")
	for _, mm := range []struct {
		m  *MM
		as *fakeAS
	}{{m, as}, {child, cas}} {
		if got := appRead(t, mm.m, mm.as, addr, 4); got != "tick" {
			t.Errorf("application reads %q", got)
		}
		if got := kernelRead(t, mm.m, addr, 4); got != "tick" {
			t.Errorf("CopyIn reads %q", got)
		}
		if _, err := mm.as.access(mm.m, addr, unix.PROT_WRITE); err == nil {
			t.Error("the application may write it")
		}
		if _, err := mm.m.CopyOut(addr, []byte("x")); err != unix.EFAULT {
			t.Errorf("CopyOut: %v", err)
		}
		if err := mm.m.Mprotect(addr, PageSize, unix.PROT_READ|unix.PROT_WRITE); err != unix.EACCES {
			t.Errorf("mprotect writable: %v", err)
		}
		if err := mm.m.Mprotect(addr, PageSize, unix.PROT_READ|unix.PROT_EXEC); err != unix.EACCES {
			t.Errorf("mprotect executable: %v", err)
		}
	}
	// A forced write (ptrace's) gives the child a copy of its own.
	if err := child.WriteForce(addr, []byte("TOCK")); err != nil {
		t.Fatal(err)
	}
	if string(page[:4]) != "tick" || kernelRead(t, child, addr, 4) != "TOCK" {
		t.Errorf("kernel page %q, child reads %q", page[:4], kernelRead(t, child, addr, 4))
	}
	copy(page, "tack")
	if got := appRead(t, m, as, addr, 4); got != "tack" {
		t.Errorf("parent reads %q", got)
	}
	// Unmapping and releasing drop the references the mappings took:
	// the kernel's own is left.
	if err := m.Munmap(addr, PageSize); err != nil {
		t.Fatal(err)
	}
	child.Release()
	if got := [4]byte(page); string(got[:]) != "tack" {
		t.Errorf("kernel page %q after the mappings went", got)
	}
	if !m.mf.Shared(off, PageSize) {
		m.mf.DecRef(off, PageSize)
		if m.mf.Used() != 0 {
			t.Errorf("%d bytes still used", m.mf.Used())
		}
	} else {
		t.Error("references left after unmapping")
	}
}
