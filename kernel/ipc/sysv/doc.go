// Package sysv owns the sandbox's System V IPC namespace: shared memory
// segments (shmget, shmat, shmdt, shmctl), semaphore sets (semget,
// semop, semtimedop, semctl) and message queues (msgget, msgsnd,
// msgrcv, msgctl), with their keys, identifiers, permissions and limits.
// It knows nothing of tasks: the system-call layer copies arguments in
// and out, describes the caller as a Caller, and lends a Blocker for the
// calls that sleep.
//
// # Objects, identifiers and keys
//
// Each kind of object has a registry: objects by index, and by key for
// those created with a key other than IPC_PRIVATE. An identifier is
// seq*32768 + index, where seq counts creations, so that a stale
// identifier of a removed object does not name its successor at the
// same index (EINVAL). The *_STAT commands take an index instead.
// Linux: ipc/util.c.
//
// # Limits
//
// The namespace's limits (Limits: shmmax, shmall, shmmni, msgmax,
// msgmnb, msgmni, sem, shm_rmid_forced) are the kernel's, which
// /proc/sys changes: New takes a function that returns them as they are
// now, and each call reads them where Linux does (semget's semmsl,
// msgsnd's msgmax...). A lowered limit leaves existing objects alone.
//
// # Shared memory
//
// A segment's pages live in the memory file, allocated chunk by chunk
// (2 MiB) on the first fault that touches them, with one reference the
// segment holds. shmat makes an Attachment: an open file (vfs.File) and
// the vfs.Mappable of its pages, which the system-call layer maps shared
// with mm.MM.Mmap. So the address space does the rest as it does for
// tmpfs files: fork shares the mapping, exec and exit release it with
// the address space, mm.MM.Shmdt unmaps it. The segment counts
// shm_nattch as the address spaces register with its attachments
// (AddMapping/RemoveMapping): one per address space per shmat, as
// Linux counts one per vma of an attach. A segment removed
// (IPC_RMID) while attached keeps its identifier (SHM_DEST, its key
// turned private) and is destroyed when its last attachment goes. With
// shm_rmid_forced set, every segment is destroyed once nothing attaches
// it and (for one never attached) its creating thread has exited, which
// the kernel reports (TaskExited).
//
// # Semaphores
//
// semop applies its operations all or none (in order, so that two
// operations on one semaphore see each other), or queues the caller. A
// change to a set retries the queue in order, and a waiter whose
// operations now succeed (or fail: ERANGE, EAGAIN of an IPC_NOWAIT
// operation) is completed by the task that made the change, which
// applies its operations for it; the sleeper only reads the outcome
// (Linux: ipc/sem.c, update_queue()). A sleeper that gives up (a
// signal: EINTR, as Linux never restarts semop; a timeout: EAGAIN)
// takes itself off the queue under the lock, unless a waker completed it
// first. SEM_UNDO adjustments live in UndoLists, one per group of tasks
// sharing them (CLONE_SYSVSEM; the kernel keeps the references) and
// applied, clamped to [0, SEMVMX], when the last of them exits.
//
// # Message queues
//
// A queue keeps its messages in order; a receiver picks by type
// (msgtyp 0, > 0, < 0, MSG_EXCEPT) or by position (MSG_COPY). A sender
// finding a receiver already waiting for its message hands it over
// directly (Linux: pipelined_send()); otherwise the message is queued
// if it fits (msg_qbytes bounds both the bytes and the number of
// messages), and the sender waits for room. Interrupted waits return
// ErrInterrupted, which the system-call layer turns into ERESTARTNOHAND
// as Linux does for msgsnd and msgrcv.
//
// # Locking
//
// Each kind has its own mutex (Namespace.shm.mu, sem.mu, msg.mu),
// guarding its registry and every object of that kind, their waiters
// and, for semaphores, the undo lists. Nothing calls out with one held
// except into the memory file (memfile.File.mu, innermost). A segment's
// Attachment is called by address spaces with mm.MM.mu held (MapPages,
// AddMapping, RemoveMapping) and takes shm.mu, so the order is
// mm.MM.mu → Namespace.shm.mu → memfile.File.mu, and this package never
// calls into an address space: the system-call layer maps and unmaps
// with no lock of this package held. Blocker.Block is never called with
// a lock held. The limits function takes no lock of this package and may
// be called with any held.
package sysv
