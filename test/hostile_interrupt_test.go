package test

import (
	"testing"
)

// TestHostileBlockedInterrupt runs programs/sandbox_only/blocked_interrupt.c:
// a child that blocks the platform's interrupt signal in its host thread
// with a forged rt_sigreturn frame and then spins must still die when
// its parent kills it, and the sandbox must carry on and exit cleanly.
func TestHostileBlockedInterrupt(t *testing.T) {
	magawaBin(t)
	progs := programs(t)
	forEachPlatform(t, func(t *testing.T, platform string) {
		r := runSandbox(t, platform, progs["sandbox_only/blocked_interrupt"].Path)
		t.Logf("stdout:\n%s\nstderr:\n%s", r.Stdout, r.Stderr)
		if r.Status != (exitStatus{}) {
			t.Errorf("status %v, want 0", r.Status)
		}
		want := []string{"kill: ok", "child: killed by signal 9", "parent: alive"}
		if platform == "systrap" {
			// The attack needs the stub's own rt_sigreturn.
			want = append([]string{"site: stub"}, want...)
		}
		checkLines(t, r.Stdout, want)
	})
}
