// Package stubproc is what the ptrace and systrap platforms share about
// their stub processes, the host processes application address spaces
// live in: building a stub's executable (a static ELF image with its
// seccomp filters, in a sealed memfd), starting a stub or seizing a
// thread of one under ptrace, injecting system calls into a traced stub
// thread at one of its own `syscall; int3` sites, waiting for and
// reaping its threads, and the master goroutine that serves an address
// space's requests on the one OS thread allowed to trace its stub.
//
// What the stubs' code does, and which threads run application code, is
// each platform's own business; nothing here runs application code.
//
// # Locking
//
// A Thread's register caches (Regs, Known, ReadyRegs) belong to the OS
// thread that traces it (ptrace requests must come from the tracer's
// thread) and are not locked; its dead flag is atomic, as a releasing
// goroutine may reap the thread while its tracer looks. Master.mu
// guards stopped and orders every send on requests before its close: a
// Run that races with Stop fails instead of sending on a closed channel.
package stubproc
