package mqueue

import (
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

var (
	root  = &vfs.Creds{Caps: ^uint64(0)}
	alice = &vfs.Creds{UID: 1000, GID: 1000}
	bob   = &vfs.Creds{UID: 1001, GID: 1001}
)

// blocker sleeps until wake, the deadline, or interrupt is closed.
type blocker struct {
	interrupt chan struct{}
	blocked   chan struct{}
}

func newBlocker() *blocker {
	return &blocker{interrupt: make(chan struct{}), blocked: make(chan struct{}, 16)}
}

func (b *blocker) Block(wake <-chan struct{}, deadline time.Time) error {
	b.blocked <- struct{}{}
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		tm := time.NewTimer(time.Until(deadline))
		defer tm.Stop()
		timeout = tm.C
	}
	select {
	case <-wake:
		return nil
	case <-timeout:
		return ErrTimedOut
	case <-b.interrupt:
		return ErrInterrupted
	}
}

type sent struct {
	tgid int32
	n    Notification
}

func newRegistry() (*Registry, *[]sent, *sync.Mutex) {
	var mu sync.Mutex
	var got []sent
	r := New(func(tgid int32, n Notification) {
		mu.Lock()
		got = append(got, sent{tgid, n})
		mu.Unlock()
	}, func(tgid int32) bool { return tgid < 100 }, nil)
	return r, &got, &mu
}

func open(t *testing.T, r *Registry, c *vfs.Creds, name string, flags int, attr *Attr) (*vfs.File, *Queue) {
	t.Helper()
	f, err := r.Open(c, name, flags, 0o600, 0o022, attr)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	q, _ := QueueOf(f)
	return f, q
}

func TestOpenRules(t *testing.T) {
	r, _, _ := newRegistry()
	for name, want := range map[string]error{
		"": unix.ENOENT, ".": unix.EACCES, "..": unix.EACCES, "a/b": unix.EACCES,
		strings.Repeat("x", 256): unix.ENAMETOOLONG, "missing": unix.ENOENT,
	} {
		if _, err := r.Open(alice, name, unix.O_RDWR, 0, 0, nil); err != want {
			t.Errorf("Open(%.10q) = %v, want %v", name, err, want)
		}
	}
	for _, a := range []Attr{{Maxmsg: 0, Msgsize: 1}, {Maxmsg: 1, Msgsize: 0}, {Maxmsg: 11, Msgsize: 1}, {Maxmsg: 1, Msgsize: 8193}} {
		if _, err := r.Open(alice, "q", unix.O_RDWR|unix.O_CREAT, 0o600, 0, &a); err != unix.EINVAL {
			t.Errorf("attributes %+v without CAP_SYS_RESOURCE: %v", a, err)
		}
	}
	f, q := open(t, r, root, "q", unix.O_RDWR|unix.O_CREAT, &Attr{Maxmsg: 100, Msgsize: 1 << 20})
	defer f.DecRef()
	if a := q.Attr(f); a.Maxmsg != 100 || a.Msgsize != 1<<20 {
		t.Errorf("attributes with CAP_SYS_RESOURCE: %+v", a)
	}
	if _, err := r.Open(root, "q", unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o600, 0, nil); err != unix.EEXIST {
		t.Errorf("O_EXCL: %v", err)
	}
	if _, err := r.Open(bob, "q", unix.O_RDONLY, 0, 0, nil); err != unix.EACCES {
		t.Errorf("another user: %v", err)
	}
	if _, err := r.Open(root, "q", unix.O_RDWR|unix.O_WRONLY, 0, 0, nil); err != unix.EINVAL {
		t.Errorf("O_RDWR|O_WRONLY: %v", err)
	}
	if err := r.Unlink(bob, "q"); err != unix.EPERM {
		t.Errorf("unlink by another user: %v", err)
	}
	var st unix.Stat_t
	f.Impl.Stat(&st)
	if st.Mode != unix.S_IFREG|0o600 {
		t.Errorf("mode %o (umask 022 applies)", st.Mode)
	}
}

func TestPriorities(t *testing.T) {
	r, _, _ := newRegistry()
	f, q := open(t, r, root, "q", unix.O_RDWR|unix.O_CREAT, &Attr{Maxmsg: 4, Msgsize: 16})
	defer f.DecRef()
	for _, m := range []struct {
		s string
		p uint32
	}{{"low", 1}, {"high", 5}, {"mid", 3}, {"high2", 5}} {
		if err := q.Send([]byte(m.s), m.p, false, time.Time{}, nil, Notification{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Send([]byte("x"), 0, true, time.Time{}, nil, Notification{}); err != unix.EAGAIN {
		t.Errorf("full, nonblocking: %v", err)
	}
	if err := q.Send([]byte("x"), 0, false, time.Now().Add(5*time.Millisecond), newBlocker(), Notification{}); err != unix.ETIMEDOUT {
		t.Errorf("full, timeout: %v", err)
	}
	if got := f.Impl.(*file).q.status(); !strings.HasPrefix(got, "QSIZE:15 ") {
		t.Errorf("status %q", got)
	}
	var order []string
	for range 4 {
		m, p, err := q.Receive(16, true, time.Time{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, string(m)+":"+string(rune('0'+p)))
	}
	if got := strings.Join(order, " "); got != "high:5 high2:5 mid:3 low:1" {
		t.Errorf("order %s", got)
	}
	if _, _, err := q.Receive(15, true, time.Time{}, nil); err != unix.EMSGSIZE {
		t.Errorf("small buffer: %v", err)
	}
	if err := q.Send(make([]byte, 17), 0, true, time.Time{}, nil, Notification{}); err != unix.EMSGSIZE {
		t.Errorf("big message: %v", err)
	}
	if err := q.Send(nil, MQ_PRIO_MAX, true, time.Time{}, nil, Notification{}); err != unix.EINVAL {
		t.Errorf("priority MQ_PRIO_MAX: %v", err)
	}
}

func TestBlockingAndNotify(t *testing.T) {
	r, got, mu := newRegistry()
	f, q := open(t, r, root, "q", unix.O_RDWR|unix.O_CREAT, &Attr{Maxmsg: 1, Msgsize: 16})
	defer f.DecRef()
	fds := &vfs.FDTable{}
	if err := q.Notify(7, fds, &SigEvent{Notify: SIGEV_SIGNAL, Signo: 12, Value: 42}); err != nil {
		t.Fatal(err)
	}
	if err := q.Notify(8, nil, &SigEvent{Notify: SIGEV_NONE}); err != unix.EBUSY {
		t.Errorf("second registration: %v", err)
	}
	// A waiting receiver takes the message: no notification.
	b := newBlocker()
	res := make(chan string, 1)
	go func() {
		m, _, err := q.Receive(16, false, time.Time{}, b)
		if err != nil {
			res <- err.Error()
		}
		res <- string(m)
	}()
	<-b.blocked
	q.Send([]byte("one"), 0, false, time.Time{}, nil, Notification{PID: 9})
	if m := <-res; m != "one" {
		t.Errorf("receiver got %q", m)
	}
	mu.Lock()
	if len(*got) != 0 {
		t.Errorf("notified while a receiver waited: %v", *got)
	}
	mu.Unlock()
	q.Send([]byte("two"), 0, false, time.Time{}, nil, Notification{PID: 9, UID: 5})
	mu.Lock()
	if len(*got) != 1 || (*got)[0] != (sent{7, Notification{Signo: 12, Value: 42, PID: 9, UID: 5}}) {
		t.Errorf("notification %v", *got)
	}
	mu.Unlock()
	if err := q.Notify(8, nil, &SigEvent{Notify: SIGEV_NONE}); err != nil {
		t.Errorf("registration after the notification: %v", err)
	}
	q.Closed(fds) // not 8's table
	if err := q.Notify(9, nil, &SigEvent{Notify: SIGEV_NONE}); err != unix.EBUSY {
		t.Errorf("registration kept: %v", err)
	}
	// A sender waits for room; a signal ends the wait.
	b = newBlocker()
	errs := make(chan error, 1)
	go func() { errs <- q.Send([]byte("three"), 0, false, time.Time{}, b, Notification{}) }()
	<-b.blocked
	close(b.interrupt)
	if err := <-errs; err != ErrInterrupted {
		t.Errorf("interrupted sender: %v", err)
	}
	// A dead owner's registration is no registration.
	q.Notify(8, nil, nil)
	q.Notify(200, nil, &SigEvent{Notify: SIGEV_NONE})
	if err := q.Notify(7, nil, &SigEvent{Notify: SIGEV_NONE}); err != nil {
		t.Errorf("registration of a dead process kept: %v", err)
	}
	if err := CheckSigEvent(&SigEvent{Notify: SIGEV_THREAD}); err != unix.EINVAL {
		t.Errorf("SIGEV_THREAD: %v", err)
	}
}

func TestUnlinkAndCount(t *testing.T) {
	r, _, _ := newRegistry()
	f, q := open(t, r, alice, "q", unix.O_RDWR|unix.O_CREAT, nil)
	q.Send([]byte("kept"), 0, false, time.Time{}, nil, Notification{})
	if err := r.Unlink(alice, "q"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Open(alice, "q", unix.O_RDWR, 0, 0, nil); err != unix.ENOENT {
		t.Errorf("open after unlink: %v", err)
	}
	if m, _, err := q.Receive(8192, true, time.Time{}, nil); string(m) != "kept" || err != nil {
		t.Errorf("unlinked queue: %q, %v", m, err)
	}
	if r.count != 1 {
		t.Errorf("count %d with the queue open", r.count)
	}
	f.DecRef()
	if r.count != 0 {
		t.Errorf("count %d after the last close", r.count)
	}
	for i := range DFLT_QUEUESMAX {
		f, err := r.Open(alice, string(rune('a'+i/26))+string(rune('a'+i%26)), unix.O_RDWR|unix.O_CREAT, 0o600, 0, nil)
		if err != nil {
			t.Fatalf("queue %d: %v", i, err)
		}
		f.DecRef()
	}
	if _, err := r.Open(alice, "one-more", unix.O_RDWR|unix.O_CREAT, 0o600, 0, nil); err != unix.ENOSPC {
		t.Errorf("queue past queues_max: %v", err)
	}
}
