package boot

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// SendConsole makes the container's terminal for an OCI runtime's
// --console-socket: a host pseudo-terminal whose master goes to the
// socket (the supervisor, conmon or containerd's shim, reads and writes
// it and resizes it) and whose slave becomes this process's descriptors
// 0-2 and controlling terminal. The sandbox's console then relays the
// slave to the sandbox's own terminal (the application kernel's, or the
// guest's in a VM), as it relays a user's terminal for `magawa do -t`;
// a resize of the master reaches it as SIGWINCH. The process must lead
// its session (boot.Launch's Detach).
func SendConsole(socketPath string, rows, cols uint16) error {
	slaveFD, err := ConsoleSocketTerminal(socketPath, rows, cols)
	if err != nil {
		return err
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup2(slaveFD, fd); err != nil {
			unix.Close(slaveFD)
			return fmt.Errorf("console: %w", err)
		}
	}
	unix.Close(slaveFD)
	// The launcher made this process a session leader (Detach): the
	// slave becomes its controlling terminal, for SIGWINCH.
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("console: making it the controlling terminal: %w", err)
	}
	return nil
}

// ConsoleSocketTerminal makes a host pseudo-terminal of rows and cols
// (zero: unset), sends its master to the Unix socket at socketPath as
// runc's --console-socket does, and returns its slave.
func ConsoleSocketTerminal(socketPath string, rows, cols uint16) (int, error) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("console: opening /dev/ptmx: %w", err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return -1, fmt.Errorf("console: unlocking the terminal: %w", err)
	}
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, master.Fd(), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	slaveFD := int(r)
	if errno != 0 {
		// Before Linux 4.13: by name.
		n, err := unix.IoctlGetUint32(int(master.Fd()), unix.TIOCGPTN)
		if err != nil {
			return -1, fmt.Errorf("console: %w", err)
		}
		slaveFD, err = unix.Open(fmt.Sprintf("/dev/pts/%d", n), unix.O_RDWR|unix.O_NOCTTY, 0)
		if err != nil {
			return -1, fmt.Errorf("console: opening the terminal: %w", err)
		}
	}
	if rows != 0 || cols != 0 {
		unix.IoctlSetWinsize(slaveFD, unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
	}
	conn, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		unix.Close(slaveFD)
		return -1, fmt.Errorf("console socket: %w", err)
	}
	defer unix.Close(conn)
	if err := unix.Connect(conn, &unix.SockaddrUnix{Name: socketPath}); err != nil {
		unix.Close(slaveFD)
		return -1, fmt.Errorf("console socket %s: %w", socketPath, err)
	}
	// runc names the descriptor by the terminal's path: some clients
	// print it.
	name := "/dev/ptmx"
	if err := unix.Sendmsg(conn, []byte(name), unix.UnixRights(int(master.Fd())), nil, 0); err != nil {
		unix.Close(slaveFD)
		return -1, fmt.Errorf("console socket %s: %w", socketPath, err)
	}
	return slaveFD, nil
}
