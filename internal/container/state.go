package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"magawa/internal/boot"
)

// DefaultRoot is where the runtime keeps its state, as runc's
// /run/runc.
const DefaultRoot = "/run/magawa"

// stateFile is the container's record in its state directory.
const stateFile = "state.json"

// State is what state.json holds: the runtime spec's state and what
// later commands need.
type State struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// PidStart is the sandbox process's start time (/proc/PID/stat's
	// starttime): a reused PID is not taken for the sandbox.
	PidStart uint64 `json:"pidStart"`
	// CgroupPath is the sandbox's cgroup, removed at delete.
	CgroupPath string `json:"cgroupPath,omitempty"`
	// Hooks are the bundle's, run by start (poststart) and delete
	// (poststop) after the bundle may have changed.
	Hooks *specs.Hooks `json:"hooks,omitempty"`
	// Sandbox is the kind of sandbox: empty for the application
	// kernel, "vm" for a micro-VM (whose supervisor is Pid).
	Sandbox string `json:"sandbox,omitempty"`
	// SandboxID, when set, is the container whose sandbox this one
	// joined (a pod's sandbox container); Pid is then the host process
	// that waits for it (magawa exec-wait).
	SandboxID string `json:"sandboxId,omitempty"`
}

// ErrNotExist says there is no container of that ID.
var ErrNotExist = errors.New("container does not exist")

// Container is one container's state directory.
type Container struct {
	State
	dir string
	// lock is the directory's flock descriptor when held.
	lock int
}

// Dir is the state directory.
func (c *Container) Dir() string { return c.dir }

// Client talks to the container's sandbox, about this container.
func (c *Container) Client() *boot.Client {
	if c.SandboxID != "" {
		return boot.NewContainerClient(filepath.Join(filepath.Dir(c.dir), c.SandboxID), c.ID)
	}
	return boot.NewClient(c.dir)
}

// NewJoinedClient is the client of container id, which joins sb's
// sandbox, before its state is saved.
func NewJoinedClient(sb *Container, id string) *boot.Client {
	return boot.NewContainerClient(sb.dir, id)
}

// ValidID checks a container ID as runc does: letters, digits and
// "_+-.", not "." or "..", at most 1024 bytes (it names a directory).
func ValidID(id string) error {
	if id == "" {
		return errors.New("container ID must not be empty")
	}
	if len(id) > 1024 {
		return fmt.Errorf("container ID of %d bytes: the limit is 1024", len(id))
	}
	if id == "." || id == ".." {
		return fmt.Errorf("invalid container ID %q", id)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_+-.", r)) {
			return fmt.Errorf("invalid container ID %q: only letters, digits and _+-. are allowed", id)
		}
	}
	return nil
}

// Create makes the state directory of a new container (mode 0700, in a
// root of mode 0700) and locks it; EEXIST-like errors name the ID.
func Create(root, id string) (*Container, error) {
	if err := ValidID(id); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("state root: %w", err)
	}
	dir := filepath.Join(root, id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container with id %q already exists", id)
		}
		return nil, fmt.Errorf("state directory: %w", err)
	}
	c := &Container{State: State{ID: id}, dir: dir, lock: -1}
	if err := c.Lock(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// Load reads a container's state.
func Load(root, id string) (*Container, error) {
	if err := ValidID(id); err != nil {
		return nil, err
	}
	dir := filepath.Join(root, id)
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("container %q: %w", id, ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	c := &Container{dir: dir, lock: -1}
	if err := json.Unmarshal(b, &c.State); err != nil {
		return nil, fmt.Errorf("container %q: corrupt state: %w", id, err)
	}
	return c, nil
}

// List loads every container under root, by ID.
func List(root string) ([]*Container, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cs []*Container
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c, err := Load(root, e.Name())
		if err != nil {
			continue // being made or removed
		}
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].ID < cs[j].ID })
	return cs, nil
}

// Save writes state.json atomically (a new file renamed over the old).
func (c *Container) Save() error {
	b, err := json.Marshal(c.State)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.dir, ".state-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(c.dir, stateFile))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("saving the container's state: %w", err)
	}
	return nil
}

// Lock takes the container's exclusive lock, waiting for it.
func (c *Container) Lock() error {
	if c.lock >= 0 {
		return nil
	}
	fd, err := unix.Open(c.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("locking the container: %w", err)
	}
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return fmt.Errorf("locking the container: %w", err)
	}
	c.lock = fd
	return nil
}

// Unlock releases the lock.
func (c *Container) Unlock() {
	if c.lock >= 0 {
		unix.Close(c.lock)
		c.lock = -1
	}
}

// Remove deletes the state directory.
func (c *Container) Remove() error {
	c.Unlock()
	return os.RemoveAll(c.dir)
}

// Alive reports whether the sandbox process still exists (and is not a
// zombie): its PID names the same process it did at create.
func (c *Container) Alive() bool {
	if c.Pid <= 0 {
		return false
	}
	start, state, err := procStart(c.Pid)
	return err == nil && start == c.PidStart && state != 'Z' && state != 'X'
}

// Status is the container's status now: what the sandbox says, or
// stopped when it is gone.
func (c *Container) Status() string {
	if !c.Alive() {
		return boot.StatusStopped
	}
	status, err := c.Client().Status()
	switch {
	case err == boot.ErrNotAnswering:
		// Alive but wedged: still running, as far as anyone can tell
		// (delete needs --force).
		return boot.StatusRunning
	case err != nil:
		// Alive but no longer serving: exiting.
		return boot.StatusStopped
	}
	return status
}

// procStart reads a process's start time and state from /proc/PID/stat.
func procStart(pid int) (uint64, byte, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name, in parentheses, may hold spaces and ")".
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	// Fields from the state (field 3): starttime is field 22.
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, 0, err
	}
	return start, fields[0][0], nil
}

// ProcStart is procStart's start time, for create to record.
func ProcStart(pid int) (uint64, error) {
	start, _, err := procStart(pid)
	return start, err
}

// SpecState is the runtime spec's state of the container, as `state`
// prints it.
func (c *Container) SpecState(status string) specs.State {
	pid := c.Pid
	if status == boot.StatusStopped {
		pid = 0
	}
	return specs.State{
		Version:     c.OCIVersion,
		ID:          c.ID,
		Status:      specs.ContainerState(status),
		Pid:         pid,
		Bundle:      c.Bundle,
		Annotations: c.Annotations,
	}
}
