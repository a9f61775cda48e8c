// Package tty implements terminals: pseudo-terminal pairs, a master and
// a slave joined by Linux's line discipline (N_TTY). It owns a terminal's
// settings (termios, window size), its queues, the line discipline
// (canonical editing, echo, input and output translation, signal
// characters, flow control, VMIN/VTIME), hang-up, and the job-control
// rules of a controlling terminal (which process group is in the
// foreground, who may read and write, TIOCSCTTY and TIOCNOTTY). It does
// not own processes, process groups or sessions: those are the kernel's,
// reached through the Kernel, Task and JobControl interfaces, which
// kernel/kernel implements. Device numbers and nodes belong to devpts.
//
// The data path, as Linux's: bytes written on the master go to the
// slave's flip buffer (8 KiB), from which the line discipline takes them,
// as room allows, into the slave's read buffer (N_TTY_BUF_SIZE, 4 KiB);
// bytes written on the slave (and echoes) go through output processing
// into the master's flip buffer and from there into the master's read
// buffer. The master's own line discipline is always raw (TCSETS on the
// master changes the slave's settings, as on Linux), so it is not
// modelled. A full queue makes writes return EAGAIN; reads of an empty
// one return EAGAIN; the system-call layer waits on the side's waiter
// queue.
//
// Locking: Terminal.mu guards all of a terminal's state; per-file state
// of a Slave is guarded by its terminal's mu too. It is a leaf: waiter
// queues are notified after it is released (a queue's lock comes before
// it, since Readiness takes it under epoll's locks). The kernel's lock
// comes before it: a JobControl callback (which runs under the kernel's
// lock) may take it, but the terminal never calls the kernel while it
// holds mu.
//
// Calls into the kernel that have no calling task (signals for INTR,
// QUIT and SUSP typed on the master, SIGWINCH, the hang-up when the
// master closes) are made from a goroutine of the terminal, in order:
// they arise inside writes that copy straight from application memory
// with mm.MM.mu held, and in Release, which may run under the kernel's
// lock, so taking the kernel's lock there would invert the lock order.
// Ioctls that signal (TIOCSWINSZ, TIOCSIG) wait for that goroutine, so
// the signal is pending when they return, as on Linux.
package tty
