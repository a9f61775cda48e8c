package systrap

import (
	"bytes"
	"debug/elf"
	"os/exec"
	"path/filepath"
	"testing"
)

// The stub's bytes are the assembly of testdata/stub.S: checked where
// binutils' as is installed (the build itself needs no assembler).
func TestStubCodeMatchesSource(t *testing.T) {
	as, err := exec.LookPath("as")
	if err != nil {
		t.Skip("needs binutils' as to assemble testdata/stub.S")
	}
	obj := filepath.Join(t.TempDir(), "stub.o")
	if out, err := exec.Command(as, "--64", "-o", obj, "testdata/stub.S").CombinedOutput(); err != nil {
		t.Fatalf("as: %v\n%s", err, out)
	}
	f, err := elf.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	text, err := f.Section(".text").Data()
	if err != nil {
		t.Fatal(err)
	}
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{
		"syscallSite": offSyscallSite, "processCloneSite": offProcessCloneSite,
		"threadCloneSite": offThreadCloneSite, "initTrap": offInitTrap, "handler": offHandler,
		"wakeSite": offWakeSite, "waitSite": offWaitSite, "sigreturnSite": offSigreturnSite,
		"exitSite": offExitSite, "restorer": offRestorer, "handled": offHandled,
		"allmask": offAllMask, "zeromask": offZeroMask, "act": offAct, "ignact": offIgnAct,
		"baseprog": offBaseProg, "threadprog": offThreadProg, "caphdr": offCapHdr,
		"capdata": offCapData, "end": offFilters,
	}
	for _, s := range syms {
		if off, ok := want[s.Name]; ok {
			if s.Value != off {
				t.Errorf("%s at %#x in the source, %#x in stub.go", s.Name, s.Value, off)
			}
			delete(want, s.Name)
		}
	}
	for name := range want {
		t.Errorf("no symbol %s in testdata/stub.S", name)
	}
	if len(text) < offHandled || !bytes.Equal(text[:offHandled], stubCode[:offHandled]) {
		t.Errorf("stubCode differs from the assembly of testdata/stub.S")
	}
}
