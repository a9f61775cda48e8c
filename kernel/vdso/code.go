package vdso

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// function is one exported function: __vdso_<name>, with <name> as a
// weak alias, as Linux exports them.
type function struct {
	name string
	// nr is the system call it makes when the vvar page cannot answer.
	nr uint32
	// fast emits the code answering from the vvar page, which jumps to
	// "sys" for the system call; nil: the function is the system call
	// alone.
	fast func(a *asm)
}

// functions are the exported functions, in the order of their code.
var functions = []function{
	{"clock_gettime", unix.SYS_CLOCK_GETTIME, clockGettime},
	{"gettimeofday", unix.SYS_GETTIMEOFDAY, gettimeofday},
	{"time", unix.SYS_TIME, timeFunc},
	{"getcpu", unix.SYS_GETCPU, nil},
	{"clock_getres", unix.SYS_CLOCK_GETRES, nil},
}

// funcAlign is the alignment of each function in .text; int3 fills the
// gaps.
const funcAlign = 16

// funcCode returns the code of f placed at address pc of the image
// (linked at 0, the vvar page VVarSize bytes below it).
//
// The arguments are where both the code and the system call want them
// (%rdi, %rsi: none of these functions takes more than three), the
// result or negative errno comes back in %rax as a vDSO function returns
// it, and only caller-saved registers of the System V ABI are used
// (%rax, %rcx, %rdx, %r8-%r11; the syscall instruction clobbers %rcx and
// %r11). The stack is never touched, so callers that run the vDSO on a
// small stack (the Go runtime) are safe and the call frame information
// is the same at every instruction.
func funcCode(f function, pc uint64) []byte {
	a := &asm{pc: pc, labels: map[string]int{}}
	if f.fast != nil {
		f.fast(a)
	}
	a.label("sys")
	a.emit(0xb8) // mov $nr, %eax
	a.emit(binary.LittleEndian.AppendUint32(nil, f.nr)...)
	a.emit(0x0f, 0x05) // syscall
	a.emit(0xc3)       // ret
	return a.bytes()
}

// The encodings below take a clock's entry to be 1<<5 bytes and every
// field's offset to fit a signed 8-bit displacement.
var (
	_ [0]struct{} = [clockSize - 1<<5]struct{}{}
	_ [0]struct{} = [(vvarClocks + clockRealtime*clockSize) / 128]struct{}{}
	_ [0]struct{} = [(vvarTSC | vvarShift | clockFrac | clockBase) / 128]struct{}{}
)

// The code of the fast paths. Register use: %r8 points at the vvar page,
// %r9 at the clock's entry in it, %r10d holds the sequence count read,
// %r11 the clock's mult; %rdi and %rsi keep the arguments for the system
// call.

// clockGettime is __vdso_clock_gettime(clockid_t %edi, struct timespec
// *%rsi). Clock IDs the page has no entry for (the CPU-time clocks,
// negative IDs naming a process's or thread's clock, bad IDs) take the
// system call, as do all of them while the page serves nothing.
// Linux: lib/vdso/gettimeofday.c, __cvdso_clock_gettime().
func clockGettime(a *asm) {
	a.emit(0x83, 0xff, NumClocks-1) // cmp $15, %edi
	a.jcc32(opJa, "sys")            //   above, unsigned: no entry
	a.leaVVar()                     // lea vvar(%rip), %r8
	a.emit(0x89, 0xf8)              // mov %edi, %eax
	a.emit(0xc1, 0xe0, 0x05)        // shl $5, %eax: * clockSize
	a.emit(0x4d, 0x8d, 0x4c, 0x00,  // lea vvarClocks(%r8,%rax), %r9
		vvarClocks)
	readNs(a)
	splitNs(a)
	a.emit(0x48, 0x89, 0x16)       // mov %rdx, (%rsi): tv_sec
	a.emit(0x48, 0x89, 0x4e, 0x08) // mov %rcx, 8(%rsi): tv_nsec
	a.emit(0x31, 0xc0)             // xor %eax, %eax
	a.emit(0xc3)                   // ret
}

// gettimeofday is __vdso_gettimeofday(struct timeval *%rdi, struct
// timezone *%rsi): CLOCK_REALTIME in microseconds. A time zone asked
// for, or no timeval, takes the system call.
func gettimeofday(a *asm) {
	a.emit(0x48, 0x85, 0xf6) // test %rsi, %rsi
	a.jcc32(opJne, "sys")
	a.emit(0x48, 0x85, 0xff) // test %rdi, %rdi
	a.jcc32(opJe, "sys")
	a.leaVVar()                                                  // lea vvar(%rip), %r8
	a.emit(0x4d, 0x8d, 0x48, vvarClocks+clockRealtime*clockSize) // lea vvarClocks(%r8), %r9: CLOCK_REALTIME
	readNs(a)
	splitNs(a)
	a.emit(0x48, 0x89, 0x17)     // mov %rdx, (%rdi): tv_sec
	a.emit(0x89, 0xc8)           // mov %ecx, %eax: nanoseconds, < 2^30
	a.emit(0x48, 0x69, 0xc0)     // imul $0x10624dd3, %rax, %rax
	a.emit(le32(0x10624dd3)...)  //
	a.emit(0x48, 0xc1, 0xe8, 38) // shr $38, %rax: / 1000
	a.emit(0x48, 0x89, 0x47, 8)  // mov %rax, 8(%rdi): tv_usec
	a.emit(0x31, 0xc0)           // xor %eax, %eax
	a.emit(0xc3)                 // ret
}

// timeFunc is __vdso_time(time_t *%rdi): CLOCK_REALTIME's seconds,
// returned and stored through the pointer if there is one.
func timeFunc(a *asm) {
	a.leaVVar()                                                  // lea vvar(%rip), %r8
	a.emit(0x4d, 0x8d, 0x48, vvarClocks+clockRealtime*clockSize) // lea vvarClocks(%r8), %r9: CLOCK_REALTIME
	readNs(a)
	divNs(a)
	a.emit(0x48, 0x89, 0xd0) // mov %rdx, %rax
	a.emit(0x48, 0x85, 0xff) // test %rdi, %rdi
	a.jmp8(opJe, "ret")
	a.emit(0x48, 0x89, 0x07) // mov %rax, (%rdi)
	a.label("ret")
	a.emit(0xc3) // ret
}

// readNs reads the clock whose entry %r9 points at, in the page %r8
// points at, into %rax (nanoseconds), as Data.Read does: a seqlock read
// around the computation base + (frac + (TSC - tsc) * mult) >> shift,
// whose product and sum are 128 bits wide (%rdx:%rax), and where a TSC
// before the reference counts as the reference (on another CPU the
// counter may lag a little); read again if the kernel wrote the page
// meanwhile. A mult of 0 jumps to "sys", and so does an odd sequence
// count: where Linux waits for the kernel to finish writing, this takes
// the system call (the kernel writes for well under a microsecond every
// 100 ms), so that a page frozen mid-write (an address space's private
// copy, made by a forced write) cannot hang its reader. Clobbers %rcx,
// %rdx, %r10 and %r11. Linux: include/vdso/helpers.h,
// vdso_read_begin() and vdso_read_retry();
// arch/x86/include/asm/vdso/gettimeofday.h.
func readNs(a *asm) {
	a.label("retry")
	a.emit(0x45, 0x8b, 0x10)          // mov (%r8), %r10d: seq
	a.emit(0x41, 0xf6, 0xc2, 0x01)    // test $1, %r10b
	a.jcc32(opJne, "sys")             //   odd: being written
	a.emit(0x4d, 0x8b, 0x19)          // mov (%r9), %r11: mult
	a.emit(0x4d, 0x85, 0xdb)          // test %r11, %r11
	a.jcc32(opJe, "sys")              //   0: not served
	a.emit(0x0f, 0xae, 0xe8)          // lfence: the TSC after the loads
	a.emit(0x0f, 0x31)                // rdtsc
	a.emit(0x48, 0xc1, 0xe2, 0x20)    // shl $32, %rdx
	a.emit(0x48, 0x09, 0xd0)          // or %rdx, %rax
	a.emit(0x49, 0x2b, 0x40, vvarTSC) // sub vvarTSC(%r8), %rax
	a.jmp8(opJae, "delta")
	a.emit(0x31, 0xc0) // xor %eax, %eax: before the reference
	a.label("delta")
	a.emit(0x49, 0xf7, 0xe3)            // mul %r11: %rdx:%rax = delta * mult
	a.emit(0x49, 0x03, 0x41, clockFrac) // add clockFrac(%r9), %rax
	a.emit(0x48, 0x83, 0xd2, 0x00)      // adc $0, %rdx
	a.emit(0x41, 0x8b, 0x48, vvarShift) // mov vvarShift(%r8), %ecx
	a.emit(0x48, 0x0f, 0xad, 0xd0)      // shrd %cl, %rdx, %rax
	a.emit(0x49, 0x03, 0x41, clockBase) // add clockBase(%r9), %rax
	a.emit(0x45, 0x3b, 0x10)            // cmp (%r8), %r10d: seq again
	a.jmp8(opJne, "retry")              //   changed: read again
}

// divNs divides %rax by 10^9 into %rdx, as compilers do: the high half
// of (n >> 9) * ceil(2^73 / 10^9) >> 11, exact for every 64-bit n.
// Clobbers %rax.
func divNs(a *asm) {
	a.emit(0x48, 0xc1, 0xe8, 0x09) // shr $9, %rax
	a.emit(0x48, 0xba)             // movabs $divNsMagic, %rdx
	a.emit(binary.LittleEndian.AppendUint64(nil, divNsMagic)...)
	a.emit(0x48, 0xf7, 0xe2)       // mul %rdx
	a.emit(0x48, 0xc1, 0xea, 0x0b) // shr $11, %rdx
}

// divNsMagic is the multiplier of divNs.
const divNsMagic = 0x44b82fa09b5a53

// splitNs splits %rax's nanoseconds into seconds (%rdx) and the
// nanoseconds left (%rcx). Clobbers %rax.
func splitNs(a *asm) {
	a.emit(0x48, 0x89, 0xc1) // mov %rax, %rcx
	divNs(a)
	a.emit(0x48, 0x69, 0xc2) // imul $1000000000, %rdx, %rax
	a.emit(le32(1e9)...)     //
	a.emit(0x48, 0x29, 0xc1) // sub %rax, %rcx
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// asm assembles one function: bytes, labels and the jumps to them.
type asm struct {
	pc     uint64 // the address of the first byte
	b      []byte
	labels map[string]int
	jumps  []jump
}

// jump is a relative jump to label whose displacement, of size bytes,
// is at offset at.
type jump struct {
	at, size int
	label    string
}

// Opcodes of the jumps: the short forms; jcc32 makes the near ones.
const (
	opJae = 0x73
	opJe  = 0x74
	opJne = 0x75
	opJa  = 0x77
)

func (a *asm) emit(b ...byte) { a.b = append(a.b, b...) }

func (a *asm) label(name string) {
	if _, dup := a.labels[name]; dup {
		panic("vdso: label " + name + " defined twice")
	}
	a.labels[name] = len(a.b)
}

// jmp8 emits a short conditional jump.
func (a *asm) jmp8(op byte, label string) {
	a.emit(op, 0)
	a.jumps = append(a.jumps, jump{len(a.b) - 1, 1, label})
}

// jcc32 emits the near form of a conditional jump: 0x0f, op + 0x10,
// rel32.
func (a *asm) jcc32(op byte, label string) {
	a.emit(0x0f, op+0x10, 0, 0, 0, 0)
	a.jumps = append(a.jumps, jump{len(a.b) - 4, 4, label})
}

// leaVVar emits lea vvar(%rip), %r8: the vvar page lies VVarSize bytes
// below the image's address 0.
func (a *asm) leaVVar() {
	a.emit(0x4c, 0x8d, 0x05)
	next := int64(a.pc) + int64(len(a.b)) + 4
	a.emit(le32(uint32(int32(-VVarSize - next)))...)
}

// bytes resolves the jumps and returns the code. A jump out of reach
// or to no label can only come from a change to this file.
func (a *asm) bytes() []byte {
	for _, j := range a.jumps {
		to, ok := a.labels[j.label]
		if !ok {
			panic("vdso: jump to undefined label " + j.label)
		}
		rel := to - (j.at + j.size)
		switch j.size {
		case 1:
			if rel < -128 || rel > 127 {
				panic(fmt.Sprintf("vdso: short jump to %s out of reach (%d)", j.label, rel))
			}
			a.b[j.at] = byte(int8(rel))
		case 4:
			binary.LittleEndian.PutUint32(a.b[j.at:], uint32(int32(rel)))
		}
	}
	return a.b
}
