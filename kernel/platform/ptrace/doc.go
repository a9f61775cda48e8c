// Package ptrace is the platform that runs each address space in a stub
// process (stub.go) traced with PTRACE_SYSEMU: the host stops a stub
// thread at every system call, executing nothing, and at every signal,
// and its tracer hands the event to the kernel.
//
// # Design
//
// An address space is one stub process. Its first thread is traced by a
// master goroutine, locked to its own OS thread, which injects the mmap,
// munmap and mprotect calls that shape the stub and clones the stub
// threads that run application code. A context is a kernel task's OS
// thread; it has one stub thread, which it seizes and alone traces, in
// every address space it has run in (ptrace requests must come from the
// tracer's thread). Releasing a context makes each of its stub threads
// call exit; releasing an address space kills the stub and reaps it.
// Every stub thread is traced with PTRACE_O_EXITKILL: when its tracer's
// thread ends, the host kills the whole stub, so a context must see each
// of its stub threads exit before its thread ends.
//
// Interrupt, called from any goroutine, stops application code with a
// SIGSTOP sent to the stub thread the context is running (tgkill: no
// ptrace request, which only the tracer could make); Switch reports the
// SIGSTOP's stop as EventInterrupted and resumes past it next time.
//
// # Locking
//
// addressSpace.mu guards the address space's master, released and
// threads. A context's threads map and pendingFP, and a stub thread's
// register caches (Regs, Known, ReadyRegs), belong to the tracer's
// thread and are not locked. The fields other goroutines read are
// atomics: a context's interrupted, running and last, a stub thread's
// dead flag. Stub threads, their tracing and the master goroutine are
// the ones both platforms share (internal/stubproc).
//
// Interrupt and Switch need no lock between them, but an order:
// Interrupt sets interrupted and then loads running; Switch, before each
// resume, stores running and then swaps interrupted. Go's atomics are
// sequentially consistent, so at least one of them sees the other's
// write: Switch returns EventInterrupted without resuming, or Interrupt
// finds the thread and stops it. Both may happen, and a SIGSTOP may also
// reach a thread that has just stopped on its own: it stays pending, and
// the thread stops with it as soon as it is resumed. Switch takes that
// for an interrupt (a spurious one, which the kernel's loop tolerates),
// and Release resumes past it until it sees the exit.
package ptrace
