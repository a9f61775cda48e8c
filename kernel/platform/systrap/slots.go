package systrap

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// A slot is one stub thread's share of the slot file: a state page the
// handler and the kernel hand the thread over through, then the
// thread's alternate signal stack, where the host writes the signal
// frame (registers, siginfo, XSAVE area) that the kernel reads and
// changes in place and rt_sigreturn loads back. Slots are slotSize
// aligned in the stub, so the handler finds its state page by masking
// its stack pointer.
//
// The stub maps a slot at slotBase plus the slot's offset in the file:
// above the stub's page, outside the application's range.
const (
	slotSize     = 0x10000
	slotFileSize = 1 << 30 // 16384 slots, sparse
	slotBase     = stubBase + 1<<32
	pageSize     = 0x1000
)

// slotPool hands out slots of the slot file, which the sandbox process
// maps whole.
type slotPool struct {
	fd  int
	mem []byte

	mu   sync.Mutex
	next uint64   // offset of the first slot never handed out
	free []uint64 // offsets of released slots
}

func newSlotPool() (*slotPool, error) {
	fd, err := unix.MemfdCreate("magawa-systrap-slots", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create for the slots: %w", err)
	}
	if err := unix.Ftruncate(fd, slotFileSize); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sizing the slot file: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, slotFileSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mapping the slot file: %w", err)
	}
	return &slotPool{fd: fd, mem: mem}, nil
}

func (p *slotPool) close() {
	unix.Munmap(p.mem)
	unix.Close(p.fd)
}

// slot is one slot, referenced by its address space (which maps it in
// its stub) and by the stub thread using it, if any. It returns to the
// pool when both have let go: never while a stub could still write it.
type slot struct {
	pool *slotPool
	off  uint64
	refs atomic.Int32
	// b is the slot in the sandbox process's mapping.
	b []byte
}

func (p *slotPool) get() (*slot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var off uint64
	if n := len(p.free); n > 0 {
		off, p.free = p.free[n-1], p.free[:n-1]
	} else if p.next+slotSize <= slotFileSize {
		off = p.next
		p.next += slotSize
	} else {
		return nil, fmt.Errorf("systrap: out of thread slots: %w", unix.EAGAIN)
	}
	s := &slot{pool: p, off: off, b: p.mem[off : off+slotSize : off+slotSize]}
	s.refs.Store(1)
	return s, nil
}

// put drops a reference; the last one gives the slot's memory back to
// the host and the slot to the pool.
func (s *slot) put() {
	if s.refs.Add(-1) != 0 {
		return
	}
	unix.Fallocate(s.pool.fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, int64(s.off), slotSize)
	s.pool.mu.Lock()
	s.pool.free = append(s.pool.free, s.off)
	s.pool.mu.Unlock()
}

// addr is the slot's address in its stub.
func (s *slot) addr() uint64 { return slotBase + s.off }

func (s *slot) state() *atomic.Uint32  { return word(s.b, stState) }
func (s *slot) kSleep() *atomic.Uint32 { return word(s.b, stKSleep) }
func (s *slot) sSleep() *atomic.Uint32 { return word(s.b, stSSleep) }

// u64 and putU64 access the state page's 64-bit fields. The handler
// writes them before it publishes an event, and reads them after the
// kernel published the resume: both sides order them with the state
// word.
func (s *slot) u64(off int) uint64 { return binary.LittleEndian.Uint64(s.b[off:]) }

func (s *slot) putU64(off int, v uint64) { binary.LittleEndian.PutUint64(s.b[off:], v) }

// reset prepares the state page for a new thread, which starts as
// running (it has not trapped into the handler yet).
func (s *slot) reset() {
	clear(s.b[:pageSize])
	s.state().Store(stateRunning)
	s.putU64(stAltStack, s.addr()+pageSize)    // ss_sp
	s.putU64(stAltStack+16, slotSize-pageSize) // ss_size
}
