package agent

import (
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestHolderBadRequests checks the holder refuses a request it cannot
// serve and still closes the descriptors that came with it (it lives as
// long as its container).
func TestHolderBadRequests(t *testing.T) {
	for _, c := range []struct {
		req  holderRequest
		nfds int
		want string
	}{
		{holderRequest{Verb: "sh", Files: 3}, 3, "does not start"},
		{holderRequest{Verb: execVerb, Files: 5, Namespaces: []string{"pid"}}, 5, "came with 5 descriptors"},
		{holderRequest{Verb: initVerb, Files: 2}, 2, "came with 2 descriptors"},
	} {
		var fds []int
		for i := 0; i < c.nfds; i++ {
			fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			fds = append(fds, fd)
		}
		if _, err := holderSpawn(c.req, fds); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("holderSpawn(%+v) = %v, want an error saying %q", c.req, err, c.want)
		}
		for _, fd := range fds {
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
				t.Errorf("descriptor %d of a refused request is still open", fd)
				unix.Close(fd)
			}
		}
	}
}

func TestHolderEnded(t *testing.T) {
	h := &nsHolder{}
	attr := &os.ProcAttr{Sys: &syscall.SysProcAttr{}}
	if _, err := h.spawn(execVerb, attr, nil); err == nil || !strings.Contains(err.Error(), "ended") {
		t.Errorf("spawn after the holder's end: %v", err)
	}
}
