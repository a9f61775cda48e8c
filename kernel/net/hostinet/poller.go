package hostinet

import (
	"sync"

	"golang.org/x/sys/unix"
)

// poller is the package's host epoll instance: every host socket is in
// it, edge-triggered, and one goroutine waits on it and passes each
// socket's events to its kernel waiter queue. Edge-triggered suits the
// waiter contract: a waiter registers and tries again before sleeping
// (Socket.retry), so it needs to hear of changes, not of states.
type poller struct {
	epfd int
	mu   sync.Mutex
	// sockets are the registered sockets by host descriptor. An event
	// read just before a descriptor was removed and its number reused
	// may reach the new socket: a spurious wake-up, which waiters
	// tolerate.
	sockets map[int32]*Socket
}

var (
	pollerOnce sync.Once
	thePoller  *poller
	pollerErr  error
)

// epollEvents are the host events asked for: those the kernel's waiters
// know (EPOLLERR and EPOLLHUP come unasked).
const epollEvents = unix.EPOLLIN | unix.EPOLLPRI | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLRDNORM | unix.EPOLLWRNORM

// getPoller returns the poller, starting it on first use.
func getPoller() (*poller, error) {
	pollerOnce.Do(func() {
		epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			pollerErr = err
			return
		}
		thePoller = &poller{epfd: epfd, sockets: make(map[int32]*Socket)}
		go thePoller.run()
	})
	return thePoller, pollerErr
}

// add registers s's descriptor.
func (p *poller) add(s *Socket) error {
	p.mu.Lock()
	p.sockets[int32(s.fd)] = s
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: epollEvents | unix.EPOLLET, Fd: int32(s.fd)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
		p.mu.Lock()
		delete(p.sockets, int32(s.fd))
		p.mu.Unlock()
		return err
	}
	return nil
}

// remove unregisters s's descriptor; the caller closes it afterwards.
func (p *poller) remove(s *Socket) {
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
	p.mu.Lock()
	if p.sockets[int32(s.fd)] == s {
		delete(p.sockets, int32(s.fd))
	}
	p.mu.Unlock()
}

// run waits for host events for ever (the poller lives as long as the
// sandbox process) and notifies the sockets' queues, with no lock
// held, so that waiters may call Readiness from their callbacks.
func (p *poller) run() {
	events := make([]unix.EpollEvent, 128)
	for {
		n, err := epollWait(p.epfd, events)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			// Nothing else can fail on a valid instance and buffer; a
			// socket would hang rather than the kernel die.
			return
		}
		for _, ev := range events[:n] {
			p.mu.Lock()
			s := p.sockets[ev.Fd]
			p.mu.Unlock()
			if s != nil {
				s.queue.Notify(hostEvents(ev.Events))
			}
		}
	}
}
