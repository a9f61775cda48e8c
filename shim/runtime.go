package shim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/containerd/sys/reaper"
)

// runtime runs the magawa runtime CLI with the shim's state root and
// global flags (the sandbox kind, platform, network, overlay, logs).
type runtime struct {
	binary string
	root   string
	flags  []string
}

// findRuntime returns the magawa binary: next to the shim's executable
// (a release installs both in one directory), else in PATH.
func findRuntime() (string, error) {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "magawa")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	p, err := exec.LookPath("magawa")
	if err != nil {
		return "", fmt.Errorf("the magawa runtime: not next to the shim and not in PATH: %w", err)
	}
	return p, nil
}

func (r *runtime) command(args ...string) *exec.Cmd {
	all := append(append([]string{"--root", r.root}, r.flags...), args...)
	return exec.Command(r.binary, all...)
}

// run runs a command to its end through the reaper (the shim reaps
// every child) and returns its standard output; its error output is
// in the error.
func (r *runtime) run(ctx context.Context, stdio *[3]*os.File, args ...string) ([]byte, error) {
	return r.runLogged(ctx, stdio, "", args...)
}

// runLogged is run with the runtime's errors going to the file log
// (when the command's stderr is the container's) as well.
func (r *runtime) runLogged(ctx context.Context, stdio *[3]*os.File, log string, args ...string) ([]byte, error) {
	cmd := r.command(args...)
	if log != "" {
		cmd = r.command(append([]string{"--log", log}, args...)...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdio != nil {
		// The container's own stdio: the runtime passes it to the
		// sandbox, and reports errors in its log (--log).
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio[0], stdio[1], stdio[2]
	}
	ec, err := reaper.Default.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("magawa %s: %w", args[0], err)
	}
	status, err := reaper.Default.Wait(cmd, ec)
	if err == nil && status != 0 {
		err = fmt.Errorf("exit status %d", status)
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if log != "" {
			msg = lastLine(log)
		}
		if msg != "" {
			return nil, fmt.Errorf("magawa %s: %s", args[0], msg)
		}
		return nil, fmt.Errorf("magawa %s: %w", args[0], err)
	}
	return stdout.Bytes(), nil
}

// lastLine is the last line of the runtime's --log file, where a
// command whose stderr is the container's reports its error.
func lastLine(log string) string {
	b, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// createOptions are create's.
type createOptions struct {
	bundle, pidFile, consoleSocket string
	// flags are global flags for this container alone.
	flags []string
	// log gets the runtime's errors: its stderr is the container's.
	log   string
	stdio [3]*os.File
}

func (r *runtime) create(ctx context.Context, id string, o createOptions) error {
	args := []string{"create", "--bundle", o.bundle, "--pid-file", o.pidFile}
	if o.consoleSocket != "" {
		args = append(args, "--console-socket", o.consoleSocket)
	}
	_, err := r.runLogged(ctx, &o.stdio, o.log, append(append(o.flags, args...), id)...)
	return err
}

func (r *runtime) start(ctx context.Context, id string) error {
	_, err := r.run(ctx, nil, "start", id)
	return err
}

func (r *runtime) kill(ctx context.Context, id string, signal uint32, all bool) error {
	args := []string{"kill"}
	if all {
		args = append(args, "--all")
	}
	_, err := r.run(ctx, nil, append(args, id, strconv.FormatUint(uint64(signal), 10))...)
	return err
}

func (r *runtime) delete(ctx context.Context, id string, force bool) error {
	args := []string{"delete"}
	if force {
		args = append(args, "--force")
	}
	_, err := r.run(ctx, nil, append(args, id)...)
	return err
}

func (r *runtime) pause(ctx context.Context, id string) error {
	_, err := r.run(ctx, nil, "pause", id)
	return err
}

func (r *runtime) resume(ctx context.Context, id string) error {
	_, err := r.run(ctx, nil, "resume", id)
	return err
}

// ps returns the sandbox's host PIDs.
func (r *runtime) ps(ctx context.Context, id string) ([]int, error) {
	out, err := r.run(ctx, nil, "ps", "--format", "json", id)
	if err != nil {
		return nil, err
	}
	var pids []int
	if err := json.Unmarshal(out, &pids); err != nil {
		return nil, fmt.Errorf("magawa ps: %w", err)
	}
	return pids, nil
}

// update applies an OCI linux.resources document.
func (r *runtime) update(ctx context.Context, id string, resources []byte) error {
	cmd := r.command("update", "--resources", "-", id)
	cmd.Stdin = bytes.NewReader(resources)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	ec, err := reaper.Default.Start(cmd)
	if err != nil {
		return err
	}
	if status, err := reaper.Default.Wait(cmd, ec); err != nil || status != 0 {
		return fmt.Errorf("magawa update: %s", strings.TrimSpace(stderr.String()))
	}
	return nil
}

// stats returns `events --stats`.
func (r *runtime) stats(ctx context.Context, id string) (*runtimeStats, error) {
	out, err := r.run(ctx, nil, "events", "--stats", id)
	if err != nil {
		return nil, err
	}
	var ev struct {
		Type string       `json:"type"`
		Data runtimeStats `json:"data"`
	}
	if err := json.Unmarshal(out, &ev); err != nil {
		return nil, fmt.Errorf("magawa events --stats: %w", err)
	}
	if ev.Type != "stats" {
		return nil, errors.New("magawa events --stats: no stats event")
	}
	return &ev.Data, nil
}

// runtimeStats is the part of `events --stats` the shim reports.
type runtimeStats struct {
	CPU struct {
		Usage struct {
			Total  uint64   `json:"total"`
			Percpu []uint64 `json:"percpu"`
			Kernel uint64   `json:"kernel"`
			User   uint64   `json:"user"`
		} `json:"usage"`
		Throttling struct {
			Periods          uint64 `json:"periods"`
			ThrottledPeriods uint64 `json:"throttledPeriods"`
			ThrottledTime    uint64 `json:"throttledTime"`
		} `json:"throttling"`
	} `json:"cpu"`
	Memory struct {
		Cache uint64 `json:"cache"`
		Usage struct {
			Limit   uint64 `json:"limit"`
			Usage   uint64 `json:"usage"`
			Max     uint64 `json:"max"`
			Failcnt uint64 `json:"failcnt"`
		} `json:"usage"`
		Raw map[string]uint64 `json:"raw"`
	} `json:"memory"`
	Pids struct {
		Current uint64 `json:"current"`
		Limit   uint64 `json:"limit"`
	} `json:"pids"`
}
