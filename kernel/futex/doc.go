// Package futex owns the futex wait queues of a sandbox, the state of its
// contended priority-inheritance (PI) futexes, and the futex handling of a
// thread's exit (robust lists, PI locks held by the dead). It implements
// the blocking half of futex(2) and futex_waitv(2) for the system-call
// layer, knowing nothing else of the kernel: application memory is a
// Memory, sleeping is a Blocker, both implemented by the kernel.
//
// # Design
//
// A Manager (one per sandbox) hashes futex keys into buckets, each a
// mutex and a FIFO of waiters, as Linux's futex_hash_bucket. A Key is an
// opaque comparable value the kernel derives from an address (the address
// space and address of a private futex, the mapped object and offset of a
// shared one). Each waiting task queues a waiter and sleeps in
// Blocker.Block on the waiter's channel; a waker dequeues the waiter under
// the bucket lock and then signals the channel. Being dequeued by a waker
// is what "woken" means: a task whose sleep ends with a timeout or a
// signal locks its bucket and takes itself off the queue, and if a waker
// already had, it returns success instead. A wake that a waker counted is
// therefore never lost, whatever races with it (Linux: futex_unqueue()).
//
// FUTEX_WAIT compares the word with the expected value with the bucket
// lock held, and a waker changes the word before it takes the lock, so a
// wake cannot fall between the check and the sleep.
//
// PI futexes follow Linux's word protocol (the owner's TID in the low 30
// bits, Waiters, OwnerDied) and its errors, but there are no priorities:
// a PI lock is handed to its waiters in FIFO order and nobody is boosted.
// The kernel's view of a contended PI futex is a piState naming the
// owner; it lives in the bucket while waiters (or a hand-over from a dead
// owner) need it. FUTEX_WAIT_REQUEUE_PI and FUTEX_CMP_REQUEUE_PI are
// supported (glibc's condition variables with PI mutexes use them).
//
// # Locking
//
// Each bucket's mu guards its waiters, their keys and links, and its PI
// states. Operations on two futexes (requeue, wake-op) hold both buckets'
// locks, taken in index order; nothing takes more than two. Lock order:
// bucket.mu, then whatever the Memory methods take (mm.MM.mu).
//
// Memory.LoadUint32, CompareAndSwapUint32, AtomicOp and CopyIn are called
// with a bucket lock held, so they must not call into the Manager nor
// wait for another task; the kernel's mm only copies through the memory
// file. Linux instead disables page faults under the lock and retries
// after faulting the page in: here a failed access under the lock is
// final (EFAULT). Memory.FutexKey is called without locks. The alive
// function given to NewManager is called with a bucket lock held and must
// be a leaf. Blocker.Block is never called with a lock held.
//
// waiter.bucket is atomic: a sleeping task reads it without a lock to
// find the bucket to lock (a requeue may have moved it), then checks it
// again under that lock.
//
// # What the system-call layer does
//
// It decodes futex(2)'s arguments and calls one method per command:
//
//	FUTEX_WAIT, FUTEX_WAIT_BITSET     Wait (bitset BitsetMatchAny for WAIT)
//	FUTEX_WAKE, FUTEX_WAKE_BITSET     Wake(KeyOf(...), val, bitset)
//	FUTEX_REQUEUE, FUTEX_CMP_REQUEUE  Requeue (cmpVal nil / &val3)
//	FUTEX_WAKE_OP                     WakeOp(..., val, val2, val3)
//	FUTEX_LOCK_PI, FUTEX_LOCK_PI2     LockPI
//	FUTEX_TRYLOCK_PI                  TryLockPI
//	FUTEX_UNLOCK_PI                   UnlockPI
//	FUTEX_WAIT_REQUEUE_PI             WaitRequeuePI
//	FUTEX_CMP_REQUEUE_PI              CmpRequeuePI
//	FUTEX_FD and unknown commands     ENOSYS
//
// Private is op&PrivateFlag != 0; tid is the caller's TID. The counts
// val2 of REQUEUE, CMP_REQUEUE(_PI) and WAKE_OP come from the timeout
// argument: int(int32(uint32(timeout))). FUTEX_CLOCK_REALTIME is ENOSYS
// except with WAIT_BITSET, WAIT_REQUEUE_PI and LOCK_PI2: FUTEX_WAIT with it
// is ENOSYS on Linux 6.18 (measured), although futex(2) documents it.
//
// Timeouts, converted by Deadline before the call (timespec copied in
// first, EFAULT/EINVAL as Linux): FUTEX_WAIT's is relative on
// CLOCK_MONOTONIC; WAIT_BITSET's, WAIT_REQUEUE_PI's and LOCK_PI2's are
// absolute on CLOCK_MONOTONIC, or CLOCK_REALTIME with the flag;
// LOCK_PI's is absolute on CLOCK_REALTIME. futex_waitv's is absolute on
// its clockid argument (CLOCK_MONOTONIC or CLOCK_REALTIME, else EINVAL),
// after flags != 0 (EINVAL) and nr_futexes checks; the vector is copied
// in and decoded with DecodeWaitv.
//
// Errors: the Manager returns errnos (unix.EAGAIN, unix.EINVAL,
// unix.ETIMEDOUT...) and Memory's errors unchanged, plus ErrInterrupted
// from Block, which the system-call layer maps by command: Wait with no
// deadline and Waitv give ERESTARTSYS; Wait with a deadline gives
// ERESTART_RESTARTBLOCK, restarting as a Wait until the same deadline
// (Linux: futex_wait_restart()); LockPI and WaitRequeuePI give
// ERESTARTNOINTR.
//
// At thread exit, the kernel calls ExitRobustList with the head
// set_robust_list(2) registered, then, once its alive function reports
// the TID gone, ExitPI; at execve, the same two calls (Linux:
// futex_exit_release(), futex_exec_release()). Then, for
// CLONE_CHILD_CLEARTID, if other threads share the address space, it
// writes 0 to the TID address and calls Wake(KeyOf(mem, addr, false), 1,
// BitsetMatchAny) (Linux: kernel/fork.c, mm_release()).
package futex
