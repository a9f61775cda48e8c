package test

import (
	"syscall"
	"testing"
)

// shellCases are busybox sh scripts exercising processes and signals:
// pipelines, subshells, command substitution, background jobs and wait,
// traps, a shell killing itself. Each runs as `busybox sh -c SCRIPT`
// natively and in the sandbox; the native run must give Stdout and
// Native (so that a case cannot pass by failing the same way twice), the
// sandbox the same as the native run.
var shellCases = []struct {
	name   string
	script string
	stdout string
	native exitStatus
}{
	// Pipelines. busybox runs an applet that is not a shell builtin (wc,
	// sort, sleep, cat...) by executing /proc/self/exe; the _builtins
	// cases need no exec at all.
	{"pipeline", `echo one two three | wc -w`, "3\n", exitStatus{}},
	{"pipeline_builtins", `echo one two | { read a b; echo "$b $a"; }`, "two one\n", exitStatus{}},
	{"pipeline_builtins_three", `printf 'x\ny\n' | while read l; do echo "$l$l"; done | { read a; read b; echo "$b-$a"; }`, "yy-xx\n", exitStatus{}},
	{"pipeline_long", `seq 1 200 | sort -rn | head -n 3 | tr '\n' ' '; echo`, "200 199 198 \n", exitStatus{}},
	{"pipeline_status", `false | true; echo $?; true | false; echo $?`, "0\n1\n", exitStatus{}},
	{"pipeline_while_read", `printf 'a\nb\nc\n' | while read l; do echo "<$l>"; done`, "<a>\n<b>\n<c>\n", exitStatus{}},
	{"pipeline_stderr", `ls /nonexistent-magawa-test 2>&1 | wc -l`, "1\n", exitStatus{}},
	{"heredoc", "cat <<EOF\nline one\nline $((1+1))\nEOF", "line one\nline 2\n", exitStatus{}},

	// Subshells.
	{"subshell_status", `(echo in subshell; exit 3); echo "status $?"`, "in subshell\nstatus 3\n", exitStatus{}},
	{"subshell_isolated", `x=1; (x=2; cd /etc); echo $x; pwd`, "1\n/\n", exitStatus{}},
	{"subshell_same_pid_var", `a=$$; b=$(echo $$); [ "$a" = "$b" ] && echo '$$ same in a subshell'`, "$$ same in a subshell\n", exitStatus{}},
	{"nested_shell", `/bin/busybox sh -c 'exit 7'; echo $?`, "7\n", exitStatus{}},

	// Command substitution.
	{"cmdsubst", `x=$(echo hello; echo world); echo "[$x]"`, "[hello\nworld]\n", exitStatus{}},
	{"cmdsubst_nested", `echo $(echo $(echo deep))`, "deep\n", exitStatus{}},
	{"cmdsubst_backquote", "echo `expr 6 '*' 7`", "42\n", exitStatus{}},
	{"cmdsubst_status", `x=$(exit 4); echo $?`, "4\n", exitStatus{}},

	// Background jobs and wait.
	{"background_wait", `(sleep 0.05; echo bg) & wait; echo after`, "bg\nafter\n", exitStatus{}},
	{"background_wait_builtins", `(echo bg) & wait; echo after`, "bg\nafter\n", exitStatus{}},
	{"background_status", `(exit 5) & wait $!; echo $?`, "5\n", exitStatus{}},
	{"background_many", `for i in 1 2 3 4 5; do (exit $i) & pids="$pids $!"; done; s=0; for p in $pids; do wait $p; s=$((s+$?)); done; echo $s`, "15\n", exitStatus{}},
	{"background_killed", `sleep 10 & kill $!; wait $!; echo $?`, "143\n", exitStatus{}},
	{"background_pid", `sleep 0.01 & [ $! -gt 0 ] && [ $! != $$ ] && echo 'child pid > 0 and not ours: yes'; wait`, "child pid > 0 and not ours: yes\n", exitStatus{}},

	// Signals and traps.
	{"trap_usr1", `trap 'echo got' USR1; kill -USR1 $$; echo after`, "got\nafter\n", exitStatus{}},
	{"kill_term_self", `echo before; kill -TERM $$; echo not reached`, "before\n", exitStatus{Signal: syscall.SIGTERM}},
	{"kill_kill_self", `kill -KILL $$; echo not reached`, "", exitStatus{Signal: syscall.SIGKILL}},
	{"trap_term_exit", `trap 'echo term; exit 7' TERM; kill -TERM $$; echo not reached`, "term\n", exitStatus{Code: 7}},
	{"trap_exit", `trap 'echo bye' EXIT; echo hi`, "hi\nbye\n", exitStatus{}},
	{"trap_ignore", `trap '' USR2; kill -USR2 $$; echo ignored`, "ignored\n", exitStatus{}},
	{"kill_probe", `kill -0 $$ && echo alive`, "alive\n", exitStatus{}},
	// The subshell tells the shell it is ready (its trap is set) with
	// SIGUSR1 ($$ is the parent shell's pid in a subshell).
	{"kill_subshell_from_parent", `trap 'ready=1' USR1; (trap 'echo child got TERM; exit 9' TERM; kill -USR1 $$; while :; do sleep 0.01; done) & p=$!; while [ -z "$ready" ]; do sleep 0.01; done; kill -TERM $p; wait $p; echo "status $?"`, "child got TERM\nstatus 9\n", exitStatus{}},

	// exec and exit codes.
	{"exec_replaces", `exec /bin/busybox echo replaced; echo not reached`, "replaced\n", exitStatus{}},
	{"exit_code", `exit 300`, "", exitStatus{Code: 300 & 0xff}},
	{"and_or", `false || echo fallback && echo chained`, "fallback\nchained\n", exitStatus{}},
}

// TestShell runs shellCases with busybox sh natively and in the sandbox,
// on every platform.
func TestShell(t *testing.T) {
	magawaBin(t)
	requireStaticBusybox(t)
	forEachPlatform(t, func(t *testing.T, platform string) {
		for _, tc := range shellCases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				native := runNative(t, busybox, "sh", "-c", tc.script)
				if string(native.Stdout) != tc.stdout || native.Status != tc.native {
					t.Fatalf("native busybox sh -c %q: %v, stdout %q; want %v, stdout %q\nstderr:\n%s",
						tc.script, native.Status, native.Stdout, tc.native, tc.stdout, native.Stderr)
				}
				compareResults(t, native, runSandbox(t, platform, busybox, "sh", "-c", tc.script))
			})
		}
	})
}
