package mm

import (
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/ipc/sysv"
)

// shmat maps an attachment of segment id as the system-call layer does.
func shmat(t *testing.T, m *MM, ns *sysv.Namespace, c *sysv.Caller, id int32, flags int) uintptr {
	t.Helper()
	att, err := ns.ShmAttach(c, id, flags)
	if err != nil {
		t.Fatalf("ShmAttach: %v", err)
	}
	addr, err := m.Mmap(MmapOpts{Length: uintptr(att.Size()), Prot: att.Prot, MaxProt: att.MaxProt, Shared: true,
		File: att.File(), Name: att.Name})
	att.Done(c, err == nil)
	if err != nil {
		t.Fatalf("Mmap: %v", err)
	}
	return addr
}

func nattch(t *testing.T, ns *sysv.Namespace, c *sysv.Caller, id int32) uint64 {
	t.Helper()
	ds, _, err := ns.ShmStat(c, id, sysv.IPC_STAT)
	if err != nil {
		t.Fatalf("ShmStat: %v", err)
	}
	return ds.Nattch
}

func TestSysVShmAttachments(t *testing.T) {
	m, as := newMM(t)
	used := m.mf.Used()
	ns := sysv.New(m.mf, nil)
	c := &sysv.Caller{Caps: ^uint64(0), PID: 1}
	id, err := ns.ShmGet(c, sysv.IPC_PRIVATE, 3*PageSize+100, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	addr := shmat(t, m, ns, c, id, 0)
	if n := nattch(t, ns, c, id); n != 1 {
		t.Errorf("nattch %d after shmat, want 1", n)
	}
	appWrite(t, m, as, addr+PageSize+5, "shared")

	// Fork shares the attachment, and counts it.
	child, cas := fork(t, m)
	if n := nattch(t, ns, c, id); n != 2 {
		t.Errorf("nattch %d after fork, want 2", n)
	}
	if got := appRead(t, child, cas, addr+PageSize+5, 6); got != "shared" {
		t.Errorf("child reads %q", got)
	}
	appWrite(t, child, cas, addr+3*PageSize, "end")
	if got := appRead(t, m, as, addr+3*PageSize, 3); got != "end" {
		t.Errorf("parent reads %q from the last page", got)
	}

	// A read-only attachment never becomes writable.
	ro := shmat(t, m, ns, c, id, sysv.SHM_RDONLY)
	if err := m.Mprotect(ro, PageSize, rw); err != unix.EACCES {
		t.Errorf("mprotect PROT_WRITE of SHM_RDONLY = %v, want EACCES", err)
	}
	if got := kernelRead(t, m, ro+PageSize+5, 6); got != "shared" {
		t.Errorf("second attachment reads %q", got)
	}
	if n := nattch(t, ns, c, id); n != 3 {
		t.Errorf("nattch %d with a second attachment, want 3", n)
	}
	if _, err := m.Shmdt(ro + 1); err != unix.EINVAL {
		t.Errorf("Shmdt unaligned = %v", err)
	}
	if _, err := m.Shmdt(ro + PageSize); err != unix.EINVAL {
		t.Errorf("Shmdt inside an attachment = %v", err)
	}
	if a, err := m.Shmdt(ro); err != nil || a == nil {
		t.Errorf("Shmdt = %v, %v", a, err)
	}
	if n := nattch(t, ns, c, id); n != 2 {
		t.Errorf("nattch %d after shmdt, want 2", n)
	}

	// Shmdt takes the pieces mprotect made.
	if err := m.Mprotect(addr+PageSize, PageSize, unix.PROT_READ); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Shmdt(addr); err != nil {
		t.Fatal(err)
	}
	if len(m.Mappings()) != 0 {
		t.Errorf("mappings left after shmdt: %v", m.Maps())
	}
	if _, err := m.Shmdt(addr); err != unix.EINVAL {
		t.Errorf("second Shmdt = %v, want EINVAL", err)
	}

	// Removed, the segment lives until the child lets it go.
	if err := ns.ShmRemove(c, id); err != nil {
		t.Fatal(err)
	}
	ds, _, err := ns.ShmStat(c, id, sysv.IPC_STAT)
	if err != nil || ds.Perm.Mode&sysv.SHM_DEST == 0 || ds.Nattch != 1 {
		t.Errorf("after IPC_RMID: mode %o nattch %d, %v", ds.Perm.Mode, ds.Nattch, err)
	}
	child.Release()
	if _, _, err := ns.ShmStat(c, id, sysv.IPC_STAT); err != unix.EINVAL {
		t.Errorf("IPC_STAT after the last detach = %v, want EINVAL", err)
	}
	if got := m.mf.Used(); got != used {
		t.Errorf("memory file uses %d bytes, %d before the segment", got, used)
	}
}
