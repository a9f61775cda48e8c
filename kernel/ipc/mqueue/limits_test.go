package mqueue

import (
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"magawa/kernel/vfs"
)

// mq_open obeys the limits as they are at each call.
func TestLimits(t *testing.T) {
	var mu sync.Mutex
	l := DefaultLimits()
	set := func(change func(*Limits)) {
		mu.Lock()
		change(&l)
		mu.Unlock()
	}
	r := New(func(int32, Notification) {}, func(int32) bool { return true }, func() Limits {
		mu.Lock()
		defer mu.Unlock()
		return l
	})
	openAttr := func(c *vfs.Creds, name string, maxmsg, msgsize int64) error {
		var attr *Attr
		if maxmsg != 0 {
			attr = &Attr{Maxmsg: maxmsg, Msgsize: msgsize}
		}
		f, err := r.Open(c, name, unix.O_RDWR|unix.O_CREAT, 0o600, 0, attr)
		if err == nil {
			f.DecRef()
			r.Unlink(c, name)
		}
		return err
	}
	if err := openAttr(alice, "a", 20, 100); err != unix.EINVAL {
		t.Errorf("mq_maxmsg 20 past msg_max 10: %v, want EINVAL", err)
	}
	if err := openAttr(alice, "a", 5, 10000); err != unix.EINVAL {
		t.Errorf("mq_msgsize 10000 past msgsize_max 8192: %v, want EINVAL", err)
	}
	set(func(l *Limits) { l.MsgMax, l.MsgsizeMax = 20, 10000 })
	if err := openAttr(alice, "a", 20, 10000); err != nil {
		t.Errorf("at the raised maxima: %v", err)
	}
	if err := openAttr(alice, "a", 21, 100); err != unix.EINVAL {
		t.Errorf("past the raised msg_max: %v, want EINVAL", err)
	}
	// CAP_SYS_RESOURCE goes up to the hard limits.
	if err := openAttr(root, "a", HARD_MSGMAX, HARD_MSGSIZEMAX); err != nil {
		t.Errorf("root at the hard limits: %v", err)
	}
	if err := openAttr(root, "a", HARD_MSGMAX+1, 1); err != unix.EINVAL {
		t.Errorf("root past HARD_MSGMAX: %v, want EINVAL", err)
	}
	// Without attributes: the defaults, within the maxima.
	attrOf := func() Attr {
		f, err := r.Open(alice, "d", unix.O_RDWR|unix.O_CREAT, 0o600, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer f.DecRef()
		defer r.Unlink(alice, "d")
		q, _ := QueueOf(f)
		return q.Attr(f)
	}
	set(func(l *Limits) { l.MsgDefault, l.MsgsizeDefault = 15, 4096 })
	if a := attrOf(); a.Maxmsg != 15 || a.Msgsize != 4096 {
		t.Errorf("defaults 15, 4096: %+v", a)
	}
	set(func(l *Limits) { l.MsgMax, l.MsgsizeMax = 12, 1024 })
	if a := attrOf(); a.Maxmsg != 12 || a.Msgsize != 1024 {
		t.Errorf("defaults above the maxima 12, 1024: %+v", a)
	}
	// queues_max bounds the queues of a caller without
	// CAP_SYS_RESOURCE; a negative one bounds nothing.
	set(func(l *Limits) { l.QueuesMax = 1 })
	f, err := r.Open(alice, "one", unix.O_RDWR|unix.O_CREAT, 0o600, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef()
	if err := openAttr(alice, "two", 0, 0); err != unix.ENOSPC {
		t.Errorf("past queues_max 1: %v, want ENOSPC", err)
	}
	if err := openAttr(root, "two", 0, 0); err != nil {
		t.Errorf("root past queues_max: %v", err)
	}
	set(func(l *Limits) { l.QueuesMax = -1 })
	if err := openAttr(alice, "two", 0, 0); err != nil {
		t.Errorf("queues_max -1: %v", err)
	}
}
