package stubproc

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"magawa/kernel/platform"
)

// Image returns a stub executable of size bytes: an ELF header and one
// PT_LOAD program header mapping the whole file read+execute at base,
// with its entry at base+entry. The caller writes its code and data
// after the headers (below 120 bytes into the file).
func Image(base, entry uint64, size int, memSize uint64) []byte {
	img := make([]byte, size)
	le := binary.LittleEndian
	// Elf64_Ehdr
	copy(img, []byte{0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* LSB */, 1 /* version */})
	le.PutUint16(img[16:], 2)           // e_type = ET_EXEC
	le.PutUint16(img[18:], 62)          // e_machine = EM_X86_64
	le.PutUint32(img[20:], 1)           // e_version
	le.PutUint64(img[24:], base+entry)  // e_entry
	le.PutUint64(img[32:], 64)          // e_phoff
	le.PutUint16(img[52:], 64)          // e_ehsize
	le.PutUint16(img[54:], 56)          // e_phentsize
	le.PutUint16(img[56:], 1)           // e_phnum
	le.PutUint16(img[58:], 64)          // e_shentsize
	ph := img[64:]                      // Elf64_Phdr
	le.PutUint32(ph[0:], 1)             // p_type = PT_LOAD
	le.PutUint32(ph[4:], 5)             // p_flags = PF_R|PF_X
	le.PutUint64(ph[8:], 0)             // p_offset
	le.PutUint64(ph[16:], base)         // p_vaddr
	le.PutUint64(ph[24:], base)         // p_paddr
	le.PutUint64(ph[32:], uint64(size)) // p_filesz
	le.PutUint64(ph[40:], memSize)      // p_memsz
	le.PutUint64(ph[48:], 0x1000)       // p_align
	return img
}

// NewFile writes a stub executable into a sealed memfd, to be executed
// through /proc/self/fd.
func NewFile(name string, img []byte) (int, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, fmt.Errorf("memfd_create for the stub: %w", err)
	}
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

// Classic BPF opcodes (linux/bpf_common.h) and seccomp return values.
const (
	BPFLdWAbs = 0x20 // BPF_LD | BPF_W | BPF_ABS
	BPFJeqK   = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	BPFJgeK   = 0x35 // BPF_JMP | BPF_JGE | BPF_K
	BPFRetK   = 0x06 // BPF_RET | BPF_K

	SeccompRetKillProcess = 0x80000000
	SeccompRetTrap        = 0x00030000
	SeccompRetAllow       = 0x7fff0000

	AuditArchX86_64 = 0xc000003e

	// Offsets in struct seccomp_data.
	SeccompDataNr     = 0
	SeccompDataArch   = 4
	SeccompDataIPLow  = 8
	SeccompDataIPHigh = 12
	SeccompDataArg1   = 16 + 8 // low half
)

// BPF is one classic BPF instruction (struct sock_filter).
type BPF struct {
	Code   uint16
	Jt, Jf uint8
	K      uint32
}

// Ins builds an instruction.
func Ins(code uint16, jt, jf uint8, k uint32) BPF { return BPF{Code: code, Jt: jt, Jf: jf, K: k} }

// PageFilter allows a system call only if it was issued from the page
// at base (a stub's code, 4 GiB aligned); any other x86-64 call traps
// and any other ABI kills the stub.
func PageFilter(base, size uint64) []BPF {
	if base&0xffffffff != 0 {
		panic("stubproc: the page filter needs a 4 GiB aligned base")
	}
	return []BPF{
		{BPFLdWAbs, 0, 0, SeccompDataArch},
		{BPFJeqK, 0, 6, AuditArchX86_64}, // else kill
		{BPFLdWAbs, 0, 0, SeccompDataIPHigh},
		{BPFJeqK, 0, 3, uint32(base >> 32)}, // else trap
		{BPFLdWAbs, 0, 0, SeccompDataIPLow},
		{BPFJgeK, 1, 0, uint32(size)}, // >= end: trap
		{BPFRetK, 0, 0, SeccompRetAllow},
		{BPFRetK, 0, 0, SeccompRetTrap},
		{BPFRetK, 0, 0, SeccompRetKillProcess},
	}
}

// PutProg writes a struct sock_fprog at prog in code, pointing at the
// filter, which it writes at off (addr is code's address in the stub).
func PutProg(code []byte, addr uint64, prog, off int, filter []BPF) {
	le := binary.LittleEndian
	le.PutUint16(code[prog:], uint16(len(filter)))
	le.PutUint64(code[prog+8:], addr+uint64(off))
	for i, ins := range filter {
		b := code[off+8*i:]
		le.PutUint16(b[0:], ins.Code)
		b[2], b[3] = ins.Jt, ins.Jf
		le.PutUint32(b[4:], ins.K)
	}
}

// Where every stub lives: one page at the top of the application's
// range, its code CodeOffset bytes into it, after the ELF headers; the
// kernel's memory file is descriptor MemoryFD inside it.
const (
	Base       = platform.MaxUserAddress
	Size       = 0x1000
	CodeOffset = 0x100
	MemoryFD   = 3
)
