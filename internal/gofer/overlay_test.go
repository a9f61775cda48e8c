package gofer

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"

	goferfs "magawa/kernel/fs/gofer"
	"magawa/kernel/fs/overlay"
	"magawa/kernel/fs/tmpfs"
	"magawa/kernel/memfile"
	"magawa/kernel/vfs"
)

// TestOverlayLower uses an export as the read-only lower layer of the
// overlay, as `magawa do` builds its root: reads come from the host,
// writes (copy-ups included) go to memory and never reach the host.
func TestOverlayLower(t *testing.T) {
	forEachServer(t, func(t *testing.T, s servers) {
		dir := t.TempDir()
		mkfile(t, dir+"/etc/motd", "hello from the host\n")
		mkfile(t, dir+"/bin/tool", "#!/bin/sh\n")
		os.Chmod(dir+"/bin/tool", 0o755)
		if unix.Lsetxattr(dir+"/etc/motd", "user.tag", []byte("t"), 0) != nil {
			t.Log("no user xattrs on the host: the copy-up of xattrs goes untested")
		}
		c := s.client(t, Export{Path: dir, ReadOnly: true})
		lower, err := c.Mount(0, goferfs.MountOptions{})
		if err != nil {
			t.Fatal(err)
		}
		mf, err := memfile.New(1 << 30)
		if err != nil {
			t.Fatal(err)
		}
		defer mf.Close()
		root, err := overlay.New(lower, tmpfs.New(mf, tmpfs.Options{Mode: 0o755}))
		if err != nil {
			t.Fatal(err)
		}
		v := vfs.New()
		ns := v.NewMountNamespace(root, "overlay", 0)
		r := ns.Root()
		w := &world{t: t, v: v, ctx: &vfs.Context{Creds: &vfs.RootCreds, Root: r, Cwd: r, Umask: 0o022}}
		if got := w.mustRead("/etc/motd"); got != "hello from the host\n" {
			t.Errorf("read = %q", got)
		}
		// Copy-up on write.
		f, err := w.open("/etc/motd", unix.O_WRONLY|unix.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(func(write func([]byte) (int, error)) (int, error) { return write([]byte("and from the sandbox\n")) })
		f.DecRef()
		if got := w.mustRead("/etc/motd"); got != "hello from the host\nand from the sandbox\n" {
			t.Errorf("after append: %q", got)
		}
		if b, _ := os.ReadFile(dir + "/etc/motd"); string(b) != "hello from the host\n" {
			t.Errorf("the host file changed: %q", b)
		}
		if p, err := w.resolve("/etc/motd", 0); err == nil {
			if v, err := w.v.GetXattr(w.ctx, p, "user.tag"); err == nil && string(v) != "t" {
				t.Errorf("copied-up xattr = %q", v)
			}
		}
		// New files, removal of lower files.
		w.write("/bin/new", "new")
		if err := w.v.Unlink(w.ctx, w.ctx.Cwd, "/bin/tool"); err != nil {
			t.Error(err)
		}
		names, err := w.list("/bin")
		if err != nil || len(names) != 1 || names[0] != "new" {
			t.Errorf("list /bin = %v, %v", names, err)
		}
		if _, err := os.Stat(dir + "/bin/tool"); err != nil {
			t.Errorf("the host file went: %v", err)
		}
		if _, err := os.Stat(dir + "/bin/new"); err == nil {
			t.Errorf("a sandbox file reached the host")
		}
	})
}
