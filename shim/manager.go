package shim

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"syscall"
	"time"

	"github.com/containerd/containerd/mount"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/runtime/v2/shim"
	runc "github.com/containerd/go-runc"
	"golang.org/x/sys/unix"
)

// groupAnnotations name a container's group: containers with the same
// value share one shim (a pod's, under the CRI plugin or CRI-O).
var groupAnnotations = []string{
	"io.kubernetes.cri.sandbox-id",
	"io.kubernetes.cri-o.SandboxID",
}

// Manager is the shim's start and delete actions (shim.Manager).
type Manager struct{}

func (Manager) Name() string { return RuntimeType }

// Start starts the shim process of the container's group, or, when it
// is running already, gives containerd its address: containerd runs
// `start` in the container's bundle directory.
func (Manager) Start(ctx context.Context, id string, opts shim.StartOpts) (_ string, retErr error) {
	ns, err := namespaces.NamespaceRequired(ctx)
	if err != nil {
		return "", err
	}
	grouping, err := groupOf(id)
	if err != nil {
		return "", err
	}
	address, err := shim.SocketAddress(ctx, opts.Address, grouping)
	if err != nil {
		return "", err
	}
	socket, err := shim.NewSocket(address)
	if err != nil {
		if !shim.SocketEaddrinuse(err) {
			return "", fmt.Errorf("the shim's socket: %w", err)
		}
		// The group's shim: this container joins it.
		if shim.CanConnect(address) {
			if err := shim.WriteAddress("address", address); err != nil {
				return "", err
			}
			return address, nil
		}
		// A shim that died left its socket.
		if err := shim.RemoveSocket(address); err != nil {
			return "", fmt.Errorf("removing a dead shim's socket: %w", err)
		}
		if socket, err = shim.NewSocket(address); err != nil {
			return "", fmt.Errorf("the shim's socket: %w", err)
		}
	}
	defer func() {
		if retErr != nil {
			socket.Close()
			shim.RemoveSocket(address)
		}
	}()
	if err := shim.WriteAddress("address", address); err != nil {
		return "", err
	}
	f, err := socket.File()
	if err != nil {
		return "", err
	}
	defer f.Close()
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	cwd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	args := []string{"-namespace", ns, "-id", id, "-address", opts.Address}
	if opts.Debug {
		args = append(args, "-debug")
	}
	cmd := exec.Command(self, args...)
	cmd.Dir = cwd
	cmd.Env = os.Environ()
	// Its own process group: a signal to containerd's is not the
	// shim's.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.ExtraFiles = []*os.File{f}
	goruntime.LockOSThread()
	err = cmd.Start()
	goruntime.UnlockOSThread()
	if err != nil {
		return "", fmt.Errorf("starting the shim: %w", err)
	}
	go cmd.Wait()
	if err := shim.AdjustOOMScore(cmd.Process.Pid); err != nil {
		cmd.Process.Kill()
		return "", fmt.Errorf("the shim's OOM score: %w", err)
	}
	return address, nil
}

// groupOf reads the bundle's annotations (containerd's working
// directory for `start` is the bundle) for the container's group.
func groupOf(id string) (string, error) {
	b, err := os.ReadFile("config.json")
	if err != nil {
		return "", fmt.Errorf("the bundle's config.json: %w", err)
	}
	var spec struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		return "", fmt.Errorf("the bundle's config.json: %w", err)
	}
	for _, a := range groupAnnotations {
		if g := spec.Annotations[a]; g != "" {
			return g, nil
		}
	}
	return id, nil
}

// Stop is `delete`: containerd's cleanup of a container whose shim is
// gone. The sandbox is deleted by force and the root file system the
// shim mounted is unmounted.
func (Manager) Stop(ctx context.Context, id string) (shim.StopStatus, error) {
	ns, err := namespaces.NamespaceRequired(ctx)
	if err != nil {
		return shim.StopStatus{}, err
	}
	bundle, err := os.Getwd()
	if err != nil {
		return shim.StopStatus{}, err
	}
	bin, err := findRuntime()
	if err != nil {
		return shim.StopStatus{}, err
	}
	r := &runtime{binary: bin, root: stateRoot(ns)}
	cmd := r.command("delete", "--force", id)
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "magawa delete --force %s: %v: %s\n", id, err, out)
	}
	if err := mount.UnmountAll(filepath.Join(bundle, "rootfs"), unix.MNT_DETACH); err != nil {
		fmt.Fprintf(os.Stderr, "unmounting %s: %v\n", filepath.Join(bundle, "rootfs"), err)
	}
	pid, _ := runc.ReadPidFile(filepath.Join(bundle, "init.pid"))
	return shim.StopStatus{ExitedAt: time.Now(), ExitStatus: 128 + int(unix.SIGKILL), Pid: pid}, nil
}
