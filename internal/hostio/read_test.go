package hostio

import (
	"os"
	"testing"
	"time"
)

func TestReadOrWake(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	wakeR, wakeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer wakeR.Close()
	buf := make([]byte, 16)

	w.Write([]byte("abc"))
	if n, woken := ReadOrWake(int(r.Fd()), int(wakeR.Fd()), buf); woken || string(buf[:n]) != "abc" {
		t.Errorf("data: %q, woken %v", buf[:n], woken)
	}
	// Woken while nothing comes: no read, no end of input.
	done := make(chan bool)
	go func() {
		_, woken := ReadOrWake(int(r.Fd()), int(wakeR.Fd()), buf)
		done <- woken
	}()
	time.Sleep(20 * time.Millisecond)
	wakeW.Close()
	if !<-done {
		t.Errorf("a closed wake pipe did not end the wait")
	}
	// The end of the input is a read of 0, not a wake-up.
	otherR, otherW, _ := os.Pipe()
	defer otherR.Close()
	w.Close()
	if n, woken := ReadOrWake(int(r.Fd()), int(otherR.Fd()), buf); woken || n != 0 {
		t.Errorf("end of file: n %d, woken %v", n, woken)
	}
	otherW.Close()
}
