package loader

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// parsedStack is an initial stack read back from memory.
type parsedStack struct {
	argv, envp         []string
	argvPtrs, envpPtrs []uint64
	auxv               []AuxEntry // without AT_NULL
	auxvStart, auxvEnd uintptr    // AT_NULL included
}

func parseStack(mem *fakeMem, sp uintptr) (*parsedStack, error) {
	var ps parsedStack
	argc, err := mem.readUint64(sp)
	if err != nil {
		return nil, err
	}
	if argc > 1<<20 {
		return nil, fmt.Errorf("argc %d", argc)
	}
	a := sp + 8
	for i := uint64(0); i < argc; i++ {
		p, err := mem.readUint64(a)
		if err != nil {
			return nil, err
		}
		s, err := mem.readString(uintptr(p))
		if err != nil {
			return nil, fmt.Errorf("argv[%d]: %v", i, err)
		}
		ps.argv, ps.argvPtrs = append(ps.argv, s), append(ps.argvPtrs, p)
		a += 8
	}
	if p, err := mem.readUint64(a); err != nil || p != 0 {
		return nil, fmt.Errorf("argv not NULL-terminated: %#x %v", p, err)
	}
	a += 8
	for {
		p, err := mem.readUint64(a)
		if err != nil {
			return nil, err
		}
		a += 8
		if p == 0 {
			break
		}
		s, err := mem.readString(uintptr(p))
		if err != nil {
			return nil, fmt.Errorf("envp: %v", err)
		}
		ps.envp, ps.envpPtrs = append(ps.envp, s), append(ps.envpPtrs, p)
	}
	ps.auxvStart = a
	for {
		k, err := mem.readUint64(a)
		if err != nil {
			return nil, err
		}
		v, err := mem.readUint64(a + 8)
		if err != nil {
			return nil, err
		}
		a += 16
		if k == AT_NULL {
			break
		}
		ps.auxv = append(ps.auxv, AuxEntry{k, v})
	}
	ps.auxvEnd = a
	return &ps, nil
}

func (ps *parsedStack) aux(key uint64) (uint64, bool) {
	for _, e := range ps.auxv {
		if e.Key == key {
			return e.Value, true
		}
	}
	return 0, false
}

const testTop = 0x7fe0_0000_0000

// stackMem returns a fake memory with [top-size, top) mapped read-write.
// The top may be a host process's, beyond platform.MaxUserAddress.
func stackMem(t *testing.T, top, size uintptr) *fakeMem {
	t.Helper()
	mem := newFakeMem()
	mem.maxAddr = 0x7fff_ffff_f000 // Linux's TASK_SIZE
	if err := mem.MapFixed(top-size, size, unix.PROT_READ|unix.PROT_WRITE, "[stack]"); err != nil {
		t.Fatal(err)
	}
	return mem
}

func TestSetupStackLayout(t *testing.T) {
	argv := []string{"/bin/prog", "-x", "hello world", ""}
	envv := []string{"A=1", "PATH=/bin:/usr/bin", "E="}
	execfn := "/bin/prog"
	var random [16]byte
	for i := range random {
		random[i] = byte(0xa0 + i)
	}
	img := &Image{Entry: 0x401000, PhdrAddr: 0x400040, Phnum: 5, Phent: 56}
	auxv := append(ImageAuxv(img), AuxEntry{AT_UID, 1000}, AuxEntry{AT_HWCAP, 0x178bfbff})
	// Vary the string sizes so every alignment case comes up.
	for pad := 0; pad < 16; pad++ {
		t.Run(fmt.Sprint("pad", pad), func(t *testing.T) {
			argv := append(append([]string{}, argv...), strings.Repeat("p", pad))
			mem := stackMem(t, testTop, 1<<20)
			st, err := WriteStack(mem, StackParams{
				Top: testTop, Argv: argv, Envv: envv, Auxv: auxv, ExecFn: execfn, Random: random,
			})
			if err != nil {
				t.Fatal(err)
			}
			sp, err2 := SetupStack(stackMem(t, testTop, 1<<20), testTop, argv, envv, auxv, execfn, random)
			if err2 != nil || sp != st.SP {
				t.Fatalf("SetupStack = %#x, %v; WriteStack SP %#x", sp, err2, st.SP)
			}
			if st.SP%16 != 0 {
				t.Errorf("sp %#x not 16-byte aligned", st.SP)
			}
			ps, err := parseStack(mem, st.SP)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(ps.argv) != fmt.Sprint(argv) || fmt.Sprint(ps.envp) != fmt.Sprint(envv) {
				t.Errorf("argv %q envp %q", ps.argv, ps.envp)
			}
			// Strings are contiguous, argv then envp then execfn, which
			// ends 8 bytes below the top, followed by zeros.
			next := uint64(st.ArgStart)
			for i, p := range ps.argvPtrs {
				if p != next {
					t.Errorf("argv[%d] at %#x, want %#x", i, p, next)
				}
				next += uint64(len(argv[i])) + 1
			}
			if uint64(st.ArgEnd) != next || st.EnvStart != st.ArgEnd {
				t.Errorf("ArgEnd %#x EnvStart %#x, want %#x", st.ArgEnd, st.EnvStart, next)
			}
			for i, p := range ps.envpPtrs {
				if p != next {
					t.Errorf("envp[%d] at %#x, want %#x", i, p, next)
				}
				next += uint64(len(envv[i])) + 1
			}
			if uint64(st.EnvEnd) != next {
				t.Errorf("EnvEnd %#x, want %#x", st.EnvEnd, next)
			}
			fn, _ := ps.aux(AT_EXECFN)
			if fn != next || next+uint64(len(execfn))+1 != testTop-8 {
				t.Errorf("AT_EXECFN %#x, strings end %#x, top %#x", fn, next, uint64(testTop))
			}
			if s, _ := mem.readString(uintptr(fn)); s != execfn {
				t.Errorf("AT_EXECFN string %q", s)
			}
			if z := mustRead(t, mem, testTop-8, 8); !bytes.Equal(z, make([]byte, 8)) {
				t.Errorf("top word = %x", z)
			}
			plat, _ := ps.aux(AT_PLATFORM)
			if plat != uint64(st.ArgStart&^15)-7 {
				t.Errorf("AT_PLATFORM at %#x, want just below the aligned strings (%#x)", plat, st.ArgStart&^15)
			}
			if s, _ := mem.readString(uintptr(plat)); s != "x86_64" {
				t.Errorf("AT_PLATFORM string %q", s)
			}
			rnd, _ := ps.aux(AT_RANDOM)
			if rnd != plat-16 {
				t.Errorf("AT_RANDOM at %#x, want %#x", rnd, plat-16)
			}
			if got := mustRead(t, mem, uintptr(rnd), 16); !bytes.Equal(got, random[:]) {
				t.Errorf("AT_RANDOM bytes %x", got)
			}
			// The tables end below the random bytes, by less than 16
			// bytes of padding.
			if ps.auxvEnd > uintptr(rnd) || uintptr(rnd)-ps.auxvEnd >= 16 {
				t.Errorf("auxv ends at %#x, random bytes at %#x", ps.auxvEnd, rnd)
			}
			wantAux := append(append([]AuxEntry{}, auxv...), AuxEntry{AT_RANDOM, rnd}, AuxEntry{AT_EXECFN, fn}, AuxEntry{AT_PLATFORM, plat})
			if fmt.Sprint(ps.auxv) != fmt.Sprint(wantAux) {
				t.Errorf("auxv = %v, want %v", ps.auxv, wantAux)
			}
			if fmt.Sprint(st.Auxv) != fmt.Sprint(append(wantAux, AuxEntry{})) {
				t.Errorf("Stack.Auxv = %v", st.Auxv)
			}
		})
	}
}

func TestSetupStackEmptyArgv(t *testing.T) {
	mem := stackMem(t, testTop, 1<<16)
	sp, err := SetupStack(mem, testTop, nil, nil, nil, "/x", [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := parseStack(mem, sp)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps.argv) != 1 || ps.argv[0] != "" || len(ps.envp) != 0 {
		t.Errorf("argv %q envp %q, want [\"\"] []", ps.argv, ps.envp)
	}
}

func TestSetupStackErrors(t *testing.T) {
	long := strings.Repeat("x", MaxArgStrlen-1) // the longest allowed
	for _, tc := range []struct {
		name   string
		p      StackParams
		memTop uintptr
		want   unix.Errno
	}{
		{"argument too long", StackParams{Argv: []string{long + "x"}}, testTop, unix.E2BIG},
		{"environment string too long", StackParams{Argv: []string{"a"}, Envv: []string{long + "x"}}, testTop, unix.E2BIG},
		{"execfn too long", StackParams{Argv: []string{"a"}, ExecFn: long + "x"}, testTop, unix.E2BIG},
		{"total too large", StackParams{Argv: []string{long, long, long, long, long, long, long, long, long, long, long, long, long, long, long, long}}, testTop, unix.E2BIG},
		{"total too large for a small limit", StackParams{Argv: []string{long, "y"}, ArgLimit: ArgMax}, testTop, unix.E2BIG},
		{"NUL in a string", StackParams{Argv: []string{"a\x00b"}}, testTop, unix.EINVAL},
		{"AT_RANDOM given", StackParams{Argv: []string{"a"}, Auxv: []AuxEntry{{AT_RANDOM, 1}}}, testTop, unix.EINVAL},
		{"AT_NULL given", StackParams{Argv: []string{"a"}, Auxv: []AuxEntry{{AT_NULL, 0}}}, testTop, unix.EINVAL},
		{"stack not mapped", StackParams{Argv: []string{"a"}}, testTop - 1<<20, unix.EFAULT},
		{"top too low", StackParams{Argv: []string{"a"}, Top: 0x40}, testTop, unix.EFAULT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := stackMem(t, tc.memTop, 8<<20)
			if tc.p.Top == 0 {
				tc.p.Top = testTop
			}
			_, err := WriteStack(mem, tc.p)
			if !errors.Is(err, tc.want) {
				t.Fatalf("WriteStack: %v, want %v", err, tc.want)
			}
		})
	}

	// Just fitting: 15 of the longest strings and more than ArgMax.
	args := []string{long, long, long, long, long, long, long, long, long, long, long, long, long, long, long}
	mem := stackMem(t, testTop, 8<<20)
	sp, err := SetupStack(mem, testTop, args, []string{"A=1"}, nil, "/x", [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := parseStack(mem, sp)
	if err != nil || len(ps.argv) != 15 || ps.argv[14] != long {
		t.Fatalf("parse: %v", err)
	}
}

func TestCheckArgsBoundary(t *testing.T) {
	// Each empty environment string costs its NUL and a pointer; argv
	// {"a"} costs 2+8 bytes and execfn "" one byte.
	for _, limit := range []uint64{DefaultArgLimit, ArgMax, ArgLimit(64 << 20)} {
		n := int((limit - 11) / 9)
		envv := make([]string, n)
		if err := CheckArgs([]string{"a"}, envv, "", limit); err != nil {
			t.Errorf("limit %d, %d strings: %v", limit, n, err)
		}
		if err := CheckArgs([]string{"a"}, append(envv, ""), "", limit); !errors.Is(err, unix.E2BIG) {
			t.Errorf("limit %d, %d strings: %v, want E2BIG", limit, n+1, err)
		}
	}
	// An empty argv is charged for the "" added in its place.
	if err := CheckArgs(nil, nil, "", 8+2); err != nil {
		t.Errorf("empty argv: %v", err)
	}
	if err := CheckArgs(nil, nil, "", 8+1); !errors.Is(err, unix.E2BIG) {
		t.Errorf("empty argv, no room: %v", err)
	}
}

func TestArgLimit(t *testing.T) {
	for _, tc := range []struct{ rlimit, want uint64 }{
		{8 << 20, 2 << 20},
		{0, ArgMax},
		{256 << 10, ArgMax},
		{16 << 20, 4 << 20},
		{1 << 40, 6 << 20},
		{^uint64(0), 6 << 20}, // RLIM_INFINITY
	} {
		if got := ArgLimit(tc.rlimit); got != tc.want {
			t.Errorf("ArgLimit(%d) = %d, want %d", tc.rlimit, got, tc.want)
		}
	}
	if ArgLimit(DefaultStackLimit) != DefaultArgLimit {
		t.Error("DefaultArgLimit is not ArgLimit(DefaultStackLimit)")
	}
}

// stackDumper prints its initial stack pointer, the top of its stack
// mapping, and every byte between them.
const stackDumper = `#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
	unsigned long sp = (unsigned long)argv - 8, top = 0, lo, hi;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, "[stack]") && sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			top = hi;
	printf("%lx %lx\n", sp, top);
	for (unsigned char *p = (unsigned char *)sp; p < (unsigned char *)top; p++)
		printf("%02x", *p);
	printf("\n");
	return 0;
}
`

// TestSetupStackMatchesLinux runs a static program on the host with
// address randomization off (setarch -R, which also turns off the random
// gap of arch_align_stack()), then writes a stack with the same inputs
// and top: everything but the order of the auxv entries must be the same
// bytes.
func TestSetupStackMatchesLinux(t *testing.T) {
	setarch, err := exec.LookPath("setarch")
	if err != nil {
		t.Skip("needs setarch (util-linux)")
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("needs gcc")
	}
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "dump.c"), filepath.Join(dir, "dump")
	if err := os.WriteFile(src, []byte(stackDumper), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(gcc, "-static", "-O1", "-o", bin, src).CombinedOutput(); err != nil {
		t.Skipf("gcc -static cannot build (static libc missing?): %v\n%s", err, b)
	}
	for _, args := range [][]string{
		{"one"},
		{"one", "two words", "", strings.Repeat("z", 1000)},
		{"a", "bb", "ccc"},
	} {
		cmd := exec.Command(setarch, "x86_64", "-R", bin)
		cmd.Args = append(cmd.Args, args...)
		cmd.Env = []string{"A=1", "EMPTY=", "LONGER=" + strings.Repeat("e", len(args)*7)}
		out, err := cmd.Output()
		if err != nil {
			t.Skipf("cannot run with randomization off: %v", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(nil, 16<<20)
		var sp, top uintptr
		var raw []byte
		if sc.Scan() {
			fmt.Sscanf(sc.Text(), "%x %x", &sp, &top)
		}
		if sc.Scan() {
			raw, err = hex.DecodeString(sc.Text())
		}
		if sp == 0 || top == 0 || err != nil || uintptr(len(raw)) != top-sp {
			t.Fatalf("bad dump (sp %#x top %#x, %d bytes, %v):\n%.200s", sp, top, len(raw), err, out)
		}

		native := stackMem(t, top, 1<<20)
		if err := native.WriteForce(sp, raw); err != nil {
			t.Fatal(err)
		}
		np, err := parseStack(native, sp)
		if err != nil {
			t.Fatal(err)
		}
		var p StackParams
		p.Top, p.Argv, p.Envv = top, np.argv, np.envp
		for _, e := range np.auxv {
			switch e.Key {
			case AT_RANDOM:
				copy(p.Random[:], mustRead(t, native, uintptr(e.Value), 16))
			case AT_EXECFN:
				p.ExecFn, _ = native.readString(uintptr(e.Value))
			case AT_PLATFORM:
			default:
				p.Auxv = append(p.Auxv, e)
			}
		}
		ours := stackMem(t, top, 1<<20)
		st, err := WriteStack(ours, p)
		if err != nil {
			t.Fatal(err)
		}
		if st.SP != sp {
			t.Fatalf("args %q: sp %#x, Linux %#x (top %#x)", args, st.SP, sp, top)
		}
		mine := mustRead(t, ours, sp, top-sp)
		a, b := np.auxvStart-sp, np.auxvEnd-sp
		if !bytes.Equal(mine[:a], raw[:a]) {
			t.Errorf("args %q: argc/argv/envp differ from Linux", args)
		}
		if !bytes.Equal(mine[b:], raw[b:]) {
			t.Errorf("args %q: strings differ from Linux:\nours  %x\nlinux %x", args, mine[b:], raw[b:])
		}
		op, err := parseStack(ours, sp)
		if err != nil {
			t.Fatal(err)
		}
		if op.auxvEnd != np.auxvEnd || !sameEntries(op.auxv, np.auxv) {
			t.Errorf("args %q: auxv\nours  %v\nlinux %v", args, op.auxv, np.auxv)
		}
	}
}

func sameEntries(a, b []AuxEntry) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[AuxEntry]int{}
	for _, e := range a {
		count[e]++
	}
	for _, e := range b {
		count[e]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}
