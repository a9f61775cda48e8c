package systrap

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Spinning. A hand-off through the slot costs a few hundred nanoseconds
// when the side that waits for it spins, and about 12 µs per round trip
// when it sleeps on the futex, on the 2-CPU virtual machines this runs
// on: waking a thread whose CPU is idle takes the host's scheduler and
// an interprocessor interrupt (measured with two processes passing a
// word back and forth: 0.2–0.6 µs spinning, 11–13 µs with FUTEX_WAIT and
// FUTEX_WAKE). So both sides spin for a while before they sleep, within
// limits that keep spinners from taking the CPUs the threads they wait
// for need:
//
//   - The handler spins up to stubSpin rounds of PAUSE (about 17 ns each
//     here) for the kernel's answer. The kernel tells it to stop
//     (PrepareSleep) when the call is going to block, and gives it no
//     rounds at all when more application threads run than there are
//     CPUs to spare (inApp).
//   - The kernel's thread spins up to kernelSpin for the next event,
//     only if the application came back within kernelSpin last time
//     (a program that computes between its calls is not waited for
//     actively) and only while no more than maxSpinners kernel threads
//     spin and no more than maxSpinners application threads run.
//   - A handler that had to wake the kernel's thread sleeps at once:
//     the woken thread is likely placed on its CPU.
//
// Measured with bench/probes (getpid, pipertt) on this 2-CPU machine:
// getpid 15–17 µs with only the handler spinning, 4.4–4.7 µs with both.
const kernelSpin = 20 * time.Microsecond

var (
	// stubSpin is a variable for tests, which make it long.
	stubSpin uint32 = 300
	// maxSpinners bounds the kernel threads spinning at once and the
	// application threads running while anything spins: half the CPUs,
	// the other half being the threads spun for.
	maxSpinners = int32(max(1, runtime.NumCPU()/2))
	spinners    atomic.Int32
	// inApp counts the stub threads running application code or
	// handing an event over (between resume and the end of wait).
	inApp atomic.Int32
)

// spinPause executes one PAUSE, which tells the processor (and a
// hypervisor) that this is a spin loop.
func spinPause()

// spin spins on the state word until deadline, and reports whether the
// thread left stateRunning meanwhile. It does not spin while
// maxSpinners others do.
func spin(st *atomic.Uint32, deadline time.Time) bool {
	defer spinners.Add(-1)
	if spinners.Add(1) > maxSpinners {
		return false
	}
	for i := 1; ; i++ {
		if st.Load() != stateRunning {
			return true
		}
		spinPause()
		if i%32 == 0 && time.Now().After(deadline) {
			return false
		}
	}
}
