// Command goroutines is a differential test program (see test/doc.go):
// the Go runtime on two Ps, with 200 goroutines, channels, select,
// mutexes, timers and tickers, tight loops that only asynchronous
// preemption (SIGURG) can interrupt, and the garbage collector. It
// prints only what must be the same natively and in the sandbox.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func init() {
	// The main goroutine stays on the main thread, so that any other
	// goroutine runs on another thread.
	runtime.LockOSThread()
}

func yesno(what string, ok bool) {
	if ok {
		fmt.Printf("%s: yes\n", what)
	} else {
		fmt.Printf("%s: no\n", what)
	}
}

func main() {
	runtime.GOMAXPROCS(2)
	fmt.Println("GOMAXPROCS:", runtime.GOMAXPROCS(0))

	fmt.Println("-- 200 goroutines sending results on a channel")
	results := make(chan int)
	for i := range 200 {
		go func() {
			s := 0
			for j := range i + 1 {
				s += j
			}
			results <- s
		}()
	}
	sum := 0
	for range 200 {
		sum += <-results
	}
	fmt.Println("sum:", sum)

	fmt.Println("-- a pipeline of unbuffered channels")
	gen := make(chan int)
	sq := make(chan int)
	go func() {
		for i := 1; i <= 1000; i++ {
			gen <- i
		}
		close(gen)
	}()
	go func() {
		for v := range gen {
			sq <- v * v
		}
		close(sq)
	}()
	total := 0
	for v := range sq {
		total += v
	}
	fmt.Println("sum of squares 1..1000:", total)

	fmt.Println("-- 200 goroutines under a mutex")
	var (
		mu      sync.Mutex
		counter int
		wg      sync.WaitGroup
		tids    sync.Map
	)
	pid := syscall.Getpid()
	var offMain atomic.Int32
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tid := syscall.Gettid()
			tids.Store(tid, true)
			if tid != pid {
				offMain.Add(1)
			}
			for range 1000 {
				mu.Lock()
				counter++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	fmt.Println("counter:", counter)
	yesno("goroutines ran off the main thread (gettid != getpid)", offMain.Load() == 200)
	yesno("main goroutine on the main thread (gettid == getpid)", syscall.Gettid() == pid)
	threads := 0
	tids.Range(func(_, _ any) bool { threads++; return true })
	yesno("goroutines ran on at least one other thread", threads >= 1)

	fmt.Println("-- select")
	a, b, quit := make(chan int), make(chan string), make(chan struct{})
	go func() {
		for i := range 5 {
			a <- i
			b <- fmt.Sprint("s", i)
		}
		close(quit)
	}()
	var got []string
	for done := false; !done; {
		select {
		case v := <-a:
			got = append(got, fmt.Sprint(v))
		case s := <-b:
			got = append(got, s)
		case <-quit:
			done = true
		}
	}
	fmt.Println("received:", got)

	fmt.Println("-- timers")
	start := time.Now()
	t10 := time.NewTimer(10 * time.Millisecond)
	long := time.NewTimer(time.Hour)
	<-t10.C
	yesno("10ms timer fired after at least 10ms", time.Since(start) >= 10*time.Millisecond)
	yesno("Stop of an unfired timer returns true", long.Stop())
	yesno("Stop of a fired timer returns false", !t10.Stop())
	long.Reset(5 * time.Millisecond)
	<-long.C
	fmt.Println("reset timer fired")
	tick := time.NewTicker(2 * time.Millisecond)
	for range 5 {
		<-tick.C
	}
	tick.Stop()
	fmt.Println("ticker ticked 5 times")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	<-ctx.Done()
	cancel()
	fmt.Println("context:", ctx.Err())
	var fired []int
	var fmu sync.Mutex
	var fwg sync.WaitGroup
	for _, ms := range []int{15, 5, 10} {
		fwg.Add(1)
		time.AfterFunc(time.Duration(ms)*time.Millisecond, func() {
			fmu.Lock()
			fired = append(fired, ms)
			fmu.Unlock()
			fwg.Done()
		})
	}
	fwg.Wait()
	sort.Ints(fired)
	fmt.Println("AfterFunc fired:", fired)
	select {
	case <-time.After(time.Millisecond):
		fmt.Println("time.After in select")
	case <-make(chan int):
	}

	fmt.Println("-- tight loops, preempted asynchronously")
	var stop atomic.Bool
	var spins [3]uint64
	var lwg sync.WaitGroup
	for i := range 3 {
		lwg.Add(1)
		go func() {
			defer lwg.Done()
			n := uint64(0)
			for !stop.Load() {
				n++ // no function call: only a signal can preempt this
			}
			spins[i] = n
		}()
	}
	// Three loops on two Ps: this goroutine (and the sleep's wakeup)
	// needs preemption to run at all.
	time.Sleep(20 * time.Millisecond)
	runtime.Gosched()
	stop.Store(true)
	lwg.Wait()
	fmt.Println("all three loops stopped")

	fmt.Println("-- garbage collector")
	var keep [][]byte
	var gwg sync.WaitGroup
	var kmu sync.Mutex
	for i := range 200 {
		gwg.Add(1)
		go func() {
			defer gwg.Done()
			var local [][]byte
			for j := range 100 {
				local = append(local, make([]byte, 1024+j))
			}
			kmu.Lock()
			keep = append(keep, local[i%100])
			kmu.Unlock()
		}()
	}
	gwg.Wait()
	runtime.GC()
	size := 0
	for _, k := range keep {
		size += len(k)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Println("kept bytes:", size)
	yesno("at least one GC cycle", ms.NumGC >= 1)

	os.Exit(0)
}
