// Package mqueue owns the sandbox's POSIX message queues (mq_overview(7)):
// the queues by name, their messages in priority order, and the
// descriptors that open them, which are vfs.Files like others (poll and
// epoll see them through vfs.Waitable; read(2) gives the queue's status
// line). Linux keeps the names in the mqueue file system; here they are
// a flat table with that file system's rules: one component, no "." or
// "..", NAME_MAX bytes, a sticky root directory owned by root.
//
// Sending to a full queue and receiving from an empty one wait, unless
// the description is O_NONBLOCK, until the absolute deadline the caller
// gives (ETIMEDOUT) or a signal (ErrInterrupted, which the system-call
// layer turns into ERESTARTSYS: mq_send and mq_receive restart with
// SA_RESTART). Waiters sleep on a channel that every change of the
// queue closes, and look again; a message goes to whoever takes it
// first, not to the longest waiter.
//
// mq_notify registers one process per queue: when a message arrives on
// an empty queue that no receiver waits on, the registration goes, and
// with SIGEV_SIGNAL the process is sent the signal (Registry's signal
// function, SI_MESGQ). The registration also goes when the process
// closes any descriptor of the queue (Queue.Closed, which the system-call
// layer calls from the file's close hook; the process is known by its
// descriptor table), exit and exec included, and when the process is
// found gone.
//
// mq_open checks a new queue's attributes against the namespace's
// limits (msg_max, msgsize_max, queues_max; the defaults msg_default and
// msgsize_default), which the kernel keeps and /proc/sys/fs/mqueue
// changes: New takes a function that returns them as they are now.
//
// Locking: Registry.mu guards the names and the count of queues;
// Queue.mu guards a queue's messages and registration. Registry.mu is
// taken before Queue.mu. The signal and alive functions are called with
// no lock held; the waiter queue is notified with none held either.
package mqueue
