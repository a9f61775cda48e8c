package e2e

import (
	"testing"

	"magawa/test/testenv"
)

// TestPodmanVM runs podman's simplest uses against the micro-VM sandbox
// (issue #7), -it included (conmon's console socket): the wrapper runs
// magawa --sandbox=vm, so that every container podman makes is a QEMU
// VM (seconds per boot under TCG: five boots). Skipped without QEMU; the guest image is found or built
// as test/vm does (testenv.NeedVM).
func TestPodmanVM(t *testing.T) {
	wantClient(t, "podman")
	requireRoot(t)
	img := testenv.NeedVM(t)
	p := newPodmanOf(t, "podman-vm", "--sandbox=vm", "--vm-kernel", img.Kernel, "--vm-initrd", img.Initramfs)
	image := p.image

	t.Run("run_echo", func(t *testing.T) {
		p := p.with(t)
		p.expect("podman run --rm IMAGE echo hi (VM)", p.podman("", "run", "--rm", image, "echo", "hi"), 0, str("hi\n"))
	})
	t.Run("exit_status", func(t *testing.T) {
		p := p.with(t)
		p.expect("exit 3 (VM)", p.podman("", "run", "--rm", image, "sh", "-c", "exit 3"), 3, str(""))
	})
	t.Run("env", func(t *testing.T) {
		p := p.with(t)
		p.expect("-e VAR=x (VM)", p.podman("", "run", "--rm", "-e", "VAR=x", image, "sh", "-c", `echo "$VAR"`), 0, str("x\n"))
	})
	t.Run("tty", func(t *testing.T) {
		// conmon's --console-socket: the guest's terminal relayed to
		// podman's.
		p := p.with(t)
		r := p.runTTY("ready", "hello\r", p.bin, p.args("run", "--rm", "-it", image, "sh", "-c", ttyScript)...)
		p.checkTTY("podman run -it (typed) (VM)", r, 5)
	})
	t.Run("exec_tty", func(t *testing.T) {
		p := p.with(t)
		const name = "e2e-vm-exec-tty"
		if !p.expect("podman run -d (VM)", p.podman("", "run", "-d", "--name", name, image, "sleep", "1000"), 0, nil) {
			return
		}
		defer p.podman("", "rm", "--force", "--time", "0", name)
		r := p.runTTY("ready", "hello\r", p.bin, p.args("exec", "-it", name, "sh", "-c", ttyScript)...)
		p.checkTTY("podman exec -it (typed) (VM)", r, 5)
	})
	p.checkNoContainersLeft(p.state)
}
