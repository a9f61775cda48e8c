package agent

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/containerd/ttrpc"
	"golang.org/x/sys/unix"

	"magawa/internal/vm/agentapi"
)

// Version is the agent's, answered by Ping.
const Version = "0.1.0"

// Helper verbs: the agent re-executes itself with these to start a
// container's processes.
const (
	initVerb = "container-init"
	execVerb = "container-exec"
)

// portTimeout bounds the wait for the virtio-serial port to appear once
// the modules are loaded.
const portTimeout = 20 * time.Second

// Main runs the agent (as PID 1) or one of its helpers, and returns the
// exit status (PID 1 never returns: it powers the guest off).
func Main(args []string) int {
	if len(args) > 1 {
		switch args[1] {
		case initVerb:
			return containerInit()
		case execVerb:
			return containerExec()
		case holderVerb:
			return userNSHolder()
		}
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "magawa-agent: the guest's init: the kernel runs it as PID 1 of a micro-VM")
		return 2
	}
	runAgent()
	return 0
}

// logf writes a line on the console (the guest's serial port, which the
// host keeps in the sandbox's console log).
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "magawa-agent: "+format+"\n", args...)
}

// fatal reports err on the console and powers the guest off: the host
// sees QEMU exit and the console's last lines.
func fatal(err error) {
	logf("fatal: %v", err)
	powerOff()
}

func powerOff() {
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	// Should the call fail, the kernel panics on init's exit, which
	// ends the VM too (panic=-1 and QEMU's -no-reboot).
	os.Exit(1)
}

func runAgent() {
	if err := setupGuest(); err != nil {
		fatal(err)
	}
	port, err := agentapi.FindPort(agentapi.PortName, time.Now().Add(portTimeout))
	if err != nil {
		fatal(err)
	}
	conn, err := agentapi.OpenSerial(port)
	if err != nil {
		fatal(err)
	}
	a := newAgent()
	go a.reaper.run()
	srv, err := ttrpc.NewServer(ttrpc.WithUnaryServerInterceptor(recoverPanics))
	if err != nil {
		fatal(err)
	}
	agentapi.RegisterAgentService(srv, a)
	logf("serving on %s at %s s of uptime", port, uptime())
	err = srv.Serve(context.Background(), agentapi.NewConnListener(conn))
	fatal(fmt.Errorf("serving: %w", err))
}

// recoverPanics turns a panic in a call into its error: the agent is
// the guest's PID 1, whose end would end the VM.
func recoverPanics(ctx context.Context, unmarshal ttrpc.Unmarshaler, info *ttrpc.UnaryServerInfo, method ttrpc.Method) (resp interface{}, err error) {
	defer func() {
		if r := recover(); r != nil {
			logf("panic in %s: %v\n%s", info.FullMethod, r, debug.Stack())
			resp, err = nil, fmt.Errorf("the agent failed in %s: %v", info.FullMethod, r)
		}
	}()
	return method(ctx, unmarshal)
}

// uptime is /proc/uptime's first field.
func uptime() string {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
