package kernel

import (
	"slices"

	"golang.org/x/sys/unix"

	"magawa/kernel/userns"
)

// The sandbox's root is root of a user namespace: it has every
// capability, and capabilities grant nothing outside the sandbox. The
// rules below are Linux's (kernel/sys.c, kernel/capability.c,
// security/commoncap.c) with that namespace's root as root.

// CapSet is a set of capabilities, bit n for capability n.
type CapSet uint64

// CapLastCap is CAP_LAST_CAP of the Linux the sandbox implements.
const CapLastCap = unix.CAP_LAST_CAP

// CapFull holds every capability: a new user namespace's root has it as
// its bounding set.
const CapFull = CapSet(1)<<(CapLastCap+1) - 1

// CapBit is the set holding only capability c.
func CapBit(c int) CapSet { return CapSet(1) << uint(c) }

// ValidCap reports whether c is a capability number.
func ValidCap(c int) bool { return c >= 0 && c <= CapLastCap }

// capFSSet are the capabilities that follow the file-system user ID.
// Linux: include/linux/capability.h, CAP_FS_MASK_B0 and _B1.
const capFSSet = CapSet(1)<<unix.CAP_CHOWN | 1<<unix.CAP_MKNOD | 1<<unix.CAP_DAC_OVERRIDE |
	1<<unix.CAP_DAC_READ_SEARCH | 1<<unix.CAP_FOWNER | 1<<unix.CAP_FSETID | 1<<unix.CAP_MAC_OVERRIDE

// Capabilities are a task's capability sets. The ambient set is what a
// program without file capabilities keeps across exec; it stays within
// the permitted and inheritable sets.
type Capabilities struct {
	Effective, Permitted, Inheritable, Bounding, Ambient CapSet
}

// Secure bits. Linux: include/uapi/linux/securebits.h.
const (
	SECBIT_NOROOT                      = 1 << 0
	SECBIT_NOROOT_LOCKED               = 1 << 1
	SECBIT_NO_SETUID_FIXUP             = 1 << 2
	SECBIT_NO_SETUID_FIXUP_LOCKED      = 1 << 3
	SECBIT_KEEP_CAPS                   = 1 << 4
	SECBIT_KEEP_CAPS_LOCKED            = 1 << 5
	SECBIT_NO_CAP_AMBIENT_RAISE        = 1 << 6
	SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED = 1 << 7

	secbitAll   = SECBIT_NOROOT | SECBIT_NO_SETUID_FIXUP | SECBIT_KEEP_CAPS | SECBIT_NO_CAP_AMBIENT_RAISE
	secbitLocks = secbitAll << 1
)

// NgroupsMax is NGROUPS_MAX, the most supplementary groups a task has.
const NgroupsMax = 65536

// noID is (uid_t)-1: "unchanged" for the set*id calls, invalid as an ID.
const noID = ^uint32(0)

// Capabilities returns the capability sets.
func (c *Credentials) Capabilities() Capabilities {
	if c.capsSet {
		return c.caps
	}
	return c.execCaps(Capabilities{Bounding: CapFull})
}

func (c *Credentials) setCaps(caps Capabilities) {
	c.caps = caps
	c.capsSet = true
}

// HasCap reports whether cap is in the effective set.
func (c *Credentials) HasCap(cap int) bool { return c.Capabilities().Effective&CapBit(cap) != 0 }

// privilegedRoot reports whether exec treats the IDs as root's.
func (c *Credentials) privilegedRoot() bool {
	return c.Securebits&SECBIT_NOROOT == 0 && (c.EUID == 0 || c.UID == 0)
}

// execCaps are the sets after exec of a file with neither file
// capabilities nor set-ID bits: root's permitted set is the bounding
// set plus the inheritable one, effective only if the effective user is
// root; everybody keeps the ambient set, which joins the permitted set
// and is the whole effective set of a task that is not root.
// Linux: security/commoncap.c, cap_bprm_creds_from_file() and
// handle_privileged_root().
func (c *Credentials) execCaps(old Capabilities) Capabilities {
	n := Capabilities{Inheritable: old.Inheritable, Bounding: old.Bounding, Ambient: old.Ambient}
	effective := false
	if c.privilegedRoot() {
		n.Permitted = old.Bounding | old.Inheritable
		effective = c.EUID == 0
	}
	n.Permitted |= n.Ambient
	if effective {
		n.Effective = n.Permitted
	} else {
		n.Effective = n.Ambient
	}
	return n
}

// afterExec applies what exec does to credentials: the saved and
// file-system IDs become the effective ones, capabilities are
// recomputed and SECBIT_KEEP_CAPS is cleared.
func (c *Credentials) afterExec() {
	old := c.Capabilities()
	c.SUID, c.FSUID = c.EUID, c.EUID
	c.SGID, c.FSGID = c.EGID, c.EGID
	c.setCaps(c.execCaps(old))
	c.Securebits &^= SECBIT_KEEP_CAPS
}

// fixSetuid adjusts capabilities after a change of the real, effective or
// saved user ID: a task that leaves root for good loses its permitted and
// effective sets (unless SECBIT_KEEP_CAPS), one whose effective ID leaves
// root loses its effective set, and one whose effective ID becomes root
// gets its permitted set as effective.
// Linux: security/commoncap.c, cap_emulate_setxuid().
func (c *Credentials) fixSetuid(old *Credentials) {
	caps := old.Capabilities()
	defer func() { c.setCaps(caps) }()
	if old.Securebits&SECBIT_NO_SETUID_FIXUP != 0 {
		return
	}
	wasRoot := old.UID == 0 || old.EUID == 0 || old.SUID == 0
	isRoot := c.UID == 0 || c.EUID == 0 || c.SUID == 0
	if wasRoot && !isRoot {
		if old.Securebits&SECBIT_KEEP_CAPS == 0 {
			caps.Permitted, caps.Effective = 0, 0
		}
		// Even with KEEP_CAPS: programs written before ambient
		// capabilities expect a setuid away from root and an exec to
		// drop everything.
		caps.Ambient = 0
	}
	if old.EUID == 0 && c.EUID != 0 {
		caps.Effective = 0
	}
	if old.EUID != 0 && c.EUID == 0 {
		caps.Effective = caps.Permitted
	}
}

// fixSetfsuid adjusts the effective set after a change of the
// file-system user ID: the file capabilities follow root.
// Linux: security/commoncap.c, cap_task_fix_setuid(LSM_SETID_FS).
func (c *Credentials) fixSetfsuid(old *Credentials) {
	caps := old.Capabilities()
	defer func() { c.setCaps(caps) }()
	if old.Securebits&SECBIT_NO_SETUID_FIXUP != 0 {
		return
	}
	if old.FSUID == 0 && c.FSUID != 0 {
		caps.Effective &^= capFSSet
	}
	if old.FSUID != 0 && c.FSUID == 0 {
		caps.Effective |= caps.Permitted & capFSSet
	}
}

// setuid(2). Linux: kernel/sys.c, __sys_setuid().
func (c *Credentials) setuid(uid uint32) error {
	if uid == noID {
		return unix.EINVAL
	}
	old := *c
	if old.HasCap(unix.CAP_SETUID) {
		c.UID, c.SUID = uid, uid
	} else if uid != old.UID && uid != old.SUID {
		return unix.EPERM
	}
	c.EUID, c.FSUID = uid, uid
	c.fixSetuid(&old)
	return nil
}

// setgid(2). Linux: kernel/sys.c, __sys_setgid().
func (c *Credentials) setgid(gid uint32) error {
	if gid == noID {
		return unix.EINVAL
	}
	if c.HasCap(unix.CAP_SETGID) {
		c.GID, c.EGID, c.SGID, c.FSGID = gid, gid, gid, gid
	} else if gid == c.GID || gid == c.SGID {
		c.EGID, c.FSGID = gid, gid
	} else {
		return unix.EPERM
	}
	return nil
}

// setreuid(2). Linux: kernel/sys.c, __sys_setreuid().
func (c *Credentials) setreuid(ruid, euid uint32) error {
	old := *c
	priv := old.HasCap(unix.CAP_SETUID)
	if ruid != noID {
		if ruid != old.UID && ruid != old.EUID && !priv {
			return unix.EPERM
		}
		c.UID = ruid
	}
	if euid != noID {
		if euid != old.UID && euid != old.EUID && euid != old.SUID && !priv {
			return unix.EPERM
		}
		c.EUID = euid
	}
	if ruid != noID || (euid != noID && euid != old.UID) {
		c.SUID = c.EUID
	}
	c.FSUID = c.EUID
	c.fixSetuid(&old)
	return nil
}

// setregid(2). Linux: kernel/sys.c, __sys_setregid().
func (c *Credentials) setregid(rgid, egid uint32) error {
	old := *c
	priv := old.HasCap(unix.CAP_SETGID)
	if rgid != noID {
		if rgid != old.GID && rgid != old.EGID && !priv {
			return unix.EPERM
		}
		c.GID = rgid
	}
	if egid != noID {
		if egid != old.GID && egid != old.EGID && egid != old.SGID && !priv {
			return unix.EPERM
		}
		c.EGID = egid
	}
	if rgid != noID || (egid != noID && egid != old.GID) {
		c.SGID = c.EGID
	}
	c.FSGID = c.EGID
	return nil
}

// setresuid(2): an unprivileged task may only pick among its current
// real, effective and saved IDs. Linux: kernel/sys.c, __sys_setresuid().
func (c *Credentials) setresuid(ruid, euid, suid uint32) error {
	old := *c
	if (ruid == noID || ruid == old.UID) &&
		(euid == noID || (euid == old.EUID && euid == old.FSUID)) &&
		(suid == noID || suid == old.SUID) {
		return nil
	}
	isNew := func(id uint32) bool {
		return id != noID && id != old.UID && id != old.EUID && id != old.SUID
	}
	if (isNew(ruid) || isNew(euid) || isNew(suid)) && !old.HasCap(unix.CAP_SETUID) {
		return unix.EPERM
	}
	if ruid != noID {
		c.UID = ruid
	}
	if euid != noID {
		c.EUID = euid
	}
	if suid != noID {
		c.SUID = suid
	}
	c.FSUID = c.EUID
	c.fixSetuid(&old)
	return nil
}

// setresgid(2). Linux: kernel/sys.c, __sys_setresgid().
func (c *Credentials) setresgid(rgid, egid, sgid uint32) error {
	old := *c
	if (rgid == noID || rgid == old.GID) &&
		(egid == noID || (egid == old.EGID && egid == old.FSGID)) &&
		(sgid == noID || sgid == old.SGID) {
		return nil
	}
	isNew := func(id uint32) bool {
		return id != noID && id != old.GID && id != old.EGID && id != old.SGID
	}
	if (isNew(rgid) || isNew(egid) || isNew(sgid)) && !old.HasCap(unix.CAP_SETGID) {
		return unix.EPERM
	}
	if rgid != noID {
		c.GID = rgid
	}
	if egid != noID {
		c.EGID = egid
	}
	if sgid != noID {
		c.SGID = sgid
	}
	c.FSGID = c.EGID
	return nil
}

// setfsuid(2) changes the file-system user ID when allowed; it reports
// nothing but the old ID. Linux: kernel/sys.c, __sys_setfsuid().
func (c *Credentials) setfsuid(uid uint32) (changed bool) {
	old := *c
	if uid == noID || uid == old.FSUID {
		return false
	}
	if uid != old.UID && uid != old.EUID && uid != old.SUID && !old.HasCap(unix.CAP_SETUID) {
		return false
	}
	c.FSUID = uid
	c.fixSetfsuid(&old)
	return true
}

// setfsgid(2). Linux: kernel/sys.c, __sys_setfsgid().
func (c *Credentials) setfsgid(gid uint32) (changed bool) {
	if gid == noID || gid == c.FSGID {
		return false
	}
	if gid != c.GID && gid != c.EGID && gid != c.SGID && !c.HasCap(unix.CAP_SETGID) {
		return false
	}
	c.FSGID = gid
	return true
}

// setgroups(2): the list is kept sorted, as Linux's groups_sort() does.
// Linux: kernel/groups.c.
func (c *Credentials) setgroups(groups []uint32) error {
	if !c.HasCap(unix.CAP_SETGID) {
		return unix.EPERM
	}
	if len(groups) > NgroupsMax {
		return unix.EINVAL
	}
	g := slices.Clone(groups)
	for _, id := range g {
		if id == noID {
			return unix.EINVAL
		}
	}
	slices.Sort(g)
	c.Groups = g
	return nil
}

// capset(2)'s rules: the inheritable set may only grow within the
// permitted set (without CAP_SETPCAP) and the bounding set, the permitted
// set may only shrink, and the effective set must stay inside it. The
// ambient set loses what is no longer both permitted and inheritable.
// Linux: security/commoncap.c, cap_capset().
func (c *Credentials) capset(effective, permitted, inheritable CapSet) error {
	old := c.Capabilities()
	if !c.HasCap(unix.CAP_SETPCAP) && inheritable&^(old.Inheritable|old.Permitted) != 0 {
		return unix.EPERM
	}
	if inheritable&^(old.Inheritable|old.Bounding) != 0 {
		return unix.EPERM
	}
	if permitted&^old.Permitted != 0 {
		return unix.EPERM
	}
	if effective&^permitted != 0 {
		return unix.EPERM
	}
	c.setCaps(Capabilities{
		Effective: effective, Permitted: permitted, Inheritable: inheritable, Bounding: old.Bounding,
		Ambient: old.Ambient & permitted & inheritable,
	})
	return nil
}

// Ambient capability operations (prctl PR_CAP_AMBIENT). Linux:
// include/uapi/linux/prctl.h.
const (
	PR_CAP_AMBIENT_IS_SET    = 1
	PR_CAP_AMBIENT_RAISE     = 2
	PR_CAP_AMBIENT_LOWER     = 3
	PR_CAP_AMBIENT_CLEAR_ALL = 4
)

// ambient is prctl(PR_CAP_AMBIENT) but IS_SET: a capability is raised
// only if it is permitted and inheritable and SECBIT_NO_CAP_AMBIENT_RAISE
// is clear. Linux: security/commoncap.c, cap_task_prctl().
func (c *Credentials) ambient(op, cap int) error {
	caps := c.Capabilities()
	switch op {
	case PR_CAP_AMBIENT_CLEAR_ALL:
		caps.Ambient = 0
	case PR_CAP_AMBIENT_RAISE:
		if caps.Permitted&caps.Inheritable&CapBit(cap) == 0 || c.Securebits&SECBIT_NO_CAP_AMBIENT_RAISE != 0 {
			return unix.EPERM
		}
		caps.Ambient |= CapBit(cap)
	case PR_CAP_AMBIENT_LOWER:
		caps.Ambient &^= CapBit(cap)
	default:
		return unix.EINVAL
	}
	c.setCaps(caps)
	return nil
}

// setSecurebits is prctl(PR_SET_SECUREBITS): locked bits cannot change,
// locks cannot be released, and it needs CAP_SETPCAP.
// Linux: security/commoncap.c, cap_task_prctl().
func (c *Credentials) setSecurebits(bits uint32) error {
	old := c.Securebits
	if (old&secbitLocks)>>1&(old^bits) != 0 ||
		old&secbitLocks&^bits != 0 ||
		bits&^(secbitLocks|secbitAll) != 0 ||
		!c.HasCap(unix.CAP_SETPCAP) {
		return unix.EPERM
	}
	c.Securebits = bits
	return nil
}

// changeCreds applies f to a copy of the task's credentials and installs
// the result, under Kernel.mu, if f succeeds. Only the task's own
// goroutine changes its credentials.
func (t *Task) changeCreds(f func(c *Credentials) error) error {
	c := t.creds
	if err := f(&c); err != nil {
		return err
	}
	t.k.mu.Lock()
	t.creds = c
	t.k.mu.Unlock()
	return nil
}

// The set*id calls refuse an ID the sandbox's user namespace does not
// map, before any permission check, as Linux's make_kuid and
// uid_valid do (kernel/sys.c).

// mappedOrUnchanged reports whether each of ids is mapped by m or is
// (uid_t)-1, "unchanged".
func mappedOrUnchanged(m *userns.Map, ids ...uint32) bool {
	for _, id := range ids {
		if id != noID && !m.Mapped(id) {
			return false
		}
	}
	return true
}

// Setuid implements setuid(2).
func (t *Task) Setuid(uid uint32) error {
	if !t.k.UIDMap().Mapped(uid) {
		return unix.EINVAL
	}
	return t.changeCreds(func(c *Credentials) error { return c.setuid(uid) })
}

// Setgid implements setgid(2).
func (t *Task) Setgid(gid uint32) error {
	if !t.k.GIDMap().Mapped(gid) {
		return unix.EINVAL
	}
	return t.changeCreds(func(c *Credentials) error { return c.setgid(gid) })
}

// Setreuid implements setreuid(2); ^uint32(0) leaves an ID unchanged.
func (t *Task) Setreuid(ruid, euid uint32) error {
	if !mappedOrUnchanged(t.k.UIDMap(), ruid, euid) {
		return unix.EINVAL
	}
	return t.changeCreds(func(c *Credentials) error { return c.setreuid(ruid, euid) })
}

// Setregid implements setregid(2).
func (t *Task) Setregid(rgid, egid uint32) error {
	if !mappedOrUnchanged(t.k.GIDMap(), rgid, egid) {
		return unix.EINVAL
	}
	return t.changeCreds(func(c *Credentials) error { return c.setregid(rgid, egid) })
}

// Setresuid implements setresuid(2).
func (t *Task) Setresuid(ruid, euid, suid uint32) error {
	if !mappedOrUnchanged(t.k.UIDMap(), ruid, euid, suid) {
		return unix.EINVAL
	}
	return t.changeCreds(func(c *Credentials) error { return c.setresuid(ruid, euid, suid) })
}

// Setresgid implements setresgid(2).
func (t *Task) Setresgid(rgid, egid, sgid uint32) error {
	if !mappedOrUnchanged(t.k.GIDMap(), rgid, egid, sgid) {
		return unix.EINVAL
	}
	return t.changeCreds(func(c *Credentials) error { return c.setresgid(rgid, egid, sgid) })
}

// Setfsuid implements setfsuid(2): it returns the previous file-system
// user ID, whether or not it changed.
func (t *Task) Setfsuid(uid uint32) uint32 {
	old := t.creds.FSUID
	t.changeCreds(func(c *Credentials) error {
		if !t.k.UIDMap().Mapped(uid) || !c.setfsuid(uid) {
			return unix.EPERM
		}
		return nil
	})
	return old
}

// Setfsgid implements setfsgid(2).
func (t *Task) Setfsgid(gid uint32) uint32 {
	old := t.creds.FSGID
	t.changeCreds(func(c *Credentials) error {
		if !t.k.GIDMap().Mapped(gid) || !c.setfsgid(gid) {
			return unix.EPERM
		}
		return nil
	})
	return old
}

// Setgroups implements setgroups(2).
func (t *Task) Setgroups(groups []uint32) error {
	for _, g := range groups {
		if !t.k.GIDMap().Mapped(g) {
			return unix.EINVAL
		}
	}
	return t.changeCreds(func(c *Credentials) error { return c.setgroups(groups) })
}

// HasCapability reports whether the task's effective set holds cap.
func (t *Task) HasCapability(cap int) bool { return t.creds.HasCap(cap) }

// CapabilitiesOf returns the sets of the thread tid (0: the caller), as
// capget(2) does: any thread of the sandbox may be looked at.
func (t *Task) CapabilitiesOf(tid int32) (Capabilities, error) {
	if tid == 0 || tid == t.tid {
		return t.creds.Capabilities(), nil
	}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	o := t.k.tasks[tid]
	if o == nil {
		return Capabilities{}, unix.ESRCH
	}
	return o.creds.Capabilities(), nil
}

// SetCapabilities implements capset(2) for the calling thread.
func (t *Task) SetCapabilities(effective, permitted, inheritable CapSet) error {
	return t.changeCreds(func(c *Credentials) error { return c.capset(effective, permitted, inheritable) })
}

// AmbientCap implements prctl(PR_CAP_AMBIENT): op is one of the
// PR_CAP_AMBIENT_* operations, cap the capability (ignored by
// CLEAR_ALL). IS_SET reports whether cap is in the ambient set.
func (t *Task) AmbientCap(op, cap int) (bool, error) {
	if op != PR_CAP_AMBIENT_CLEAR_ALL && !ValidCap(cap) {
		return false, unix.EINVAL
	}
	if op == PR_CAP_AMBIENT_IS_SET {
		return t.creds.Capabilities().Ambient&CapBit(cap) != 0, nil
	}
	return false, t.changeCreds(func(c *Credentials) error { return c.ambient(op, cap) })
}

// KeepCaps implements prctl(PR_GET_KEEPCAPS).
func (t *Task) KeepCaps() bool { return t.creds.Securebits&SECBIT_KEEP_CAPS != 0 }

// SetKeepCaps implements prctl(PR_SET_KEEPCAPS). Linux: security/commoncap.c.
func (t *Task) SetKeepCaps(on bool) error {
	return t.changeCreds(func(c *Credentials) error {
		if c.Securebits&SECBIT_KEEP_CAPS_LOCKED != 0 {
			return unix.EPERM
		}
		if on {
			c.Securebits |= SECBIT_KEEP_CAPS
		} else {
			c.Securebits &^= SECBIT_KEEP_CAPS
		}
		return nil
	})
}

// Securebits implements prctl(PR_GET_SECUREBITS).
func (t *Task) Securebits() uint32 { return t.creds.Securebits }

// SetSecurebits implements prctl(PR_SET_SECUREBITS).
func (t *Task) SetSecurebits(bits uint32) error {
	return t.changeCreds(func(c *Credentials) error { return c.setSecurebits(bits) })
}

// BoundingHas implements prctl(PR_CAPBSET_READ).
func (t *Task) BoundingHas(cap int) (bool, error) {
	if !ValidCap(cap) {
		return false, unix.EINVAL
	}
	return t.creds.Capabilities().Bounding&CapBit(cap) != 0, nil
}

// DropBounding implements prctl(PR_CAPBSET_DROP): it needs CAP_SETPCAP.
// Linux: security/commoncap.c, cap_prctl_drop().
func (t *Task) DropBounding(cap int) error {
	return t.changeCreds(func(c *Credentials) error {
		if !c.HasCap(unix.CAP_SETPCAP) {
			return unix.EPERM
		}
		if !ValidCap(cap) {
			return unix.EINVAL
		}
		caps := c.Capabilities()
		caps.Bounding &^= CapBit(cap)
		c.setCaps(caps)
		return nil
	})
}

// checkNprocLocked enforces RLIMIT_NPROC when t creates a task: its real
// user may have at most that many tasks (threads count, zombies too) in
// the sandbox, unless it is root or holds CAP_SYS_RESOURCE or
// CAP_SYS_ADMIN. Linux: kernel/fork.c, copy_process().
func (t *Task) checkNprocLocked() error {
	limit := t.tg.rlimits[unix.RLIMIT_NPROC].Cur
	c := &t.creds
	if limit == RlimInfinity || c.UID == 0 || c.HasCap(unix.CAP_SYS_RESOURCE) || c.HasCap(unix.CAP_SYS_ADMIN) {
		return nil
	}
	n := uint64(0)
	for _, o := range t.k.tasks {
		if o.creds.UID == c.UID {
			n++
		}
	}
	if n >= limit {
		return unix.EAGAIN
	}
	return nil
}
