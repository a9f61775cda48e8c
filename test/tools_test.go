package test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requireHostTool skips (or, in CI, fails) unless the host has the
// dynamically linked program name: these tests run the host's own
// tools in the sandbox, with the host's root as the image.
func requireHostTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		skip(t, "needs %s on the host (apt-get install it): %v", name, err)
	}
	return p
}

// toolScript runs a bash script in the sandbox and returns its stdout.
func toolScript(t *testing.T, platform, script string) string {
	t.Helper()
	r := run(t, runSpec{Argv: sandboxArgv(t, platform, nil, "/bin/bash", "-c", script)})
	if r.Status != (exitStatus{}) {
		t.Fatalf("bash -c %q in the sandbox: %v\nstdout:\n%s\nstderr:\n%s", script, r.Status, r.Stdout, r.Stderr)
	}
	return string(r.Stdout)
}

// TestHostTools runs real, dynamically linked host programs through
// `magawa do` with the host's root as the image: python3 with the
// standard library's heavy users, bash with globbing and redirections,
// find over /usr/lib against the native count, tar round trips, sort,
// and gcc compiling and linking a program that then runs, all inside.
// Everything they write stays in the sandbox.
func TestHostTools(t *testing.T) {
	magawaBin(t)
	forEachPlatform(t, func(t *testing.T, platform string) {
		t.Run("python3", func(t *testing.T) {
			t.Parallel()
			py := requireHostTool(t, "python3")
			script := `
import json, hashlib, sqlite3, threading, subprocess, tempfile, os
db = sqlite3.connect("/tmp/magawa-tools-test.db")
db.execute("create table t(x)")
db.executemany("insert into t values (?)", [(i,) for i in range(1000)])
db.commit()
print("sqlite", db.execute("select sum(x) from t").fetchone()[0])
with tempfile.NamedTemporaryFile("w+", dir="/tmp", delete=False) as f:
    f.write("temp data")
print("tempfile", open(f.name).read())
os.unlink(f.name)
out = []
ts = [threading.Thread(target=lambda i=i: out.append(hashlib.sha256(str(i).encode()).hexdigest())) for i in range(8)]
[t.start() for t in ts]
[t.join() for t in ts]
print("threads", len(set(out)))
print(subprocess.run(["sh", "-c", "echo child $((6*7))"], capture_output=True, text=True).stdout.strip())
print(json.dumps({"sha256": hashlib.sha256(b"magawa").hexdigest()[:16]}, sort_keys=True))
`
			r := run(t, runSpec{Argv: sandboxArgv(t, platform, nil, py, "-c", script)})
			want := "sqlite 499500\ntempfile temp data\nthreads 8\nchild 42\n{\"sha256\": \"" + sha256Hex("magawa")[:16] + "\"}\n"
			if string(r.Stdout) != want || r.Status != (exitStatus{}) {
				t.Errorf("python3 in the sandbox: %v\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", r.Status, r.Stdout, want, r.Stderr)
			}
			if _, err := os.Stat("/tmp/magawa-tools-test.db"); err == nil {
				t.Errorf("the sandbox's sqlite database reached the host's /tmp")
			}
		})

		t.Run("python3_http", func(t *testing.T) {
			// Python's http.server and urllib over loopback, by name
			// (localhost from /etc/hosts) and by address, IPv4 and IPv6.
			t.Parallel()
			requireHostTool(t, "python3")
			script := `cd /usr/share/doc
python3 -m http.server 8000 --bind :: >/dev/null 2>&1 &
for i in $(seq 100); do python3 -c 'import socket; socket.create_connection(("::1", 8000)).close()' 2>/dev/null && break; sleep 0.1; done
for host in 127.0.0.1 '[::1]' localhost; do
  python3 -c 'import sys, urllib.request; r = urllib.request.urlopen("http://" + sys.argv[1] + ":8000/bash/copyright"); print(sys.argv[1], r.status, len(r.read()))' "$host"
done
kill %1`
			got := toolScript(t, platform, script)
			fi, err := os.Stat("/usr/share/doc/bash/copyright")
			if err != nil {
				skip(t, "needs /usr/share/doc/bash/copyright: %v", err)
			}
			want := fmt.Sprintf("127.0.0.1 200 %[1]d\n[::1] 200 %[1]d\nlocalhost 200 %[1]d\n", fi.Size())
			if got != want {
				t.Errorf("python3 http.server and urllib in the sandbox printed:\n%s\nwant:\n%s", got, want)
			}
		})

		t.Run("bash", func(t *testing.T) {
			t.Parallel()
			script := `shopt -s nullglob; files=(/etc/*.conf); echo "globbed ${#files[@]}"
cd /tmp && echo one > magawa-a.txt && echo two >> magawa-a.txt && wc -l < magawa-a.txt
{ echo out; echo err >&2; } 2>&1 > /dev/null | cat
exec 3> /tmp/magawa-fd3 && echo via-fd3 >&3 && exec 3>&- && cat /tmp/magawa-fd3
cat <<< "here-string" ; cat <(echo process-substitution)`
			got := toolScript(t, platform, script)
			native, err := exec.Command("/bin/bash", "-c", `shopt -s nullglob; files=(/etc/*.conf); echo "globbed ${#files[@]}"`).Output()
			if err != nil {
				t.Fatal(err)
			}
			want := string(native) + "2\nerr\nvia-fd3\nhere-string\nprocess-substitution\n"
			if got != want {
				t.Errorf("bash in the sandbox printed:\n%s\nwant:\n%s", got, want)
			}
		})

		t.Run("find_usr_lib", func(t *testing.T) {
			t.Parallel()
			native, err := exec.Command("/bin/bash", "-c", "find /usr/lib -type f | wc -l").Output()
			if err != nil {
				t.Fatal(err)
			}
			if got := toolScript(t, platform, "find /usr/lib -type f | wc -l"); got != string(native) {
				t.Errorf("find /usr/lib -type f | wc -l: sandbox %q, native %q", got, native)
			}
		})

		t.Run("tar_sort", func(t *testing.T) {
			t.Parallel()
			requireHostTool(t, "tar")
			got := toolScript(t, platform, `set -e; cd /tmp; rm -rf magawa-tar; mkdir -p magawa-tar/src
cp -a /etc/apt magawa-tar/src/ && ln -s apt magawa-tar/src/link
tar czf magawa-tar/a.tgz -C magawa-tar src && mkdir magawa-tar/x && tar xzf magawa-tar/a.tgz -C magawa-tar/x
diff -r magawa-tar/src magawa-tar/x/src && echo round-trip
printf 'pear\napple\nfig\n' | sort | tr '\n' ' '; echo`)
			if got != "round-trip\napple fig pear \n" {
				t.Errorf("tar and sort in the sandbox printed %q", got)
			}
		})

		t.Run("gcc", func(t *testing.T) {
			t.Parallel()
			requireHostTool(t, "gcc")
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			src := filepath.Join(dir, "hello.c")
			if err := os.WriteFile(src, []byte("#include <stdio.h>\nint main(void) { printf(\"built in the sandbox: %d\\n\", 6 * 7); return 0; }\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			exe := filepath.Join(dir, "hello")
			got := toolScript(t, platform, "gcc -O2 -Wall -o "+exe+" "+src+" && "+exe)
			if got != "built in the sandbox: 42\n" {
				t.Errorf("gcc in the sandbox: %q", got)
			}
			if _, err := os.Stat(exe); err == nil {
				t.Errorf("the program gcc built in the sandbox reached the host")
			}
		})

		t.Run("writes_stay_inside", func(t *testing.T) {
			t.Parallel()
			got := toolScript(t, platform, `echo sandbox > /etc/magawa-written && cat /etc/magawa-written
mkdir -p /usr/magawa-dir && touch /usr/magawa-dir/f && ls /usr/magawa-dir
echo x > /root/magawa-root && cat /root/magawa-root`)
			if got != "sandbox\nf\nx\n" {
				t.Errorf("writes inside the sandbox: %q", got)
			}
			for _, p := range []string{"/etc/magawa-written", "/usr/magawa-dir", "/root/magawa-root"} {
				if _, err := os.Stat(p); err == nil {
					t.Errorf("%s reached the host", p)
				}
			}
		})

		t.Run("ls_proc_self", func(t *testing.T) {
			t.Parallel()
			got := toolScript(t, platform, "ls -la /proc/self/ | awk '{print $9}' | grep -x -e exe -e fd -e maps -e status -e mountinfo | sort | tr '\\n' ' '")
			if strings.TrimSpace(got) != "exe fd maps mountinfo status" {
				t.Errorf("ls -la /proc/self/: %q", got)
			}
		})
	})
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
