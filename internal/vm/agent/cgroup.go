package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"magawa/internal/vm/agentapi"
)

// A container's cgroup in the guest: its limits (at create and update)
// and its freezer (pause and resume). Linux: Documentation/admin-guide/
// cgroup-v2.rst.

// statusPaused is a frozen container's status.
const statusPaused = "paused"

// freezeTimeout bounds the wait for a cgroup's tasks to freeze: one in
// an uninterruptible sleep (a 9p call the host is slow to answer)
// freezes only once it returns.
const freezeTimeout = 10 * time.Second

func (a *agent) PauseContainer(ctx context.Context, req *agentapi.ContainerRequest) (*agentapi.Empty, error) {
	return &agentapi.Empty{}, a.freeze(ctx, req.Id, true)
}

func (a *agent) ResumeContainer(ctx context.Context, req *agentapi.ContainerRequest) (*agentapi.Empty, error) {
	return &agentapi.Empty{}, a.freeze(ctx, req.Id, false)
}

func (a *agent) UpdateContainer(ctx context.Context, req *agentapi.UpdateContainerRequest) (*agentapi.Empty, error) {
	c, err := a.container(req.Id)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	state := c.state
	a.mu.Unlock()
	if state == statusStopped || c.cgroup == "" {
		return nil, fmt.Errorf("cannot update a container that is %s", state)
	}
	if req.Resources == nil {
		return &agentapi.Empty{}, nil
	}
	return &agentapi.Empty{}, setLimits(c.cgroup, req.Resources)
}

// freeze freezes (pause) or thaws (resume) the container's cgroup, and
// returns once cgroup.events says it is done. Its processes, init and
// exec'd ones, are all in that cgroup.
func (a *agent) freeze(ctx context.Context, id string, pause bool) error {
	c, err := a.container(id)
	if err != nil {
		return err
	}
	verb, from, to := "pause", statusRunning, statusPaused
	if !pause {
		verb, from, to = "resume", statusPaused, statusRunning
	}
	// The status is taken for the time of the change: a second pause, a
	// start or an exec meanwhile sees neither running nor paused.
	a.mu.Lock()
	state := c.state
	if state == from {
		c.state = verb + "-pending"
	}
	a.mu.Unlock()
	if state != from {
		return fmt.Errorf("cannot %s a container that is %s", verb, state)
	}
	err = setFrozen(ctx, c.cgroup, pause)
	if err != nil && pause {
		// Half frozen is no state to leave it in.
		setFrozen(context.Background(), c.cgroup, false)
	}
	a.mu.Lock()
	switch {
	case c.state == statusStopped:
		// Its init ended meanwhile (a SIGKILL reaches frozen tasks).
	case err != nil:
		c.state = from
	default:
		c.state = to
	}
	a.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	return nil
}

// setFrozen writes cgroup.freeze and waits for cgroup.events' frozen
// field to follow.
func setFrozen(ctx context.Context, cgroup string, frozen bool) error {
	want := "0"
	if frozen {
		want = "1"
	}
	if err := writeCgroupFile(cgroup, "cgroup.freeze", want); err != nil {
		return fmt.Errorf("cgroup.freeze: %w", err)
	}
	deadline := time.Now().Add(freezeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		b, err := os.ReadFile(filepath.Join(cgroup, "cgroup.events"))
		if err != nil {
			return fmt.Errorf("cgroup.events: %w", err)
		}
		if eventsField(string(b), "frozen") == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the container's processes did not freeze within %v", freezeTimeout)
		}
		time.Sleep(delay)
	}
}

// eventsField is a field of a cgroup's flat keyed file (cgroup.events).
func eventsField(events, key string) string {
	for _, line := range strings.Split(events, "\n") {
		if v, ok := strings.CutPrefix(line, key+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// setLimits writes the limits r sets into a cgroup: a field left zero
// leaves its file as it is, a negative memory or pids limit or CPU
// quota is "max" (none).
func setLimits(cgroup string, r *agentapi.Resources) error {
	write := func(what, name, value string) error {
		if err := writeCgroupFile(cgroup, name, value); err != nil {
			return fmt.Errorf("%s: %s %q: %w", what, name, value, err)
		}
		return nil
	}
	limit := func(n int64) string {
		if n < 0 {
			return "max"
		}
		return strconv.FormatInt(n, 10)
	}
	if r.MemoryLimit != 0 {
		if err := write("memory limit", "memory.max", limit(r.MemoryLimit)); err != nil {
			return err
		}
	}
	if r.PidsLimit != 0 {
		if err := write("pids limit", "pids.max", limit(r.PidsLimit)); err != nil {
			return err
		}
	}
	if r.CpuWeight != 0 {
		if err := write("CPU weight", "cpu.weight", strconv.FormatUint(r.CpuWeight, 10)); err != nil {
			return err
		}
	}
	if r.CpuQuota != 0 || r.CpuPeriod != 0 {
		// cpu.max holds both: the one not given keeps its value.
		quota, period, err := readCPUMax(cgroup)
		if err != nil {
			return err
		}
		if r.CpuQuota != 0 {
			quota = limit(r.CpuQuota)
		}
		if r.CpuPeriod != 0 {
			period = strconv.FormatUint(r.CpuPeriod, 10)
		}
		if err := write("CPU quota", "cpu.max", quota+" "+period); err != nil {
			return err
		}
	}
	return nil
}

// writeCgroupFile writes one of a cgroup's files, which the kernel made:
// a missing one (a controller not enabled) is not created.
func writeCgroupFile(cgroup, name, value string) error {
	f, err := os.OpenFile(filepath.Join(cgroup, name), os.O_WRONLY|os.O_TRUNC|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readCPUMax reads cpu.max: "max 100000", "50000 100000".
func readCPUMax(cgroup string) (quota, period string, err error) {
	b, err := os.ReadFile(filepath.Join(cgroup, "cpu.max"))
	if err != nil {
		return "", "", fmt.Errorf("CPU quota: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return "", "", fmt.Errorf("CPU quota: cpu.max is %q", b)
	}
	return f[0], f[1], nil
}

// moveToCgroup puts a process into a cgroup: a helper started by a
// container's user namespace holder, which cannot clone into the
// container's cgroup itself (its cgroup.procs belongs to the guest's
// root, which the namespace does not map).
func moveToCgroup(cgroup string, pid int) error {
	err := writeCgroupFile(cgroup, "cgroup.procs", strconv.Itoa(pid))
	if errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("the helper %d exited before it could join its cgroup", pid)
	}
	if err != nil {
		return fmt.Errorf("joining the container's cgroup: %w", err)
	}
	return nil
}
