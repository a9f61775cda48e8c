package proc

import (
	"encoding/binary"
	"time"

	"magawa/kernel/kernel"
	"magawa/kernel/mm"
	"magawa/kernel/net/inet"
	"magawa/kernel/userns"
	"magawa/kernel/vfs"
)

// This file adapts *kernel.Kernel to the Kernel interface.

type kernelAdapter struct{ k *kernel.Kernel }

func (a kernelAdapter) Processes() []Process {
	tgs := a.k.ThreadGroups()
	out := make([]Process, len(tgs))
	for i, tg := range tgs {
		out[i] = kproc{tg}
	}
	return out
}

func (a kernelAdapter) Process(id int32) Process {
	if tg := a.k.ProcessByID(id); tg != nil {
		return kproc{tg}
	}
	return nil
}

func (a kernelAdapter) Caller(ctx *vfs.Context) Task {
	if ctx == nil {
		return nil
	}
	if t, ok := ctx.Task.(*kernel.Task); ok && t != nil {
		return ktask{t}
	}
	return nil
}

func (a kernelAdapter) Boot() time.Time               { return a.k.StartTime() }
func (a kernelAdapter) Uptime() time.Duration         { return a.k.Uptime() }
func (a kernelAdapter) NumCPU() int                   { return kernel.NumCPU() }
func (a kernelAdapter) CPUUsage() time.Duration       { return a.k.CPUUsage() }
func (a kernelAdapter) TaskStats() kernel.TaskStats   { return a.k.TaskStats() }
func (a kernelAdapter) MemoryUsed() uint64            { return a.k.MemoryFile.Used() }
func (a kernelAdapter) Hostname() string              { return a.k.UTSHostname() }
func (a kernelAdapter) SetHostname(name string) error { return a.k.SetUTSHostname(name) }
func (a kernelAdapter) Domainname() string            { return a.k.UTSDomainname() }
func (a kernelAdapter) DefaultOOMScoreAdj() int32     { return a.k.OOMScoreAdj }
func (a kernelAdapter) UIDMap() *userns.Map           { return a.k.UIDMap() }
func (a kernelAdapter) GIDMap() *userns.Map           { return a.k.GIDMap() }
func (a kernelAdapter) SetDomainname(n string) error  { return a.k.SetUTSDomainname(n) }
func (a kernelAdapter) VFS() *vfs.VFS                 { return a.k.VFS }
func (a kernelAdapter) IPCLimits() kernel.IPCLimits   { return a.k.IPCLimits() }
func (a kernelAdapter) NetTunables() kernel.NetTunables {
	return a.k.NetTunables()
}
func (a kernelAdapter) UpdateIPCLimits(change func(*kernel.IPCLimits) error) error {
	return a.k.UpdateIPCLimits(change)
}
func (a kernelAdapter) UpdateNetTunables(change func(*kernel.NetTunables) error) error {
	return a.k.UpdateNetTunables(change)
}

// Network returns the kernel's stack; on failure a nil interface, not
// an interface holding a nil *inet.Stack.
func (a kernelAdapter) Network() (NetStack, error) {
	st, err := a.k.Network()
	if err != nil {
		return nil, err
	}
	return st, nil
}

var _ NetStack = (*inet.Stack)(nil)

type kproc struct{ tg *kernel.ThreadGroup }

func (p kproc) ID() int32    { return p.tg.ID() }
func (p kproc) Reaped() bool { return p.tg.Reaped() }
func (p kproc) Leader() Task { return ktask{p.tg.Leader()} }

func (p kproc) Threads() []Task {
	ts := p.tg.Threads()
	out := make([]Task, len(ts))
	for i, t := range ts {
		out[i] = ktask{t}
	}
	return out
}

func (p kproc) Thread(tid int32) Task {
	if t := p.tg.Thread(tid); t != nil {
		return ktask{t}
	}
	return nil
}

type ktask struct{ t *kernel.Task }

func (t ktask) ID() int32                            { return t.t.TID() }
func (t ktask) Process() Process                     { return kproc{t.t.ThreadGroup()} }
func (t ktask) Alive() bool                          { return t.t.Alive() }
func (t ktask) Identity() (kernel.Credentials, bool) { return t.t.Identity() }
func (t ktask) Info(whole bool) kernel.TaskInfo      { return t.t.Info(whole) }
func (t ktask) Comm() string                         { return t.t.Comm() }
func (t ktask) SetComm(name string)                  { t.t.SetComm(name) }
func (t ktask) Directories() (root, cwd vfs.Path)    { return t.t.Directories() }
func (t ktask) Executable() vfs.Path                 { return t.t.ExecutablePath() }
func (t ktask) Files() *vfs.FDTable                  { return t.t.Files() }
func (t ktask) Args(env bool) ([]byte, error)        { return t.t.Args(env) }

func (t ktask) Auxv() []byte {
	var b []byte
	for _, e := range t.t.Auxv() {
		b = binary.LittleEndian.AppendUint64(b, e.Key)
		b = binary.LittleEndian.AppendUint64(b, e.Value)
	}
	return b
}
func (t ktask) MountNamespace() *vfs.MountNamespace { return t.t.MountNamespace() }

func (t ktask) Memory() Memory {
	if m := t.t.AddressSpace(); m != nil {
		return kmem{m}
	}
	return nil
}

type kmem struct{ m *mm.MM }

// Mappings lists the vmas. Until mm describes file mappings (offset,
// device, inode, path), every mapping shows as anonymous or by its name.
func (m kmem) Mappings() []Mapping {
	maps := m.m.Maps()
	out := make([]Mapping, len(maps))
	for i, mi := range maps {
		out[i] = Mapping{Start: uint64(mi.Start), End: uint64(mi.End), Prot: mi.Prot, Shared: mi.Shared, Name: mi.Name}
	}
	return out
}

func (m kmem) Resident(start, end uint64) uint64 {
	vec, err := m.m.Mincore(uintptr(start), uintptr(end-start))
	if err != nil {
		return 0
	}
	var n uint64
	for _, b := range vec {
		n += uint64(b & 1)
	}
	return n * mm.PageSize
}
