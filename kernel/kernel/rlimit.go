package kernel

import "golang.org/x/sys/unix"

// numRlimits is the number of resource limits (RLIM_NLIMITS).
const numRlimits = 16

// RlimInfinity is RLIM_INFINITY.
const RlimInfinity = ^uint64(0)

// Rlimit is a soft and hard limit.
type Rlimit struct{ Cur, Max uint64 }

// defaultRlimits are those of a container started by runc on Linux.
// Linux: include/asm-generic/resource.h, INIT_RLIMITS.
func defaultRlimits() [numRlimits]Rlimit {
	var r [numRlimits]Rlimit
	for i := range r {
		r[i] = Rlimit{RlimInfinity, RlimInfinity}
	}
	r[unix.RLIMIT_STACK] = Rlimit{8 << 20, RlimInfinity}
	r[unix.RLIMIT_CORE] = Rlimit{0, RlimInfinity}
	r[unix.RLIMIT_NOFILE] = Rlimit{1024, 1024 * 1024}
	r[unix.RLIMIT_NPROC] = Rlimit{63478, 63478}
	r[unix.RLIMIT_MEMLOCK] = Rlimit{8 << 20, 8 << 20}
	r[unix.RLIMIT_SIGPENDING] = Rlimit{63478, 63478}
	r[unix.RLIMIT_MSGQUEUE] = Rlimit{819200, 819200}
	r[unix.RLIMIT_NICE] = Rlimit{0, 0}
	r[unix.RLIMIT_RTPRIO] = Rlimit{0, 0}
	return r
}

// Rlimit returns a limit of the task's process.
func (t *Task) Rlimit(resource int) (Rlimit, error) {
	if resource < 0 || resource >= numRlimits {
		return Rlimit{}, unix.EINVAL
	}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.tg.rlimits[resource], nil
}

// SetRlimit replaces a limit. Raising a hard limit needs CAP_SYS_RESOURCE
// (the sandbox's root has it); the soft limit may not exceed the hard.
// Linux: kernel/sys.c, do_prlimit().
func (t *Task) SetRlimit(resource int, r Rlimit) error {
	if resource < 0 || resource >= numRlimits {
		return unix.EINVAL
	}
	if r.Cur > r.Max {
		return unix.EINVAL
	}
	if resource == unix.RLIMIT_NOFILE && r.Max > nrOpen {
		return unix.EPERM
	}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	if r.Max > t.tg.rlimits[resource].Max && !t.creds.HasCap(unix.CAP_SYS_RESOURCE) {
		return unix.EPERM
	}
	t.tg.rlimits[resource] = r
	return nil
}

// nrOpen is fs.nr_open, the ceiling of RLIMIT_NOFILE.
const nrOpen = 1 << 20

// MaxFDs is RLIMIT_NOFILE's soft limit as a descriptor bound.
func (t *Task) MaxFDs() int {
	t.k.mu.Lock()
	n := t.tg.rlimits[unix.RLIMIT_NOFILE].Cur
	t.k.mu.Unlock()
	if n > nrOpen {
		n = nrOpen
	}
	return int(n)
}
