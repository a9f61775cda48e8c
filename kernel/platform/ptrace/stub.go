package ptrace

import (
	"magawa/kernel/platform/internal/stubproc"
)

// The stub is the host process an address space lives in. It is a tiny
// static ELF built here, byte by byte, so the platform needs no cgo, no
// assembler and no file on disk. At its entry it:
//
//  1. unmaps everything the host's exec put in its address space except
//     itself (the host stack, vDSO and vvar), leaving the whole user range
//     below stubBase to the application kernel;
//  2. sets no_new_privs and installs a seccomp filter that lets system calls
//     through only when they are issued from the stub's own page. The
//     application's calls never reach seccomp: PTRACE_SYSEMU stops them at
//     entry and they are skipped. The filter is the second wall, for the
//     case where the application ever runs without SYSEMU: its calls then
//     trap (SIGSYS) instead of executing;
//  3. executes int3 so that its tracer knows it is ready.
//
// After that the tracer drives it: to change the address space it points
// rip at syscallSite with the registers of the call it wants, and the
// following int3 hands control back.
const (
	stubBase     = stubproc.Base
	stubSize     = stubproc.Size
	codeOffset   = stubproc.CodeOffset
	stubMemoryFD = stubproc.MemoryFD
)

// stubCode is the stub's machine code (x86-64, AT&T syntax shown), loaded
// at stubBase+codeOffset. Offsets in the comments are relative to it.
var stubCode = []byte{
	// 00: munmap(0, stubBase)
	0xb8, 0x0b, 0x00, 0x00, 0x00, // mov $11, %eax
	0x31, 0xff, // xor %edi, %edi
	0x48, 0xbe, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x7f, 0x00, 0x00, // movabs $0x7ff000000000, %rsi
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax, %rax
	0x75, 0x71, // jne fail
	// 18: munmap(stubBase+stubSize, 0x7ffffffff000-stubBase-stubSize)
	0xb8, 0x0b, 0x00, 0x00, 0x00, // mov $11, %eax
	0x48, 0xbf, 0x00, 0x10, 0x00, 0x00, 0xf0, 0x7f, 0x00, 0x00, // movabs $0x7ff000001000, %rdi
	0x48, 0xbe, 0x00, 0xe0, 0xff, 0xff, 0x0f, 0x00, 0x00, 0x00, // movabs $0xfffffe000, %rsi
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax, %rax
	0x75, 0x51, // jne fail
	// 38: prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	0xb8, 0x9d, 0x00, 0x00, 0x00, // mov $157, %eax
	0xbf, 0x26, 0x00, 0x00, 0x00, // mov $38, %edi
	0xbe, 0x01, 0x00, 0x00, 0x00, // mov $1, %esi
	0x31, 0xd2, // xor %edx, %edx
	0x45, 0x31, 0xd2, // xor %r10d, %r10d
	0x45, 0x31, 0xc0, // xor %r8d, %r8d
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax, %rax
	0x75, 0x33, // jne fail
	// 56: seccomp(SECCOMP_SET_MODE_FILTER, 0, &fprog)
	0xb8, 0x3d, 0x01, 0x00, 0x00, // mov $317, %eax
	0xbf, 0x01, 0x00, 0x00, 0x00, // mov $1, %edi
	0x31, 0xf6, // xor %esi, %esi
	0x48, 0x8d, 0x15, 0x27, 0x00, 0x00, 0x00, // lea fprog(%rip), %rdx
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax, %rax
	0x75, 0x19, // jne fail
	// 70: ready
	0xcc, // int3
	// 71: syscallSite
	0x0f, 0x05, // syscall
	0xcc,       // int3
	0xeb, 0xfb, // jmp syscallSite
	// 76: cloneSite: clone(CLONE_VM|CLONE_THREAD|..., 0, 0, 0, 0). The
	// parent reports to its tracer; the child waits in pause() for its
	// own tracer to seize it. Neither touches a stack: the stub has none.
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax, %rax
	0x74, 0x03, // je childLoop
	0xcc,       // int3
	0xeb, 0xf1, // jmp syscallSite
	// 80: childLoop
	0xb8, 0x22, 0x00, 0x00, 0x00, // mov $34 (pause), %eax
	0x0f, 0x05, // syscall
	0xeb, 0xf7, // jmp childLoop
	// 89: fail
	0x0f, 0x0b, // ud2
	0x0f, 0x1f, 0x44, 0x00, 0x00, // nopl (padding)
	// 90: fprog (struct sock_fprog), then the filter, appended by stubImage
}

const (
	syscallSiteOffset = 0x71
	cloneSiteOffset   = 0x76
	fprogOffset       = 0x90
	filterOffset      = fprogOffset + 16

	syscallSite = stubBase + codeOffset + syscallSiteOffset
	cloneSite   = stubBase + codeOffset + cloneSiteOffset
)

// stubFilter allows a system call only if it was issued from the stub's
// page; any other x86-64 call traps and any other ABI kills the stub.
func stubFilter() []stubproc.BPF { return stubproc.PageFilter(stubBase, stubSize) }

// stubImage returns the stub executable: an ELF header, one PT_LOAD
// program header mapping the whole file read+execute at stubBase, and the
// code at codeOffset.
func stubImage() []byte {
	filter := stubFilter()
	img := stubproc.Image(stubBase, codeOffset, codeOffset+filterOffset+8*len(filter), stubSize)
	code := img[codeOffset:]
	copy(code, stubCode)
	stubproc.PutProg(code, stubBase+codeOffset, fprogOffset, filterOffset, filter)
	return img
}

// newStubFile writes the stub into a sealed memfd.
func newStubFile() (int, error) { return stubproc.NewFile("magawa-stub", stubImage()) }
