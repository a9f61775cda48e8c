package suite

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Workspace is what every runtime shares: one OCI bundle's root file
// system (the host's /usr bind-mounted read-only, the probes and their
// data in /bench), a volume bind-mounted at /vol, each runtime's state
// directory, and the veth. Paths inside a sandbox are the same for every
// container runtime; Sample.P gives the host's path for native runs.
type Workspace struct {
	Dir    string // the root of it all, removed by Close
	Rootfs string // the bundle's root file system
	Vol    string // the volume's host directory
	Repo   string // the magawa repository (bench/probes, test/testdata)
	Quick  bool

	// Veth is the network namespace and veth of the network cases; nil,
	// with VethErr, when it could not be made.
	Veth    *Veth
	VethErr error
	// LoopbackNS is the network namespace of the other containers (lo
	// only, up); empty when it could not be made, and each container
	// gets a namespace of its runtime's making.
	LoopbackNS string

	// Facts are what the report says about the workload (sizes).
	Facts []string

	bundles  string
	template []byte // config.json of `spec`, the starting point of each bundle
	seq      atomic.Int64

	mu     sync.Mutex
	live   map[string]*Runtime // containers not deleted yet, by ID
	closed sync.Once
}

// Sizes of the workloads, full and quick.
type sizes struct {
	seqMiB, pipeMiB, tcpMiB, blobMiB int
	srcTree                          string // a directory of GOROOT/src
	scale                            int    // divides the probes' iteration counts
}

func (w *Workspace) sizes() sizes {
	if w.Quick {
		return sizes{seqMiB: 32, pipeMiB: 32, tcpMiB: 32, blobMiB: 5, srcTree: "net", scale: 10}
	}
	return sizes{seqMiB: 256, pipeMiB: 256, tcpMiB: 256, blobMiB: 50, srcTree: "crypto", scale: 1}
}

// NewWorkspace makes the workspace in a fresh directory under parent
// (the system's temporary directory when empty), having removed what
// killed runs left there: it lays out the root file system and the
// volume, copies magawa, compiles the probes, builds the HTTP server,
// writes the data the cases read, takes the bundles' starting
// config.json from the first container runtime's `spec`, gives each
// runtime its state directory, and makes the veth and the loopback
// namespace. Quick makes the workloads smaller.
func NewWorkspace(ctx context.Context, parent, repo string, quick bool, rts []*Runtime, log func(string, ...any)) (*Workspace, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	sweep(parent)
	// The process's ID in the name: sweep recognizes a workspace whose
	// run was killed.
	dir, err := os.MkdirTemp(parent, fmt.Sprintf("magawa-bench-%d-", os.Getpid()))
	if err != nil {
		return nil, err
	}
	w := &Workspace{
		Dir: dir, Rootfs: filepath.Join(dir, "rootfs"), Vol: filepath.Join(dir, "vol"),
		Repo: repo, Quick: quick, bundles: filepath.Join(dir, "bundles"),
		live: map[string]*Runtime{},
	}
	ok := false
	defer func() {
		if !ok {
			w.Close()
		}
	}()
	steps := []struct {
		what string
		do   func(context.Context) error
	}{
		{"root file system", w.layout},
		{"magawa", func(context.Context) error { return w.copyMagawa(rts) }},
		{"probes", w.buildProbes},
		{"HTTP server", w.buildHTTPServer},
		{"data", w.writeData},
		{"bundle template", func(ctx context.Context) error { return w.makeTemplate(ctx, rts) }},
		{"state directories", func(context.Context) error { return setStateDirs(rts, filepath.Join(dir, "state")) }},
	}
	for _, s := range steps {
		log("workspace: %s", s.what)
		if err := s.do(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", s.what, err)
		}
	}
	w.Veth, w.VethErr = NewVeth(ctx)
	if w.VethErr != nil {
		log("workspace: no veth, the network cases across it are skipped: %v", w.VethErr)
	}
	if w.LoopbackNS, err = NewLoopbackNS(ctx); err != nil {
		log("workspace: no loopback namespace, runsc may have no loopback: %v", err)
	}
	ok = true
	return w, nil
}

// layout makes the root file system: the host's /usr bind-mounted (in
// the bundle's mounts), the merged-/usr links, a few files of /etc, and
// the mount points.
func (w *Workspace) layout(context.Context) error {
	for _, d := range []string{"etc", "proc", "sys", "dev", "usr", "vol", "bench/probes", "root"} {
		if err := os.MkdirAll(filepath.Join(w.Rootfs, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(w.Vol, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(w.Rootfs, "tmp")
	if err := os.Mkdir(tmp, 0o777); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o1777); err != nil {
		return err
	}
	// Debian's merged /usr: /bin, /lib, /lib64 and /sbin are links into
	// /usr. A host whose are directories gets them bind-mounted instead
	// (hostDirs).
	for _, name := range []string{"bin", "lib", "lib64", "sbin"} {
		if target, err := os.Readlink("/" + name); err == nil {
			if err := os.Symlink(target, filepath.Join(w.Rootfs, name)); err != nil {
				return err
			}
		} else if st, err := os.Stat("/" + name); err == nil && st.IsDir() {
			os.Mkdir(filepath.Join(w.Rootfs, name), 0o755)
		}
	}
	// What the dynamic linker, python3 and gcc look for in /etc.
	for _, name := range []string{"passwd", "group", "hosts", "nsswitch.conf", "ld.so.cache", "ld.so.conf", "localtime"} {
		b, err := os.ReadFile(filepath.Join("/etc", name))
		if err != nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(w.Rootfs, "etc", name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// hostDirs are the host's directories a container sees, bind-mounted
// read-only: /usr, and /bin, /lib, /lib64, /sbin where they are not
// links into /usr.
func hostDirs() []string {
	dirs := []string{"/usr"}
	for _, name := range []string{"/bin", "/lib", "/lib64", "/sbin"} {
		if st, err := os.Lstat(name); err == nil && st.IsDir() {
			dirs = append(dirs, name)
		}
	}
	return dirs
}

// buildProbes compiles bench/probes/*.c, static, into /bench/probes.
func (w *Workspace) buildProbes(ctx context.Context) error {
	srcs, err := filepath.Glob(filepath.Join(w.Repo, "bench", "probes", "*.c"))
	if err != nil || len(srcs) == 0 {
		return fmt.Errorf("no probes in %s/bench/probes (%v)", w.Repo, err)
	}
	for _, src := range srcs {
		out := filepath.Join(w.Rootfs, "bench", "probes", strings.TrimSuffix(filepath.Base(src), ".c"))
		if b, err := exec.CommandContext(ctx, "gcc", "-static", "-O2", "-pthread", "-o", out, src).CombinedOutput(); err != nil {
			return fmt.Errorf("gcc %s: %v\n%s(apt-get install gcc libc6-dev)", src, err, b)
		}
	}
	return nil
}

// buildHTTPServer builds the network tests' static Go HTTP server
// (test/testdata/httpserve) into /bench/httpserve.
func (w *Workspace) buildHTTPServer(ctx context.Context) error {
	goBin, err := goTool()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", filepath.Join(w.Rootfs, "bench", "httpserve"), "./test/testdata/httpserve")
	cmd.Dir = w.Repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./test/testdata/httpserve: %v\n%s", err, b)
	}
	return nil
}

// writeData writes what the file and application cases read: a source
// tree (a directory of Go's own sources) as a tar file and unpacked, on
// the root file system and on the volume; a text file for gzip; a C
// file for gcc; a Python script.
func (w *Workspace) writeData(ctx context.Context) error {
	sz := w.sizes()
	goBin, err := goTool()
	if err != nil {
		return err
	}
	goroot, err := exec.CommandContext(ctx, goBin, "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %v", err)
	}
	srcDir := filepath.Join(strings.TrimSpace(string(goroot)), "src")
	bench := filepath.Join(w.Rootfs, "bench")
	tarFile := filepath.Join(bench, "src.tar")
	if b, err := exec.CommandContext(ctx, "tar", "-C", srcDir, "-cf", tarFile, sz.srcTree).CombinedOutput(); err != nil {
		return fmt.Errorf("tar of %s/%s: %v\n%s", srcDir, sz.srcTree, err, b)
	}
	for _, dir := range []string{filepath.Join(bench, "src"), filepath.Join(w.Vol, "src")} {
		os.MkdirAll(dir, 0o755)
		if b, err := exec.CommandContext(ctx, "tar", "-C", dir, "-xf", tarFile).CombinedOutput(); err != nil {
			return fmt.Errorf("untar into %s: %v\n%s", dir, err, b)
		}
	}
	if err := copyFile(tarFile, filepath.Join(w.Vol, "src.tar")); err != nil {
		return err
	}
	entries, bytes := treeSize(filepath.Join(bench, "src"))
	w.Facts = append(w.Facts, fmt.Sprintf("source tree: Go %s's src/%s, %d entries, %.1f MiB",
		strings.TrimPrefix(firstLine(ctx, goBin, "env", "GOVERSION"), "go"), sz.srcTree, entries, float64(bytes)/(1<<20)))

	if err := os.WriteFile(filepath.Join(bench, "blob"), textBlob(sz.blobMiB<<20), 0o644); err != nil {
		return err
	}
	w.Facts = append(w.Facts, fmt.Sprintf("gzip input: %d MiB of generated text", sz.blobMiB))
	if err := os.WriteFile(filepath.Join(bench, "prog.c"), cProgram(120), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(bench, "script.py"), []byte(pythonScript), 0o644)
}

// makeTemplate keeps the config.json that the first runtime able to
// write one (`spec`: runc's default in each) writes.
func (w *Workspace) makeTemplate(ctx context.Context, rts []*Runtime) error {
	tmp := filepath.Join(w.Dir, "spec")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	var errs []string
	for _, rt := range rts {
		if !rt.isContainer() || rt.Skip != "" {
			continue
		}
		b, err := exec.CommandContext(ctx, rt.Bin, "spec", "--bundle", tmp).CombinedOutput()
		if err == nil {
			w.template, err = os.ReadFile(filepath.Join(tmp, "config.json"))
			if err == nil {
				return nil
			}
		}
		errs = append(errs, fmt.Sprintf("%s spec: %v %s", rt.Name, err, b))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil // no container runtime at all: native runs alone
}

// bundle writes a bundle whose process runs args, in the veth's network
// namespace when veth is set (else the loopback one), and returns its
// directory.
func (w *Workspace) bundle(id string, args []string, veth bool) (string, error) {
	var spec map[string]any
	if err := json.Unmarshal(w.template, &spec); err != nil {
		return "", fmt.Errorf("the spec template: %v", err)
	}
	spec["root"] = map[string]any{"path": w.Rootfs, "readonly": false}
	spec["hostname"] = "bench"
	proc, _ := spec["process"].(map[string]any)
	if proc == nil {
		return "", fmt.Errorf("the spec template has no process")
	}
	proc["terminal"] = false
	proc["args"] = args
	proc["cwd"] = "/"
	proc["env"] = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8"}
	mounts, _ := spec["mounts"].([]any)
	for _, d := range hostDirs() {
		mounts = append(mounts, map[string]any{"destination": d, "type": "bind", "source": d, "options": []string{"rbind", "ro"}})
	}
	mounts = append(mounts, map[string]any{"destination": "/vol", "type": "bind", "source": w.Vol, "options": []string{"rbind", "rw"}})
	spec["mounts"] = mounts
	netns := ""
	if veth {
		netns = w.Veth.Path()
	} else if w.LoopbackNS != "" {
		netns = "/run/netns/" + w.LoopbackNS
	}
	linux, _ := spec["linux"].(map[string]any)
	nss, _ := linux["namespaces"].([]any)
	for _, ns := range nss {
		if m, _ := ns.(map[string]any); m != nil && m["type"] == "network" && netns != "" {
			m["path"] = netns
		}
	}
	dir := filepath.Join(w.bundles, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
}

// newID is a container ID unique to this run.
func (w *Workspace) newID() string {
	return fmt.Sprintf("mbench-%d-%d", os.Getpid(), w.seq.Add(1))
}

// track records a created container until untrack: Close deletes what
// is still recorded.
func (w *Workspace) track(id string, rt *Runtime) {
	w.mu.Lock()
	w.live[id] = rt
	w.mu.Unlock()
}

func (w *Workspace) untrack(id string) {
	w.mu.Lock()
	delete(w.live, id)
	w.mu.Unlock()
}

// copyMagawa measures a copy of the magawa binary, kept in the
// workspace: a `make build` while the suite runs (the machine may be
// shared) would otherwise change the binary half-way through.
func (w *Workspace) copyMagawa(rts []*Runtime) error {
	copies := map[string]string{}
	for _, rt := range rts {
		if rt.Kind != Magawa || rt.Skip != "" {
			continue
		}
		if c, ok := copies[rt.Bin]; ok {
			rt.Bin = c
			continue
		}
		c := filepath.Join(w.Dir, "magawa")
		b, err := os.ReadFile(rt.Bin)
		if err != nil {
			return err
		}
		if err := os.WriteFile(c, b, 0o755); err != nil {
			return err
		}
		copies[rt.Bin], rt.Bin = c, c
	}
	return nil
}

// Close deletes every container still there, the veth and its
// namespace, and the workspace's files. It runs after a failure or an
// interrupt too, so it does not take the run's (cancelled) context; a
// second call does nothing.
func (w *Workspace) Close() {
	w.closed.Do(w.close)
}

func (w *Workspace) close() {
	w.mu.Lock()
	live := w.live
	w.live = map[string]*Runtime{}
	w.mu.Unlock()
	for id, rt := range live {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		command(ctx, append(append([]string{rt.Bin}, rt.global()...), "delete", "--force", id)...).Run()
		cancel()
	}
	if w.Veth != nil {
		w.Veth.Close()
	}
	if w.LoopbackNS != "" {
		DeleteNS(w.LoopbackNS)
	}
	// A container's overlay or a runtime's state may hold mounts under
	// the workspace; a lazy unmount of each lets the removal through.
	unmountUnder(w.Dir)
	os.RemoveAll(w.Dir)
	removeCgroups(os.Getpid())
}

// removeCgroups removes the cgroups of the containers of the run of
// process pid that a runtime left behind (runsc does when its sandbox
// fails to start): runc and runsc name them after the container's ID
// at the hierarchies' roots, magawa below /magawa. Only empty ones go:
// rmdir refuses the others.
func removeCgroups(pid int) {
	for _, pattern := range []string{"/sys/fs/cgroup/mbench-%d-*", "/sys/fs/cgroup/*/mbench-%d-*", "/sys/fs/cgroup/magawa/mbench-%d-*", "/sys/fs/cgroup/*/magawa/mbench-%d-*"} {
		dirs, _ := filepath.Glob(fmt.Sprintf(pattern, pid))
		for _, d := range dirs {
			syscall.Rmdir(d)
		}
	}
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

func treeSize(dir string) (entries int, bytes int64) {
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil {
			entries++
			if info.Mode().IsRegular() {
				bytes += info.Size()
			}
		}
		return nil
	})
	return entries, bytes
}

// textBlob is n bytes of text that compresses as prose does (about 3:1):
// words of a fixed vocabulary drawn by a seeded generator, so every run
// compresses the same bytes.
func textBlob(n int) []byte {
	words := strings.Fields(`the sandbox kernel serves every system call of the program it runs
		while a gofer process holds the host files and donates descriptors so that file data
		never crosses the socket a stub process traced with ptrace runs application code and
		stops at each call memory file mappings pages faults signals futexes threads pipes
		sockets epoll timers clocks mounts overlay tmpfs proc sys dev network stack packets`)
	r := rand.New(rand.NewSource(9))
	b := make([]byte, 0, n+16)
	for len(b) < n {
		b = append(b, words[r.Intn(len(words))]...)
		if r.Intn(12) == 0 {
			b = append(b, ".\n"...)
		} else {
			b = append(b, ' ')
		}
	}
	return b[:n]
}

// cProgram is a C file of n functions for gcc -O2 to work on: loops,
// switches and arithmetic it can unroll and fold, and a main calling
// them all.
func cProgram(n int) []byte {
	var b strings.Builder
	b.WriteString("#include <stdio.h>\n#include <string.h>\n\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `static long f%d(const char *s, long x)
{
	long acc = %d;
	for (int i = 0; i < 64; i++) {
		switch ((x + i) %% 7) {
		case 0: acc += x * %d; break;
		case 1: acc ^= acc << %d; break;
		case 2: acc -= (long)strlen(s) * i; break;
		case 3: acc = acc * 31 + s[i %% 8]; break;
		case 4: acc += (acc >> 3) + %d; break;
		case 5: acc = acc %% 1000003 + i; break;
		default: acc += i * i;
		}
	}
	return acc;
}

`, i, i, i%13+1, i%5+1, i*7)
	}
	b.WriteString("int main(int argc, char **argv)\n{\n\tlong acc = 0;\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "\tacc += f%d(argv[0], argc + %d);\n", i, i)
	}
	b.WriteString("\tprintf(\"%ld\\n\", acc);\n\treturn 0;\n}\n")
	return []byte(b.String())
}

// pythonScript is "a short script": the standard library's JSON,
// regular expressions and hashing over a few megabytes of data.
const pythonScript = `import hashlib, json, re

data = [{"id": i, "name": "item%d" % i, "tags": [str(j) for j in range(i % 7)]} for i in range(30000)]
text = json.dumps(data)
back = json.loads(text)
names = re.findall(r"item\d+", text)
digest = hashlib.sha256(text.encode()).hexdigest()
print(len(back), len(names), digest[:12])
`

// unmountUnder detaches every mount at or below dir, deepest first.
func unmountUnder(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var points []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			points = append(points, fields[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	for _, p := range points {
		syscall.Unmount(p, syscall.MNT_DETACH)
	}
}

// sweep removes what runs killed without a chance to clean up (SIGKILL)
// left behind: the network namespaces and veths named after a process
// that is gone, and workspaces under parent named after one.
func sweep(parent string) {
	gone := func(pid string) bool {
		_, err := os.Stat("/proc/" + pid)
		return os.IsNotExist(err)
	}
	nss, _ := os.ReadDir("/run/netns")
	for _, ns := range nss {
		if m := staleNS.FindStringSubmatch(ns.Name()); m != nil && gone(m[2]) {
			DeleteNS(ns.Name())
			if m[1] == "" {
				exec.Command("ip", "link", "del", "mbh"+m[2]).Run()
			}
		}
	}
	dirs, _ := os.ReadDir(parent)
	for _, d := range dirs {
		if m := staleWorkspace.FindStringSubmatch(d.Name()); m != nil && d.IsDir() && gone(m[1]) {
			dir := filepath.Join(parent, d.Name())
			unmountUnder(dir)
			os.RemoveAll(dir)
			if pid, err := strconv.Atoi(m[1]); err == nil {
				removeCgroups(pid)
			}
		}
	}
}

var (
	staleNS        = regexp.MustCompile(`^mbench-(lo-)?(\d+)$`)
	staleWorkspace = regexp.MustCompile(`^magawa-bench-(\d+)-\d+$`)
)
