// Command sigexec is a differential test program (see test/doc.go): Go's
// os/signal and os/exec. signal.Notify for signals sent to ourselves,
// signal.Ignore and Reset, then os/exec re-running this program as a
// child with arguments, environment, stdin and stdout pipes, exit codes,
// a child killed by a signal, a child that signals its parent, and many
// children at once. It prints only what must be the same natively and in
// the sandbox.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func yesno(what string, ok bool) {
	if ok {
		fmt.Printf("%s: yes\n", what)
	} else {
		fmt.Printf("%s: no\n", what)
	}
}

// child is what this program does when re-run with "child MODE ...".
func child(mode string, args []string) {
	switch mode {
	case "echo":
		fmt.Printf("child args: %q\n", args)
		ppid, _ := strconv.Atoi(os.Getenv("PARENT_PID"))
		var env []string
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, "PARENT_PID=") {
				env = append(env, e)
			}
		}
		fmt.Printf("child env, but for PARENT_PID: %q\n", env)
		yesno("child's getppid is the parent", os.Getppid() == ppid)
		yesno("child's pid differs from the parent's", os.Getpid() != ppid)
		os.Exit(3)
	case "upper":
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			fmt.Fprintln(os.Stderr, "read:", err)
			os.Exit(1)
		}
		fmt.Print(strings.ToUpper(string(b)))
		fmt.Fprintln(os.Stderr, "child wrote", len(b), "bytes")
	case "block":
		// Wait on stdin until killed.
		io.ReadAll(os.Stdin)
		os.Exit(0)
	case "signal-parent":
		syscall.Kill(os.Getppid(), syscall.SIGUSR2)
	case "exit":
		n, _ := strconv.Atoi(args[0])
		os.Exit(n)
	}
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "child" {
		child(os.Args[2], os.Args[3:])
		return
	}
	runtime.GOMAXPROCS(2)
	self := os.Args[0]

	fmt.Println("-- signal.Notify")
	c := make(chan os.Signal, 4)
	signal.Notify(c, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP)
	pid := syscall.Getpid()
	for _, s := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGHUP, syscall.SIGUSR2} {
		syscall.Kill(pid, s)
		fmt.Println("received:", <-c)
	}
	signal.Ignore(syscall.SIGHUP)
	syscall.Kill(pid, syscall.SIGHUP)
	yesno("ignored SIGHUP: still alive", true)
	signal.Reset(syscall.SIGUSR1)
	signal.Ignore(syscall.SIGUSR1)
	syscall.Kill(pid, syscall.SIGUSR1)
	select {
	case s := <-c:
		fmt.Println("unexpected:", s)
	case <-time.After(20 * time.Millisecond):
		fmt.Println("nothing received after Reset and Ignore")
	}
	tc := make(chan os.Signal, 1)
	signal.Notify(tc, syscall.SIGTERM)
	syscall.Kill(pid, syscall.SIGTERM)
	fmt.Println("received:", <-tc)
	signal.Stop(tc)

	fmt.Println("-- os/exec of this program")
	cmd := exec.Command(self, "child", "echo", "one", "two words", "")
	cmd.Env = []string{"PARENT_PID=" + strconv.Itoa(pid), "X=1"}
	out, err := cmd.Output()
	fmt.Print(string(out))
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		fmt.Println("exit code:", ee.ExitCode())
	} else {
		fmt.Println("error:", err)
	}

	cmd = exec.Command(self, "child", "upper")
	cmd.Stdin = strings.NewReader(strings.Repeat("through a pipe\n", 3))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	fmt.Printf("stdout: %q, stderr: %q, err: %v\n", out, stderr.String(), err)

	fmt.Println("-- a child killed by SIGTERM")
	cmd = exec.Command(self, "child", "block")
	in, _ := cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		fmt.Println("start:", err)
	} else {
		yesno("child pid > 0", cmd.Process.Pid > 0)
		cmd.Process.Signal(syscall.SIGTERM)
		err = cmd.Wait()
		in.Close()
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		fmt.Println("wait:", err, "signaled:", ws.Signaled(), "signal:", ws.Signal())
	}

	fmt.Println("-- a child signalling its parent")
	uc := make(chan os.Signal, 1)
	signal.Notify(uc, syscall.SIGUSR2)
	err = exec.Command(self, "child", "signal-parent").Run()
	fmt.Println("child:", err, "parent received:", <-uc)

	fmt.Println("-- 20 children at once")
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := exec.Command(self, "child", "exit", strconv.Itoa(i)).Run()
			if errors.As(err, new(*exec.ExitError)) {
				codes[i] = err.(*exec.ExitError).ExitCode()
			} else if err != nil {
				codes[i] = -1
			}
		}()
	}
	wg.Wait()
	sum := 0
	for _, c := range codes {
		sum += c
	}
	fmt.Println("sum of exit codes:", sum)

	fmt.Println("-- a missing program")
	err = exec.Command("/nonexistent-magawa-test/prog").Run()
	fmt.Println("error:", err)
	bw := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(bw, "done")
	bw.Flush()
}
