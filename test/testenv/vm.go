package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/internal/vm/image"
)

// VMImage is the guest image of the micro-VM sandbox (--sandbox=vm) for
// the tests that boot one (test/vm, test/e2e).
type VMImage struct {
	Kernel, Initramfs string
}

var (
	vmOnce  sync.Once
	vmImage *VMImage
	vmSkip  string
	vmErr   error
)

// NeedVM returns the guest image, built once per test binary as `make
// vm-image` does, or skips the test (Skip: failing under
// MAGAWA_TEST_NO_SKIP) when the VM sandbox cannot run here: not root,
// or no qemu-system-x86_64. $MAGAWA_VM_IMAGE names a directory with a
// built image to use instead. The image is built into the checkout's
// .cache/vm (where magawa looks for it by default) under a lock, so
// that test packages run in parallel do not write it at once; the
// kernel package is downloaded only the first time (apt's lists must be
// there).
func NeedVM(t testing.TB) *VMImage {
	t.Helper()
	vmOnce.Do(func() { vmImage, vmSkip, vmErr = buildVMImage() })
	if vmSkip != "" {
		Skip(t, "%s", vmSkip)
	}
	if vmErr != nil {
		t.Fatal(vmErr)
	}
	return vmImage
}

func buildVMImage() (*VMImage, string, error) {
	if os.Geteuid() != 0 {
		return nil, "the VM sandbox needs root", nil
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		return nil, "the VM sandbox needs qemu-system-x86_64 (apt-get install qemu-system-x86)", nil
	}
	if dir := os.Getenv("MAGAWA_VM_IMAGE"); dir != "" {
		img := &VMImage{Kernel: filepath.Join(dir, image.KernelName), Initramfs: filepath.Join(dir, image.InitramfsName)}
		for _, p := range []string{img.Kernel, img.Initramfs} {
			if _, err := os.Stat(p); err != nil {
				return nil, "", fmt.Errorf("$MAGAWA_VM_IMAGE: %w", err)
			}
		}
		return img, "", nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return nil, "", err
	}
	tmp, err := os.MkdirTemp("", "magawa-agent-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(tmp)
	agent := filepath.Join(tmp, "magawa-agent")
	cmd := exec.Command("go", "build", "-o", agent, "./cmd/magawa-agent")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("go build ./cmd/magawa-agent: %v\n%s", err, out)
	}
	dir := filepath.Join(root, ".cache", "vm")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	// go test ./test/... runs test/vm and test/e2e at once: one builds
	// while the other waits, then rebuilds from the cached kernel (the
	// agent may differ between them only if the tree changed meanwhile).
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, "", err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return nil, "", err
	}
	img, err := image.Build(image.Options{Dir: dir, Agent: agent})
	if err != nil {
		return nil, "", fmt.Errorf("building the guest image (make vm-image): %w", err)
	}
	return &VMImage{Kernel: img.Kernel, Initramfs: img.Initramfs}, "", nil
}
