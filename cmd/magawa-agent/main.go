// Command magawa-agent is the guest agent of the micro-VM sandbox: the
// initramfs's /init (PID 1 of the guest), and the helper it re-executes
// to start a container's processes. All of it is in internal/vm/agent.
package main

import (
	"os"
	"runtime"

	"magawa/internal/vm/agent"
)

// The helpers set up a process's credentials on the thread that then
// calls execve: the main goroutine stays on the main thread.
func init() { runtime.LockOSThread() }

func main() { os.Exit(agent.Main(os.Args)) }
