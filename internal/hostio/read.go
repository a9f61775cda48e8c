package hostio

import "golang.org/x/sys/unix"

// ReadOrWake reads from fd into buf once it is readable, unless wakeFD
// (the read end of a pipe the relay's owner writes to, or closes, to
// stop it) becomes readable first: a blocking read would keep its
// goroutine, and a host terminal's next keystroke, after the relay
// ended. It returns what the read gave (n is 0 at end of file and on a
// read error: the end of the input either way), or woken when wakeFD,
// a descriptor that is not one, or a failing poll ended the wait
// first.
func ReadOrWake(fd, wakeFD int, buf []byte) (n int, woken bool) {
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(wakeFD), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return 0, true
		}
		if fds[1].Revents != 0 || fds[0].Revents&unix.POLLNVAL != 0 {
			return 0, true
		}
		if fds[0].Revents == 0 {
			continue
		}
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		return max(n, 0), false
	}
}
