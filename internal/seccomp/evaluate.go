package seccomp

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// Data is struct seccomp_data: a system call as a filter sees it.
type Data struct {
	Nr   uint32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

// Evaluate runs prog on the call d as the host kernel would and returns
// the filter's answer. It knows the instructions Program emits and fails
// on any other, and on a program that runs off its end.
func Evaluate(prog []unix.SockFilter, d Data) (Action, error) {
	var buf [dataSize]byte
	le := binary.LittleEndian
	le.PutUint32(buf[dataNr:], d.Nr)
	le.PutUint32(buf[dataArch:], d.Arch)
	le.PutUint64(buf[8:], d.IP)
	for i, a := range d.Args {
		le.PutUint64(buf[16+8*i:], a)
	}
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		ins := prog[pc]
		switch ins.Code {
		case bpfLdAbs:
			if ins.K%4 != 0 || ins.K+4 > dataSize {
				return 0, fmt.Errorf("seccomp: instruction %d loads at %d", pc, ins.K)
			}
			acc = le.Uint32(buf[ins.K:])
		case bpfAndK:
			acc &= ins.K
		case bpfJeqK, bpfJsetK:
			cond := acc == ins.K
			if ins.Code == bpfJsetK {
				cond = acc&ins.K != 0
			}
			if cond {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
		case bpfRetK:
			return Action(ins.K), nil
		default:
			return 0, fmt.Errorf("seccomp: instruction %d has opcode %#x", pc, ins.Code)
		}
	}
	return 0, fmt.Errorf("seccomp: the program runs off its end")
}
