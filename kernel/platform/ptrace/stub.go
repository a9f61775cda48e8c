package ptrace

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
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
	stubBase     = platform.MaxUserAddress
	stubSize     = 0x1000
	codeOffset   = 0x100
	stubMemoryFD = 3 // the memory file's descriptor number inside the stub
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

// Classic BPF opcodes (linux/bpf_common.h) and seccomp return values.
const (
	bpfLdWAbs = 0x20 // BPF_LD | BPF_W | BPF_ABS
	bpfJeqK   = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	bpfJgeK   = 0x35 // BPF_JMP | BPF_JGE | BPF_K
	bpfRetK   = 0x06 // BPF_RET | BPF_K

	seccompRetKillProcess = 0x80000000
	seccompRetTrap        = 0x00030000
	seccompRetAllow       = 0x7fff0000

	auditArchX86_64 = 0xc000003e

	// Offsets in struct seccomp_data.
	seccompDataArch   = 4
	seccompDataIPLow  = 8
	seccompDataIPHigh = 12
)

type bpfInstruction struct {
	code   uint16
	jt, jf uint8
	k      uint32
}

// stubFilter allows a system call only if it was issued from the stub's
// page; any other x86-64 call traps and any other ABI kills the stub.
func stubFilter() []bpfInstruction {
	return []bpfInstruction{
		{bpfLdWAbs, 0, 0, seccompDataArch},
		{bpfJeqK, 0, 6, auditArchX86_64}, // else kill
		{bpfLdWAbs, 0, 0, seccompDataIPHigh},
		{bpfJeqK, 0, 3, uint32(stubBase >> 32)}, // else trap
		{bpfLdWAbs, 0, 0, seccompDataIPLow},
		{bpfJgeK, 1, 0, uint32(stubBase&0xffffffff) + stubSize}, // >= end: trap
		{bpfRetK, 0, 0, seccompRetAllow},
		{bpfRetK, 0, 0, seccompRetTrap},
		{bpfRetK, 0, 0, seccompRetKillProcess},
	}
}

// stubImage returns the stub executable: an ELF header, one PT_LOAD
// program header mapping the whole file read+execute at stubBase, and the
// code at codeOffset.
func stubImage() []byte {
	if stubBase&0xffffffff != 0 {
		panic("ptrace: stub filter assumes a 4 GiB aligned stubBase")
	}
	filter := stubFilter()
	img := make([]byte, codeOffset+filterOffset+8*len(filter))
	le := binary.LittleEndian

	// Elf64_Ehdr
	copy(img, []byte{0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* LSB */, 1 /* version */})
	le.PutUint16(img[16:], 2)                   // e_type = ET_EXEC
	le.PutUint16(img[18:], 62)                  // e_machine = EM_X86_64
	le.PutUint32(img[20:], 1)                   // e_version
	le.PutUint64(img[24:], stubBase+codeOffset) // e_entry
	le.PutUint64(img[32:], 64)                  // e_phoff
	le.PutUint16(img[52:], 64)                  // e_ehsize
	le.PutUint16(img[54:], 56)                  // e_phentsize
	le.PutUint16(img[56:], 1)                   // e_phnum
	le.PutUint16(img[58:], 64)                  // e_shentsize
	ph := img[64:]                              // Elf64_Phdr
	le.PutUint32(ph[0:], 1)                     // p_type = PT_LOAD
	le.PutUint32(ph[4:], 5)                     // p_flags = PF_R|PF_X
	le.PutUint64(ph[8:], 0)                     // p_offset
	le.PutUint64(ph[16:], stubBase)             // p_vaddr
	le.PutUint64(ph[24:], stubBase)             // p_paddr
	le.PutUint64(ph[32:], uint64(len(img)))     // p_filesz
	le.PutUint64(ph[40:], stubSize)             // p_memsz
	le.PutUint64(ph[48:], 0x1000)               // p_align

	code := img[codeOffset:]
	copy(code, stubCode)
	le.PutUint16(code[fprogOffset:], uint16(len(filter)))
	le.PutUint64(code[fprogOffset+8:], stubBase+codeOffset+filterOffset)
	for i, ins := range filter {
		b := code[filterOffset+8*i:]
		le.PutUint16(b[0:], ins.code)
		b[2], b[3] = ins.jt, ins.jf
		le.PutUint32(b[4:], ins.k)
	}
	return img
}

// newStubFile writes the stub into a sealed memfd, to be executed through
// /proc/self/fd.
func newStubFile() (int, error) {
	fd, err := unix.MemfdCreate("magawa-stub", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, fmt.Errorf("memfd_create for the stub: %w", err)
	}
	img := stubImage()
	if n, err := unix.Write(fd, img); err != nil || n != len(img) {
		unix.Close(fd)
		return -1, fmt.Errorf("writing the stub: %d bytes, %v", n, err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("sealing the stub: %w", err)
	}
	return fd, nil
}
