package e2e

import (
	"testing"

	"magawa/test/testenv"
)

// TestPodmanVM runs podman's simplest uses against the micro-VM sandbox
// (issue #7), -it included (conmon's console socket): the wrapper runs
// magawa --sandbox=vm, so that every container podman makes is a QEMU
// VM (seconds per boot under TCG: six boots, one on podman's bridge
// network). Skipped without QEMU; the guest image is found or built as
// test/vm does (testenv.NeedVM).
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
	t.Run("port_forward", func(t *testing.T) {
		// podman's default network (a CNI bridge, a veth into the
		// container's namespace, iptables rules for -p): the VM's NIC
		// takes the veth's MAC address and address, and the guest's
		// httpd serves the port.
		p := p.with(t)
		const name = "e2e-vm-port"
		port := freePort(t)
		script := `mkdir -p /tmp/www && echo served by the VM > /tmp/www/index.html && echo started && exec httpd -f -p 8080 -h /tmp/www`
		if !p.expect("podman run -d --network bridge -p (VM)", p.podman("", "run", "-d", "--name", name, "--network", "bridge", "-p", "127.0.0.1:"+port+":8080", image, "sh", "-c", script), 0, nil) {
			return
		}
		defer p.podman("", "rm", "--force", "--time", "0", name)
		waitLog(p.env, func() result { return p.podman("", "logs", name) }, "started")
		body, err := httpGetRetry("http://127.0.0.1:" + port + "/index.html")
		if err != nil || body != "served by the VM\n" {
			t.Errorf("GET through podman's port forward: %q, %v", body, err)
		}
	})
	p.checkNoContainersLeft(p.state)
}
