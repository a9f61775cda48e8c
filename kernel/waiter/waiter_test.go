package waiter

import "testing"

func TestNotifyMatchesMask(t *testing.T) {
	var q Queue
	in, inCh := NewChannelEntry(EventIn)
	out, outCh := NewChannelEntry(EventOut)
	q.Register(in)
	q.Register(out)
	q.Notify(EventIn)
	select {
	case <-inCh:
	default:
		t.Fatal("EventIn waiter not woken")
	}
	select {
	case <-outCh:
		t.Fatal("EventOut waiter woken by EventIn")
	default:
	}
	q.Unregister(in)
	q.Unregister(in) // twice is harmless
	q.Notify(EventIn | EventOut)
	select {
	case <-inCh:
		t.Fatal("unregistered waiter woken")
	default:
	}
	<-outCh
	q.Unregister(out)
	if !q.Empty() {
		t.Fatal("queue not empty")
	}
}
