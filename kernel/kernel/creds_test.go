package kernel

import (
	"errors"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/userns"
)

func rootCreds() Credentials { return Credentials{} }

func userCreds(uid, gid uint32) Credentials {
	return Credentials{UID: uid, EUID: uid, SUID: uid, FSUID: uid, GID: gid, EGID: gid, SGID: gid, FSGID: gid}
}

func TestInitialCapabilities(t *testing.T) {
	root := rootCreds()
	if c := root.Capabilities(); c.Effective != CapFull || c.Permitted != CapFull || c.Bounding != CapFull || c.Inheritable != 0 {
		t.Errorf("root's sets: %+v", c)
	}
	user := userCreds(1000, 1000)
	if c := user.Capabilities(); c.Effective != 0 || c.Permitted != 0 || c.Bounding != CapFull {
		t.Errorf("a user's sets: %+v", c)
	}
}

// ids is (real, effective, saved, fs).
type ids [4]uint32

func uids(c *Credentials) ids { return ids{c.UID, c.EUID, c.SUID, c.FSUID} }
func gids(c *Credentials) ids { return ids{c.GID, c.EGID, c.SGID, c.FSGID} }

func TestSetuidFamily(t *testing.T) {
	for _, c := range []struct {
		name     string
		start    Credentials
		op       func(c *Credentials) error
		err      error
		want     ids
		eff, prm CapSet
	}{
		{"root setuid drops all", rootCreds(), func(c *Credentials) error { return c.setuid(1000) }, nil, ids{1000, 1000, 1000, 1000}, 0, 0},
		{"setuid -1", rootCreds(), func(c *Credentials) error { return c.setuid(noID) }, unix.EINVAL, ids{}, CapFull, CapFull},
		{"user setuid other", userCreds(1000, 0), func(c *Credentials) error { return c.setuid(0) }, unix.EPERM, ids{1000, 1000, 1000, 1000}, 0, 0},
		{"seteuid keeps permitted", rootCreds(), func(c *Credentials) error { return c.setresuid(noID, 1000, noID) }, nil, ids{0, 1000, 0, 1000}, 0, CapFull},
		{"setresuid all user", rootCreds(), func(c *Credentials) error { return c.setresuid(1, 2, 3) }, nil, ids{1, 2, 3, 2}, 0, 0},
		{"setreuid sets saved", rootCreds(), func(c *Credentials) error { return c.setreuid(5, 6) }, nil, ids{5, 6, 6, 6}, 0, 0},
		{"setreuid euid only, to ruid", Credentials{UID: 7, EUID: 0, SUID: 0}, func(c *Credentials) error { return c.setreuid(noID, 7) }, nil, ids{7, 7, 0, 7}, 0, CapFull},
		{"user swaps real and effective", Credentials{UID: 1, EUID: 2, SUID: 2, FSUID: 2}, func(c *Credentials) error { return c.setreuid(2, 1) }, nil, ids{2, 1, 1, 1}, 0, 0},
		{"user setreuid foreign", userCreds(1, 1), func(c *Credentials) error { return c.setreuid(noID, 3) }, unix.EPERM, ids{1, 1, 1, 1}, 0, 0},
		{"user setresuid among own", Credentials{UID: 1, EUID: 2, SUID: 3, FSUID: 2}, func(c *Credentials) error { return c.setresuid(3, 1, 2) }, nil, ids{3, 1, 2, 1}, 0, 0},
		{"user setresuid foreign", Credentials{UID: 1, EUID: 2, SUID: 3}, func(c *Credentials) error { return c.setresuid(4, noID, noID) }, unix.EPERM, ids{1, 2, 3, 0}, 0, 0},
	} {
		cr := c.start
		caps := cr.Capabilities()
		err := c.op(&cr)
		if err != c.err {
			t.Errorf("%s: error %v, want %v", c.name, err, c.err)
			continue
		}
		if err != nil {
			if cr.Capabilities() != caps {
				t.Errorf("%s: a failed call changed the capabilities", c.name)
			}
			continue
		}
		if uids(&cr) != c.want {
			t.Errorf("%s: uids %v, want %v", c.name, uids(&cr), c.want)
		}
		if got := cr.Capabilities(); got.Effective != c.eff || got.Permitted != c.prm {
			t.Errorf("%s: effective %#x permitted %#x, want %#x %#x", c.name, got.Effective, got.Permitted, c.eff, c.prm)
		}
	}
}

func TestSeteuidRoundTrip(t *testing.T) {
	c := rootCreds()
	if err := c.setresuid(noID, 1000, noID); err != nil {
		t.Fatal(err)
	}
	if err := c.setresuid(noID, 0, noID); err != nil {
		t.Fatal(err)
	}
	if got := c.Capabilities(); got.Effective != CapFull {
		t.Errorf("effective set after seteuid(0): %#x", got.Effective)
	}
}

func TestKeepCaps(t *testing.T) {
	c := rootCreds()
	c.Securebits |= SECBIT_KEEP_CAPS
	if err := c.setuid(1000); err != nil {
		t.Fatal(err)
	}
	got := c.Capabilities()
	if got.Permitted != CapFull || got.Effective != 0 {
		t.Fatalf("with KEEP_CAPS: %+v", got)
	}
	if err := c.capset(CapFull, CapFull, 0); err != nil {
		t.Fatalf("capset of the kept set: %v", err)
	}
	c.afterExec()
	if got := c.Capabilities(); got.Permitted != 0 || got.Effective != 0 || c.Securebits&SECBIT_KEEP_CAPS != 0 {
		t.Errorf("after exec as a user: %+v, securebits %#x", got, c.Securebits)
	}
}

func TestNoSetuidFixup(t *testing.T) {
	c := rootCreds()
	c.Securebits = SECBIT_NO_SETUID_FIXUP
	c.setuid(1000)
	if got := c.Capabilities(); got.Effective != CapFull || got.Permitted != CapFull {
		t.Errorf("SECBIT_NO_SETUID_FIXUP: %+v", got)
	}
}

func TestSetfsuidFixup(t *testing.T) {
	c := rootCreds()
	if !c.setfsuid(1000) {
		t.Fatal("setfsuid(1000) as root failed")
	}
	if got := c.Capabilities(); got.Effective != CapFull&^capFSSet || got.Permitted != CapFull {
		t.Errorf("fsuid 1000: %+v", got)
	}
	c.setfsuid(0)
	if got := c.Capabilities(); got.Effective != CapFull {
		t.Errorf("fsuid back to 0: %+v", got)
	}
	u := userCreds(1000, 1000)
	if u.setfsuid(0) || u.FSUID != 1000 {
		t.Errorf("a user set fsuid 0")
	}
	if u.setfsuid(noID) {
		t.Errorf("setfsuid(-1) changed something")
	}
}

func TestSetgidFamily(t *testing.T) {
	c := rootCreds()
	if err := c.setresgid(10, 11, 12); err != nil || gids(&c) != (ids{10, 11, 12, 11}) {
		t.Fatalf("setresgid: %v %v", err, gids(&c))
	}
	if err := c.setregid(noID, 13); err != nil || gids(&c) != (ids{10, 13, 13, 13}) {
		t.Fatalf("setregid: %v %v", err, gids(&c))
	}
	c.setuid(1000)
	if err := c.setgid(11); err != unix.EPERM {
		t.Errorf("user setgid(11) = %v", err)
	}
	if err := c.setgid(10); err != nil || gids(&c) != (ids{10, 10, 13, 10}) {
		t.Errorf("user setgid(real) = %v, %v", err, gids(&c))
	}
	if err := c.setregid(12, 10); err != unix.EPERM {
		t.Errorf("user setregid(12, 10) = %v", err)
	}
	if c.setfsgid(0) || !c.setfsgid(13) {
		t.Errorf("setfsgid of a user")
	}
}

func TestSetgroups(t *testing.T) {
	c := rootCreds()
	if err := c.setgroups([]uint32{5, 3, 1, 3}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Groups, []uint32{1, 3, 3, 5}) {
		t.Errorf("groups %v, want sorted", c.Groups)
	}
	if err := c.setgroups([]uint32{1, noID}); err != unix.EINVAL {
		t.Errorf("invalid group: %v", err)
	}
	if err := c.setgroups(make([]uint32, NgroupsMax+1)); err != unix.EINVAL {
		t.Errorf("too many groups: %v", err)
	}
	u := userCreds(1, 1)
	if err := u.setgroups(nil); err != unix.EPERM {
		t.Errorf("user setgroups: %v", err)
	}
}

func TestCapset(t *testing.T) {
	c := rootCreds()
	setuid := CapBit(unix.CAP_SETUID)
	if err := c.capset(CapFull, CapFull&^setuid, 0); err != unix.EPERM {
		t.Errorf("effective outside permitted: %v", err)
	}
	if err := c.capset(0, CapFull&^setuid, CapFull); err != nil {
		t.Fatalf("drop CAP_SETUID: %v", err)
	}
	if err := c.capset(0, CapFull, 0); err != unix.EPERM {
		t.Errorf("raising permitted: %v", err)
	}
	if err := c.setuid(1000); err != unix.EPERM {
		t.Errorf("setuid without CAP_SETUID: %v", err)
	}
	// Without CAP_SETPCAP, inheritable may not grow beyond permitted.
	u := Credentials{}
	u.setCaps(Capabilities{Permitted: CapBit(1), Effective: CapBit(1), Bounding: CapFull})
	if err := u.capset(CapBit(1), CapBit(1), CapBit(2)); err != unix.EPERM {
		t.Errorf("inheritable beyond permitted: %v", err)
	}
	if err := u.capset(CapBit(1), CapBit(1), CapBit(1)); err != nil {
		t.Errorf("inheritable within permitted: %v", err)
	}
	// Nor beyond the bounding set, even with it.
	r := rootCreds()
	r.setCaps(Capabilities{Effective: CapFull, Permitted: CapFull, Bounding: CapFull &^ CapBit(3)})
	if err := r.capset(CapFull, CapFull, CapBit(3)); err != unix.EPERM {
		t.Errorf("inheritable beyond bounding: %v", err)
	}
}

func TestExecCaps(t *testing.T) {
	// Root with its effective set emptied gets it back at exec.
	c := rootCreds()
	c.capset(0, CapFull, 0)
	c.afterExec()
	if got := c.Capabilities(); got.Effective != CapFull {
		t.Errorf("root after exec: %+v", got)
	}
	// The bounding set limits what exec gives.
	c.setCaps(Capabilities{Effective: CapFull, Permitted: CapFull, Bounding: CapBit(0)})
	c.afterExec()
	if got := c.Capabilities(); got.Permitted != CapBit(0) {
		t.Errorf("exec with a small bounding set: %+v", got)
	}
	// Real root only: permitted, not effective.
	r := Credentials{EUID: 1000}
	r.afterExec()
	if got := r.Capabilities(); got.Permitted != CapFull || got.Effective != 0 || r.SUID != 1000 || r.FSUID != 1000 {
		t.Errorf("real root, effective user, after exec: %+v, ids %v", got, uids(&r))
	}
}

func TestSecurebits(t *testing.T) {
	c := rootCreds()
	if err := c.setSecurebits(SECBIT_KEEP_CAPS | SECBIT_KEEP_CAPS_LOCKED); err != nil {
		t.Fatal(err)
	}
	if err := c.setSecurebits(0); err != unix.EPERM {
		t.Errorf("unlocking: %v", err)
	}
	if err := c.setSecurebits(SECBIT_KEEP_CAPS_LOCKED); err != unix.EPERM {
		t.Errorf("changing a locked bit: %v", err)
	}
	if err := c.setSecurebits(1 << 12); err != unix.EPERM {
		t.Errorf("unknown bit: %v", err)
	}
	u := userCreds(1, 1)
	if err := u.setSecurebits(SECBIT_NOROOT); err != unix.EPERM {
		t.Errorf("without CAP_SETPCAP: %v", err)
	}
}

func TestTaskCredentialCalls(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{})
	if err := task.SetKeepCaps(true); err != nil || !task.KeepCaps() {
		t.Fatalf("SetKeepCaps: %v", err)
	}
	if err := task.Setresuid(1000, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	caps, err := task.CapabilitiesOf(task.tid)
	if err != nil || caps.Permitted != CapFull || caps.Effective != 0 {
		t.Errorf("CapabilitiesOf self: %+v, %v", caps, err)
	}
	if _, err := task.CapabilitiesOf(12345); err != unix.ESRCH {
		t.Errorf("CapabilitiesOf unknown: %v", err)
	}
	if old := task.Setfsuid(0); old != 1000 || task.creds.FSUID != 1000 {
		t.Errorf("Setfsuid(0) as a user without CAP_SETUID: old %d, fsuid %d", old, task.creds.FSUID)
	}
	if err := task.DropBounding(5); err != unix.EPERM {
		t.Errorf("DropBounding without CAP_SETPCAP: %v", err)
	}
	root := k.newTestTask(nil, task.tg, Credentials{})
	if err := root.DropBounding(5); err != nil {
		t.Fatal(err)
	}
	if has, _ := root.BoundingHas(5); has {
		t.Errorf("capability 5 still in the bounding set")
	}
	if _, err := root.BoundingHas(CapLastCap + 1); err != unix.EINVAL {
		t.Errorf("BoundingHas(last+1): %v", err)
	}
}

func TestNproc(t *testing.T) {
	k := newTestKernel()
	user := k.newTestTask(nil, nil, userCreds(1000, 1000))
	user.SetRlimit(unix.RLIMIT_NPROC, Rlimit{2, 2})
	k.mu.Lock()
	if err := user.checkNprocLocked(); err != nil {
		t.Errorf("first clone: %v", err)
	}
	k.mu.Unlock()
	k.newTestTask(user.tg, nil, userCreds(1000, 1000))
	k.newTestTask(nil, user.tg, userCreds(2000, 2000)) // another user's: not counted
	k.mu.Lock()
	if err := user.checkNprocLocked(); err != unix.EAGAIN {
		t.Errorf("clone over the limit: %v", err)
	}
	k.mu.Unlock()
	root := k.newTestTask(nil, user.tg, Credentials{})
	root.SetRlimit(unix.RLIMIT_NPROC, Rlimit{0, 0})
	k.mu.Lock()
	if err := root.checkNprocLocked(); err != nil {
		t.Errorf("root is exempt: %v", err)
	}
	k.mu.Unlock()
}

func TestAmbientCaps(t *testing.T) {
	bind, raw := CapBit(unix.CAP_NET_BIND_SERVICE), CapBit(unix.CAP_NET_RAW)
	u := userCreds(1000, 1000)
	u.setCaps(Capabilities{Effective: bind | raw, Permitted: bind | raw, Inheritable: bind, Bounding: CapFull})
	if err := u.ambient(PR_CAP_AMBIENT_RAISE, unix.CAP_NET_RAW); err != unix.EPERM {
		t.Errorf("raising a capability that is not inheritable: %v", err)
	}
	if err := u.ambient(PR_CAP_AMBIENT_RAISE, unix.CAP_NET_BIND_SERVICE); err != nil {
		t.Fatal(err)
	}
	// A user's exec keeps the ambient set only, as permitted and
	// effective.
	e := u
	e.afterExec()
	if got := e.Capabilities(); got.Permitted != bind || got.Effective != bind || got.Ambient != bind || got.Inheritable != bind {
		t.Errorf("a user's exec with an ambient capability: %+v", got)
	}
	// capset drops from the ambient set what leaves permitted or
	// inheritable.
	c := u
	if err := c.capset(raw, raw|bind, 0); err != nil {
		t.Fatal(err)
	}
	if got := c.Capabilities().Ambient; got != 0 {
		t.Errorf("ambient after the inheritable set was emptied: %#x", got)
	}
	// Leaving root for good clears it, even with KEEP_CAPS.
	r := rootCreds()
	r.setCaps(Capabilities{Effective: CapFull, Permitted: CapFull, Inheritable: bind, Bounding: CapFull, Ambient: bind})
	r.Securebits |= SECBIT_KEEP_CAPS
	if err := r.setresuid(1000, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	if got := r.Capabilities(); got.Ambient != 0 || got.Permitted != CapFull {
		t.Errorf("setresuid away from root with KEEP_CAPS: %+v", got)
	}
	// SECBIT_NO_CAP_AMBIENT_RAISE forbids raising; lowering and
	// clearing stay allowed.
	n := u
	n.Securebits |= SECBIT_NO_CAP_AMBIENT_RAISE
	if err := n.ambient(PR_CAP_AMBIENT_RAISE, unix.CAP_NET_BIND_SERVICE); err != unix.EPERM {
		t.Errorf("raising with SECBIT_NO_CAP_AMBIENT_RAISE: %v", err)
	}
	if err := n.ambient(PR_CAP_AMBIENT_CLEAR_ALL, 0); err != nil || n.Capabilities().Ambient != 0 {
		t.Errorf("clearing: %v, %+v", err, n.Capabilities())
	}
}

func TestAmbientCapCall(t *testing.T) {
	k := newTestKernel()
	task := k.newTestTask(nil, nil, Credentials{})
	if err := task.SetCapabilities(CapFull, CapFull, CapBit(unix.CAP_CHOWN)); err != nil {
		t.Fatal(err)
	}
	if _, err := task.AmbientCap(PR_CAP_AMBIENT_RAISE, unix.CAP_CHOWN); err != nil {
		t.Fatal(err)
	}
	if set, err := task.AmbientCap(PR_CAP_AMBIENT_IS_SET, unix.CAP_CHOWN); err != nil || !set {
		t.Errorf("IS_SET after RAISE: %v, %v", set, err)
	}
	if _, err := task.AmbientCap(PR_CAP_AMBIENT_LOWER, unix.CAP_CHOWN); err != nil {
		t.Fatal(err)
	}
	if set, _ := task.AmbientCap(PR_CAP_AMBIENT_IS_SET, unix.CAP_CHOWN); set {
		t.Error("IS_SET after LOWER")
	}
	if _, err := task.AmbientCap(PR_CAP_AMBIENT_IS_SET, CapLastCap+1); err != unix.EINVAL {
		t.Errorf("an invalid capability: %v", err)
	}
	if _, err := task.AmbientCap(9, unix.CAP_CHOWN); err != unix.EINVAL {
		t.Errorf("an invalid operation: %v", err)
	}
}

// The capabilities a runtime gives go through exec, as runc's do.
func TestSpecCredentials(t *testing.T) {
	bind := CapBit(unix.CAP_NET_BIND_SERVICE)
	user := userCreds(1000, 1000)
	user.Groups = []uint32{30, 10, 20}
	for _, tc := range []struct {
		name  string
		creds Credentials
		caps  *Capabilities
		want  Capabilities
	}{
		{"root, default", Credentials{}, nil, Capabilities{Effective: CapFull, Permitted: CapFull, Bounding: CapFull}},
		{"root, bounding set", Credentials{},
			&Capabilities{Bounding: bind, Effective: bind, Permitted: bind},
			Capabilities{Effective: bind, Permitted: bind, Bounding: bind}},
		{"user, no ambient", user,
			&Capabilities{Bounding: bind, Effective: bind, Permitted: bind, Inheritable: bind},
			Capabilities{Inheritable: bind, Bounding: bind}},
		{"user, ambient", user,
			&Capabilities{Bounding: bind, Effective: bind, Permitted: bind, Inheritable: bind, Ambient: bind},
			Capabilities{Effective: bind, Permitted: bind, Inheritable: bind, Bounding: bind, Ambient: bind}},
		{"user, ambient not inheritable", user,
			&Capabilities{Bounding: bind, Effective: bind, Permitted: bind, Ambient: bind},
			Capabilities{Bounding: bind}},
	} {
		spec := ProcessSpec{Creds: tc.creds, Capabilities: tc.caps}
		c, err := spec.credentials()
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := c.Capabilities(); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	spec := ProcessSpec{Creds: user}
	c, _ := spec.credentials()
	if !slices.Equal(c.Groups, []uint32{10, 20, 30}) || !slices.Equal(user.Groups, []uint32{30, 10, 20}) {
		t.Errorf("groups %v (the spec's now %v), want them sorted in a copy", c.Groups, user.Groups)
	}
	for _, caps := range []Capabilities{
		{Bounding: CapFull, Effective: bind}, // effective beyond permitted
		{Bounding: 0, Inheritable: bind},     // inheritable beyond bounding
	} {
		spec := ProcessSpec{Capabilities: &caps}
		if _, err := spec.credentials(); !errors.Is(err, unix.EPERM) {
			t.Errorf("%+v: %v, want EPERM", caps, err)
		}
	}
	bad := ProcessSpec{Creds: Credentials{UID: noID}}
	if _, err := bad.credentials(); !errors.Is(err, unix.EINVAL) {
		t.Errorf("uid -1: %v, want EINVAL", err)
	}
}

func TestSpecRlimits(t *testing.T) {
	spec := ProcessSpec{Rlimits: map[int]Rlimit{unix.RLIMIT_NOFILE: {10, 20}, unix.RLIMIT_CORE: {RlimInfinity, RlimInfinity}}}
	r, err := spec.rlimits()
	if err != nil {
		t.Fatal(err)
	}
	want := defaultRlimits()
	want[unix.RLIMIT_NOFILE] = Rlimit{10, 20}
	want[unix.RLIMIT_CORE] = Rlimit{RlimInfinity, RlimInfinity}
	if r != want {
		t.Errorf("limits %v, want %v", r, want)
	}
	for _, bad := range []map[int]Rlimit{
		{numRlimits: {1, 1}},
		{-1: {1, 1}},
		{unix.RLIMIT_STACK: {2, 1}},
		{unix.RLIMIT_NOFILE: {1, nrOpen + 1}},
	} {
		spec := ProcessSpec{Rlimits: bad}
		if _, err := spec.rlimits(); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestUnmappedIDs checks that with a user namespace of 65536 IDs, root
// can take any ID inside it and none outside (EINVAL, before the
// permission check), as in a Linux user namespace.
func TestUnmappedIDs(t *testing.T) {
	k := newTestKernel()
	m, err := userns.New([]userns.Extent{{Inside: 0, Outside: 100000, Count: 65536}})
	if err != nil {
		t.Fatal(err)
	}
	k.Config.UIDMap, k.Config.GIDMap = m, m
	root := k.newTestTask(nil, nil, Credentials{})
	for name, err := range map[string]error{
		"setuid":    root.Setuid(70000),
		"setgid":    root.Setgid(70000),
		"setreuid":  root.Setreuid(noID, 70000),
		"setregid":  root.Setregid(70000, noID),
		"setresuid": root.Setresuid(noID, noID, 65536),
		"setresgid": root.Setresgid(65536, noID, noID),
		"setgroups": root.Setgroups([]uint32{1, 70000}),
	} {
		if err != unix.EINVAL {
			t.Errorf("%s to an unmapped ID: %v, want EINVAL", name, err)
		}
	}
	if old := root.Setfsuid(70000); old != 0 || root.creds.FSUID != 0 {
		t.Errorf("setfsuid(70000): old %d, now %d; want it unchanged", old, root.creds.FSUID)
	}
	if err := root.Setgroups([]uint32{1, 65535}); err != nil {
		t.Errorf("setgroups within the map: %v", err)
	}
	if err := root.Setresuid(65535, 65535, 65535); err != nil {
		t.Errorf("setresuid within the map: %v", err)
	}
	// A task without CAP_SETUID asking for an unmapped ID gets EINVAL
	// too, not EPERM.
	if err := root.Setuid(70000); err != unix.EINVAL {
		t.Errorf("setuid(70000) without privilege: %v", err)
	}
}
