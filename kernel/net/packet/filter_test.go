package packet

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestFilterChecks(t *testing.T) {
	retA := insn{code: ret | unix.BPF_A}
	for _, c := range []struct {
		name  string
		insns []insn
		ok    bool
	}{
		{"accept all", []insn{{code: ret | modeK, k: 0xffff}}, true},
		{"no return at the end", []insn{{code: ldW | unix.BPF_ABS}}, false},
		{"RET X", []insn{{code: ret | modeX}}, false},
		{"unknown opcode", []insn{{code: 0xff}, retA}, false},
		{"LD H IMM", []insn{{code: ldH | unix.BPF_IMM}, retA}, false},
		{"division by constant 0", []insn{{code: alu | unix.BPF_DIV | modeK}, retA}, false},
		{"modulo by constant 0", []insn{{code: alu | unix.BPF_MOD | modeK}, retA}, false},
		{"division by X", []insn{{code: alu | unix.BPF_DIV | modeX}, retA}, true},
		{"shift by 32", []insn{{code: alu | unix.BPF_LSH | modeK, k: 32}, retA}, false},
		{"shift by 31", []insn{{code: alu | unix.BPF_RSH | modeK, k: 31}, retA}, true},
		{"memory cell 16", []insn{{code: unix.BPF_ST, k: 16}, retA}, false},
		{"load before store", []insn{{code: unix.BPF_LD | unix.BPF_MEM, k: 3}, retA}, false},
		{"store then load", []insn{{code: unix.BPF_ST, k: 3}, {code: unix.BPF_LDX | unix.BPF_MEM, k: 3}, retA}, true},
		{"store on one path only", []insn{
			{code: jmp | unix.BPF_JEQ | modeK, jt: 1},
			{code: unix.BPF_ST, k: 1},
			{code: unix.BPF_LD | unix.BPF_MEM, k: 1},
			retA,
		}, false},
		{"store on both paths", []insn{
			{code: jmp | unix.BPF_JEQ | modeK, jt: 2},
			{code: unix.BPF_ST, k: 1},
			{code: jmp | unix.BPF_JA, k: 1},
			{code: unix.BPF_STX, k: 1},
			{code: unix.BPF_LD | unix.BPF_MEM, k: 1},
			retA,
		}, true},
		{"jump past the end", []insn{{code: jmp | unix.BPF_JEQ | modeK, jt: 1}, retA}, false},
		{"JA past the end", []insn{{code: jmp | unix.BPF_JA, k: 1}, retA}, false},
		{"jump to the end", []insn{{code: jmp | unix.BPF_JGT | modeX}, retA}, true},
		{"ancillary protocol", []insn{{code: ldH | unix.BPF_ABS, k: negK(skfAdOff + adProtocol)}, retA}, true},
		{"ancillary payload offset", []insn{{code: ldW | unix.BPF_ABS, k: negK(skfAdOff + adPayOffset)}, retA}, false},
		{"unknown ancillary", []insn{{code: ldW | unix.BPF_ABS, k: negK(skfAdOff + 100)}, retA}, false},
		{"network offset", []insn{{code: ldB | unix.BPF_ABS, k: negK(skfNetOff + 9)}, retA}, true},
	} {
		_, err := compile(filterBytes(c.insns...))
		if (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok %v", c.name, err, c.ok)
		}
		if err != nil && err != unix.EINVAL {
			t.Errorf("%s: %v, want EINVAL", c.name, err)
		}
	}
	if _, err := compile(nil); err != unix.EINVAL {
		t.Errorf("empty program: %v", err)
	}
	if _, err := compile(make([]byte, (unix.BPF_MAXINSNS+1)*sockFilterLen)); err != unix.EINVAL {
		t.Errorf("program too long: %v", err)
	}
}

// TestFilterRun runs programs on one frame: loads of every kind, the
// arithmetic, negative offsets, ancillary data, and the ends that
// return 0.
func TestFilterRun(t *testing.T) {
	frame := ether(ourMAC, peerMAC, unix.ETH_P_IP, udp4(peerIP, ourIP, 1234, 53, []byte("query")))
	raw := &filterFrame{frame: frame, data: 0, net: 14, proto: unix.ETH_P_IP, pkttype: unix.PACKET_HOST, ifindex: 2, hatype: unix.ARPHRD_ETHER}
	cooked := *raw
	cooked.data = 14
	for _, c := range []struct {
		name  string
		f     *filterFrame
		insns []insn
		want  uint32
	}{
		{"word at 0", raw, []insn{{code: ldW | unix.BPF_ABS, k: 0}, {code: ret | unix.BPF_A}}, 0x02000000},
		{"EtherType", raw, []insn{{code: ldH | unix.BPF_ABS, k: 12}, {code: ret | unix.BPF_A}}, unix.ETH_P_IP},
		{"cooked view starts at IP", &cooked, []insn{{code: ldB | unix.BPF_ABS, k: 0}, {code: ret | unix.BPF_A}}, 0x45},
		{"length", &cooked, []insn{{code: ldW | unix.BPF_LEN}, {code: ret | unix.BPF_A}}, uint32(len(frame) - 14)},
		{"UDP port by MSH and IND", &cooked, []insn{
			{code: ldxB | unix.BPF_MSH, k: 0},
			{code: ldH | unix.BPF_IND, k: 2},
			{code: ret | unix.BPF_A},
		}, 53},
		{"network offset", raw, []insn{{code: ldB | unix.BPF_ABS, k: negK(skfNetOff + 9)}, {code: ret | unix.BPF_A}}, unix.IPPROTO_UDP},
		{"link offset from a cooked view", &cooked, []insn{{code: ldH | unix.BPF_ABS, k: negK(skfLLOff + 12)}, {code: ret | unix.BPF_A}}, unix.ETH_P_IP},
		{"load past the end", raw, []insn{{code: ldW | unix.BPF_ABS, k: uint32(len(frame) - 3)}, {code: ret | modeK, k: 1}}, 0},
		{"ancillary", raw, []insn{
			{code: ldW | unix.BPF_ABS, k: negK(skfAdOff + adIfindex)}, {code: misc | unix.BPF_TAX},
			{code: ldW | unix.BPF_ABS, k: negK(skfAdOff + adHatype)}, {code: alu | unix.BPF_ADD | modeX},
			{code: ldxW | unix.BPF_LEN}, {code: misc | unix.BPF_TXA},
			{code: ldW | unix.BPF_ABS, k: negK(skfAdOff + adProtocol)},
			{code: ret | unix.BPF_A},
		}, unix.ETH_P_IP},
		{"arithmetic", raw, []insn{
			{code: unix.BPF_LD | unix.BPF_IMM, k: 100},
			{code: alu | unix.BPF_MUL | modeK, k: 3},
			{code: alu | unix.BPF_SUB | modeK, k: 1},
			{code: alu | unix.BPF_MOD | modeK, k: 7},
			{code: alu | unix.BPF_LSH | modeK, k: 4},
			{code: alu | unix.BPF_OR | modeK, k: 1},
			{code: ret | unix.BPF_A},
		}, (299%7)<<4 | 1},
		{"division by X = 0", raw, []insn{{code: unix.BPF_LDX | unix.BPF_IMM}, {code: alu | unix.BPF_DIV | modeX}, {code: ret | modeK, k: 9}}, 0},
		{"memory", raw, []insn{
			{code: unix.BPF_LD | unix.BPF_IMM, k: 7}, {code: unix.BPF_ST, k: 15},
			{code: unix.BPF_LD | unix.BPF_IMM, k: 1}, {code: unix.BPF_LDX | unix.BPF_MEM, k: 15},
			{code: misc | unix.BPF_TXA}, {code: ret | unix.BPF_A},
		}, 7},
		{"jumps", raw, []insn{
			{code: ldH | unix.BPF_ABS, k: 12},
			{code: jmp | unix.BPF_JSET | modeK, k: 0x0800, jt: 0, jf: 2},
			{code: jmp | unix.BPF_JGE | modeK, k: 0x0801, jt: 1, jf: 0},
			{code: ret | modeK, k: 96},
			{code: ret | modeK, k: 0},
		}, 96},
	} {
		p, err := compile(filterBytes(c.insns...))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := p.run(c.f); got != c.want {
			t.Errorf("%s: %#x, want %#x", c.name, got, c.want)
		}
	}
}

// negK is a load's constant for a negative offset.
func negK(off int) uint32 { return uint32(int32(off)) }

// FuzzFilter: no program a container attaches, on no frame, makes the
// checker or the interpreter panic or loop.
func FuzzFilter(f *testing.F) {
	f.Add(filterBytes(insn{code: ldxB | unix.BPF_MSH, k: 14}, insn{code: ldH | unix.BPF_IND, k: 16}, insn{code: ret | unix.BPF_A}), []byte("frame"), uint8(0))
	f.Add(filterBytes(insn{code: ldW | unix.BPF_ABS, k: negK(skfLLOff + 2)}, insn{code: ret | unix.BPF_A}), make([]byte, 60), uint8(14))
	f.Fuzz(func(t *testing.T, prog, frame []byte, data uint8) {
		p, err := compile(prog)
		if err != nil {
			return
		}
		d := min(int(data), len(frame))
		p.run(&filterFrame{frame: frame, data: d, net: d})
	})
}
