package packet

import (
	"encoding/binary"
	"math/rand/v2"

	"golang.org/x/sys/unix"
)

// This file is SO_ATTACH_FILTER: classic BPF socket filters, checked
// when attached as Linux checks them (bpf_check_classic() in
// net/core/filter.c: only the classic instructions, jumps forward and
// inside the program, no division by a constant 0, shifts and memory
// cells in range, every memory cell stored before it is loaded, a
// return at the end) and run on each frame before it is queued. The
// frame is what the socket reads (from the link header for SOCK_RAW,
// from the network header for SOCK_DGRAM); the program's answer is how
// much of it to keep, 0 dropping it. Offsets from SKF_NET_OFF and
// SKF_LL_OFF reach the network and link headers; of the ancillary loads
// (SKF_AD_OFF) those about the frame and its interface are served, and
// those about netlink attributes and the transport payload's offset
// (SKF_AD_NLATTR, SKF_AD_NLATTR_NEST, SKF_AD_PAY_OFFSET) make the
// program refused with EINVAL rather than run wrong.

// sockFilterLen is sizeof(struct sock_filter): a 16-bit opcode, two
// 8-bit jump offsets and a 32-bit constant.
const sockFilterLen = unix.SizeofSockFilter

// Negative offsets of loads. Linux: include/uapi/linux/filter.h.
const (
	skfAdOff  = -0x1000
	skfNetOff = -0x100000
	skfLLOff  = -0x200000
)

// Ancillary loads: offsets from skfAdOff.
const (
	adProtocol       = 0
	adPktType        = 4
	adIfindex        = 8
	adNLAttr         = 12
	adNLAttrNest     = 16
	adMark           = 20
	adQueue          = 24
	adHatype         = 28
	adRXHash         = 32
	adCPU            = 36
	adALUXorX        = 40
	adVLANTag        = 44
	adVLANTagPresent = 48
	adPayOffset      = 52
	adRandom         = 56
	adVLANTPID       = 60
)

// servedAncillary says which ancillary loads a program may make.
var servedAncillary = map[uint32]bool{
	adProtocol: true, adPktType: true, adIfindex: true, adMark: true, adQueue: true,
	adHatype: true, adRXHash: true, adCPU: true, adALUXorX: true, adVLANTag: true,
	adVLANTagPresent: true, adRandom: true, adVLANTPID: true,
}

// ancillaryOffset returns the ancillary datum an absolute load at k
// asks for, if it asks for one: the offsets from SKF_AD_OFF to -1.
func ancillaryOffset(k uint32) (uint32, bool) {
	if off := int32(k); off < 0 && off >= skfAdOff {
		return uint32(off - skfAdOff), true
	}
	return 0, false
}

// insn is one struct sock_filter.
type insn struct {
	code   uint16
	jt, jf uint8
	k      uint32
}

// program is a checked filter, with the bytes it was attached from
// (SO_GET_FILTER returns them).
type program struct {
	insns []insn
	raw   []byte
}

// Opcodes: the classic instruction set, class | size | mode for loads,
// class | operation | source for the others.
const (
	ldW   = unix.BPF_LD | unix.BPF_W
	ldH   = unix.BPF_LD | unix.BPF_H
	ldB   = unix.BPF_LD | unix.BPF_B
	ldxW  = unix.BPF_LDX | unix.BPF_W
	ldxB  = unix.BPF_LDX | unix.BPF_B
	alu   = unix.BPF_ALU
	jmp   = unix.BPF_JMP
	ret   = unix.BPF_RET
	misc  = unix.BPF_MISC
	modeK = unix.BPF_K
	modeX = unix.BPF_X
)

// validCodes are the opcodes of classic BPF socket filters: any other
// is EINVAL. (Linux: net/core/filter.c, codes[] in
// chk_code_allowed(); RET X is not among them.)
var validCodes = func() map[uint16]bool {
	m := map[uint16]bool{
		ldW | unix.BPF_ABS: true, ldH | unix.BPF_ABS: true, ldB | unix.BPF_ABS: true,
		ldW | unix.BPF_IND: true, ldH | unix.BPF_IND: true, ldB | unix.BPF_IND: true,
		ldW | unix.BPF_LEN: true, unix.BPF_LD | unix.BPF_IMM: true, unix.BPF_LD | unix.BPF_MEM: true,
		ldxW | unix.BPF_LEN: true, ldxB | unix.BPF_MSH: true,
		unix.BPF_LDX | unix.BPF_IMM: true, unix.BPF_LDX | unix.BPF_MEM: true,
		unix.BPF_ST: true, unix.BPF_STX: true,
		misc | unix.BPF_TAX: true, misc | unix.BPF_TXA: true,
		ret | modeK: true, ret | unix.BPF_A: true,
		jmp | unix.BPF_JA:  true,
		alu | unix.BPF_NEG: true,
	}
	for _, op := range []uint16{unix.BPF_ADD, unix.BPF_SUB, unix.BPF_MUL, unix.BPF_DIV, unix.BPF_MOD,
		unix.BPF_AND, unix.BPF_OR, unix.BPF_XOR, unix.BPF_LSH, unix.BPF_RSH} {
		m[alu|op|modeK], m[alu|op|modeX] = true, true
	}
	for _, op := range []uint16{unix.BPF_JEQ, unix.BPF_JGT, unix.BPF_JGE, unix.BPF_JSET} {
		m[jmp|op|modeK], m[jmp|op|modeX] = true, true
	}
	return m
}()

// compile checks the instructions of raw (struct sock_filter records)
// and returns the program, or EINVAL.
func compile(raw []byte) (*program, error) {
	n := len(raw) / sockFilterLen
	if n == 0 || n > unix.BPF_MAXINSNS || len(raw)%sockFilterLen != 0 {
		return nil, unix.EINVAL
	}
	p := &program{insns: make([]insn, n), raw: append([]byte(nil), raw...)}
	for i := range p.insns {
		b := raw[i*sockFilterLen:]
		p.insns[i] = insn{
			code: binary.LittleEndian.Uint16(b),
			jt:   b[2],
			jf:   b[3],
			k:    binary.LittleEndian.Uint32(b[4:]),
		}
	}
	for pc, in := range p.insns {
		if !validCodes[in.code] {
			return nil, unix.EINVAL
		}
		rest := uint32(n - pc - 1) // instructions after this one
		switch in.code {
		case alu | unix.BPF_DIV | modeK, alu | unix.BPF_MOD | modeK:
			if in.k == 0 {
				return nil, unix.EINVAL
			}
		case alu | unix.BPF_LSH | modeK, alu | unix.BPF_RSH | modeK:
			if in.k >= 32 {
				return nil, unix.EINVAL
			}
		case unix.BPF_LD | unix.BPF_MEM, unix.BPF_LDX | unix.BPF_MEM, unix.BPF_ST, unix.BPF_STX:
			if in.k >= unix.BPF_MEMWORDS {
				return nil, unix.EINVAL
			}
		case jmp | unix.BPF_JA:
			if in.k >= rest {
				return nil, unix.EINVAL
			}
		case ldW | unix.BPF_ABS, ldH | unix.BPF_ABS, ldB | unix.BPF_ABS:
			if ad, ok := ancillaryOffset(in.k); ok {
				if !servedAncillary[ad] {
					// Linux refuses the ones it does not know; the
					// ones it knows and this package does not serve
					// are refused too, rather than run wrong.
					return nil, unix.EINVAL
				}
			}
		default:
			if in.code&0x07 == jmp && (uint32(in.jt) >= rest || uint32(in.jf) >= rest) {
				return nil, unix.EINVAL
			}
		}
	}
	if last := p.insns[n-1].code; last != ret|modeK && last != ret|unix.BPF_A {
		return nil, unix.EINVAL
	}
	if !p.storesBeforeLoads() {
		return nil, unix.EINVAL
	}
	return p, nil
}

// storesBeforeLoads reports whether every load of a memory cell comes,
// on every path that reaches it, after a store to that cell: one pass
// in order (jumps only go forward) carrying the cells known stored,
// each jump target getting what every jump to it knows in common.
func (p *program) storesBeforeLoads() bool {
	const all = ^uint16(0)
	// atEntry[pc] is what the jumps to pc know; all until one comes.
	atEntry := make([]uint16, len(p.insns))
	for i := range atEntry {
		atEntry[i] = all
	}
	var stored uint16 // the first instruction is reached with nothing stored
	for pc, in := range p.insns {
		stored &= atEntry[pc]
		switch {
		case in.code == unix.BPF_ST || in.code == unix.BPF_STX:
			stored |= 1 << in.k
		case in.code == unix.BPF_LD|unix.BPF_MEM || in.code == unix.BPF_LDX|unix.BPF_MEM:
			if stored&(1<<in.k) == 0 {
				return false
			}
		case in.code == jmp|unix.BPF_JA:
			atEntry[pc+1+int(in.k)] &= stored
			stored = all
		case in.code&0x07 == jmp:
			atEntry[pc+1+int(in.jt)] &= stored
			atEntry[pc+1+int(in.jf)] &= stored
			stored = all
		}
	}
	return true
}

// filterFrame is what a program runs on.
type filterFrame struct {
	// frame is the whole frame, from its link header; data and net are
	// the offsets where the socket's view and the network header start.
	frame     []byte
	data, net int
	// proto is the Ethernet protocol, pkttype Linux's PACKET_* type,
	// hatype the interface's ARPHRD_* type.
	proto   uint16
	pkttype uint8
	ifindex int32
	hatype  uint16
}

// load reads size bytes (1, 2 or 4, big-endian) at off, an offset in the
// socket's view or, negative, from the network or link header; ok is
// false outside the frame, which ends the program with 0.
func (f *filterFrame) load(off int32, size int) (v uint32, ok bool) {
	var at int
	switch {
	case off >= 0:
		at = f.data + int(off)
	case off >= skfNetOff:
		at = f.net + int(off-skfNetOff)
	case off >= skfLLOff:
		at = int(off - skfLLOff)
	default:
		return 0, false
	}
	if at < 0 || at+size > len(f.frame) {
		return 0, false
	}
	b := f.frame[at:]
	switch size {
	case 4:
		return binary.BigEndian.Uint32(b), true
	case 2:
		return uint32(binary.BigEndian.Uint16(b)), true
	}
	return uint32(b[0]), true
}

// loadSize is the width of a load's size bits.
func loadSize(code uint16) int {
	switch code & 0x18 {
	case unix.BPF_H:
		return 2
	case unix.BPF_B:
		return 1
	}
	return 4
}

// run runs p on f and returns how many bytes of the view to keep.
func (p *program) run(f *filterFrame) uint32 {
	var a, x uint32
	var mem [unix.BPF_MEMWORDS]uint32
	length := uint32(len(f.frame) - f.data)
	for pc := 0; pc < len(p.insns); pc++ {
		in := p.insns[pc]
		// The operand of ALU and jump instructions: the constant, or X.
		src := in.k
		if class := in.code & 0x07; (class == alu || class == jmp) && in.code&modeX != 0 {
			src = x
		}
		switch in.code & 0x07 {
		case unix.BPF_LD:
			switch in.code & 0xe0 {
			case unix.BPF_ABS:
				if ad, ok := ancillaryOffset(in.k); ok {
					a = f.ancillary(ad, a, x)
					continue
				}
				v, ok := f.load(int32(in.k), loadSize(in.code))
				if !ok {
					return 0
				}
				a = v
			case unix.BPF_IND:
				v, ok := f.load(int32(x+in.k), loadSize(in.code))
				if !ok {
					return 0
				}
				a = v
			case unix.BPF_LEN:
				a = length
			case unix.BPF_IMM:
				a = in.k
			case unix.BPF_MEM:
				a = mem[in.k]
			}
		case unix.BPF_LDX:
			switch in.code & 0xe0 {
			case unix.BPF_LEN:
				x = length
			case unix.BPF_MSH:
				v, ok := f.load(int32(in.k), 1)
				if !ok {
					return 0
				}
				x = (v & 0xf) << 2
			case unix.BPF_IMM:
				x = in.k
			case unix.BPF_MEM:
				x = mem[in.k]
			}
		case unix.BPF_ST:
			mem[in.k] = a
		case unix.BPF_STX:
			mem[in.k] = x
		case alu:
			switch in.code & 0xf0 {
			case unix.BPF_ADD:
				a += src
			case unix.BPF_SUB:
				a -= src
			case unix.BPF_MUL:
				a *= src
			case unix.BPF_DIV:
				if src == 0 {
					return 0
				}
				a /= src
			case unix.BPF_MOD:
				if src == 0 {
					return 0
				}
				a %= src
			case unix.BPF_AND:
				a &= src
			case unix.BPF_OR:
				a |= src
			case unix.BPF_XOR:
				a ^= src
			case unix.BPF_LSH:
				a <<= src & 31
			case unix.BPF_RSH:
				a >>= src & 31
			case unix.BPF_NEG:
				a = -a
			}
		case jmp:
			var taken bool
			switch in.code & 0xf0 {
			case unix.BPF_JA:
				pc += int(in.k)
				continue
			case unix.BPF_JEQ:
				taken = a == src
			case unix.BPF_JGT:
				taken = a > src
			case unix.BPF_JGE:
				taken = a >= src
			case unix.BPF_JSET:
				taken = a&src != 0
			}
			if taken {
				pc += int(in.jt)
			} else {
				pc += int(in.jf)
			}
		case ret:
			if in.code&0x18 == unix.BPF_A {
				return a
			}
			return in.k
		case misc:
			if in.code&0xf8 == unix.BPF_TXA {
				a = x
			} else {
				x = a
			}
		}
	}
	return 0 // not reached: a checked program ends with a return
}

// ancillary serves the load of ancillary datum ad; a and x are the
// registers (SKF_AD_ALU_XOR_X computes with them).
func (f *filterFrame) ancillary(ad, a, x uint32) uint32 {
	switch ad {
	case adProtocol:
		return uint32(f.proto)
	case adPktType:
		return uint32(f.pkttype)
	case adIfindex:
		return uint32(f.ifindex)
	case adHatype:
		return uint32(f.hatype)
	case adALUXorX:
		return a ^ x
	case adRandom:
		return rand.Uint32()
	}
	// SKF_AD_MARK, QUEUE, RXHASH, CPU and the VLAN data: the sandbox's
	// frames carry no mark, hash or offloaded VLAN tag (a tag stays in
	// the frame) and run on no numbered queue or CPU.
	return 0
}
