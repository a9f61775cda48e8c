package image

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeModule is a minimal ELF relocatable holding a .modinfo section,
// as depmod reads a module.
func fakeModule(modinfo string) []byte {
	shstrtab := []byte("\x00.modinfo\x00.shstrtab\x00")
	info := []byte(modinfo)
	const ehsize, shentsize = 64, 64
	infoOff := ehsize
	strOff := infoOff + len(info)
	shOff := (strOff + len(shstrtab) + 7) &^ 7
	b := make([]byte, shOff+3*shentsize)
	copy(b, elf.ELFMAG)
	b[elf.EI_CLASS], b[elf.EI_DATA], b[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	le := binary.LittleEndian
	le.PutUint16(b[16:], uint16(elf.ET_REL))
	le.PutUint16(b[18:], uint16(elf.EM_X86_64))
	le.PutUint32(b[20:], uint32(elf.EV_CURRENT))
	le.PutUint64(b[40:], uint64(shOff))
	le.PutUint16(b[52:], ehsize)
	le.PutUint16(b[58:], shentsize)
	le.PutUint16(b[60:], 3) // sections
	le.PutUint16(b[62:], 2) // .shstrtab's index
	copy(b[infoOff:], info)
	copy(b[strOff:], shstrtab)
	section := func(i int, name uint32, typ elf.SectionType, off, size int) {
		s := b[shOff+i*shentsize:]
		le.PutUint32(s[0:], name)
		le.PutUint32(s[4:], uint32(typ))
		le.PutUint64(s[24:], uint64(off))
		le.PutUint64(s[32:], uint64(size))
		le.PutUint64(s[48:], 1)
	}
	section(1, 1, elf.SHT_PROGBITS, infoOff, len(info))
	section(2, 10, elf.SHT_STRTAB, strOff, len(shstrtab))
	return b
}

func writeTree(t *testing.T, mods map[string]string, builtin []string) string {
	t.Helper()
	dir := t.TempDir()
	for path, deps := range mods {
		p := filepath.Join(dir, "kernel", path)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, fakeModule("license=GPL\x00depends="+deps+"\x00vermagic=6.1.0\x00"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte(strings.Join(builtin, "\n")+"\n"), 0o644)
	return dir
}

func TestResolveModules(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"drivers/virtio/virtio.ko":       "",
		"drivers/virtio/virtio_ring.ko":  "",
		"drivers/virtio/virtio_mmio.ko":  "virtio,virtio_ring",
		"drivers/char/virtio_console.ko": "virtio,virtio_ring",
		"net/9p/9pnet.ko":                "",
		"net/9p/9pnet_virtio.ko":         "9pnet,virtio,virtio_ring",
		"fs/9p/9p.ko":                    "9pnet,netfs",
		"fs/netfs/netfs.ko":              "",
		"fs/a-b.ko":                      "",
	}, []string{"kernel/fs/overlayfs/overlay.ko"})
	tree, err := loadModuleTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	order, missing, err := tree.resolve([]string{"virtio_console", "overlay", "9p", "9pnet_virtio", "a-b", "vsock"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(missing, ",") != "vsock" {
		t.Errorf("missing = %v, want [vsock] (overlay is built in)", missing)
	}
	pos := map[string]int{}
	var names []string
	for i, m := range order {
		pos[m.name] = i
		names = append(names, m.name)
	}
	if len(order) != 8 {
		t.Errorf("order = %v: want the 8 modules needed, each once", names)
	}
	for _, m := range order {
		for _, d := range m.depends {
			if pos[d] >= pos[m.name] {
				t.Errorf("%s comes before its dependency %s: %v", m.name, d, names)
			}
		}
	}
	if _, ok := pos["a_b"]; !ok {
		t.Errorf("a-b.ko is not named a_b: %v", names)
	}
}

func TestResolveModulesMissingDependency(t *testing.T) {
	dir := writeTree(t, map[string]string{"fs/9p/9p.ko": "9pnet"}, nil)
	tree, err := loadModuleTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tree.resolve([]string{"9p"}); err == nil || !strings.Contains(err.Error(), "9pnet") {
		t.Errorf("resolve = %v, want an error naming 9pnet", err)
	}
}

// fakeVmlinux is a minimal x86-64 ELF executable with a PT_NOTE
// program header holding the notes.
func fakeVmlinux(notes ...[]byte) []byte {
	desc := bytes.Join(notes, nil)
	const ehsize, phentsize = 64, 56
	b := make([]byte, ehsize+phentsize+len(desc))
	copy(b, elf.ELFMAG)
	b[elf.EI_CLASS], b[elf.EI_DATA], b[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	le := binary.LittleEndian
	le.PutUint16(b[16:], uint16(elf.ET_EXEC))
	le.PutUint16(b[18:], uint16(elf.EM_X86_64))
	le.PutUint32(b[20:], uint32(elf.EV_CURRENT))
	le.PutUint64(b[32:], ehsize) // program headers
	le.PutUint16(b[52:], ehsize)
	le.PutUint16(b[54:], phentsize)
	le.PutUint16(b[56:], 1)
	ph := b[ehsize:]
	le.PutUint32(ph[0:], uint32(elf.PT_NOTE))
	le.PutUint64(ph[8:], ehsize+phentsize)
	le.PutUint64(ph[32:], uint64(len(desc)))
	le.PutUint64(ph[40:], uint64(len(desc)))
	copy(b[ehsize+phentsize:], desc)
	return b
}

func note(name string, typ uint32, desc []byte) []byte {
	n := append([]byte(name), 0)
	b := make([]byte, 12)
	binary.LittleEndian.PutUint32(b[0:], uint32(len(n)))
	binary.LittleEndian.PutUint32(b[4:], uint32(len(desc)))
	binary.LittleEndian.PutUint32(b[8:], typ)
	b = append(b, n...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	b = append(b, desc...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// fakeBzImage wraps payload as a bzImage's setup header describes it.
func fakeBzImage(payload []byte) []byte {
	const setupSects = 1
	start := (setupSects + 1) * 512
	b := make([]byte, start+16+len(payload)+4)
	b[setupSectsOffset] = setupSects
	copy(b[headerMagicOffset:], "HdrS")
	binary.LittleEndian.PutUint16(b[versionOffset:], 0x20f)
	binary.LittleEndian.PutUint32(b[payloadOffsetOffset:], 16)
	binary.LittleEndian.PutUint32(b[payloadLengthOffset:], uint32(len(payload)))
	copy(b[start+16:], payload)
	return b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestExtractVmlinux(t *testing.T) {
	vmlinux := fakeVmlinux(note("GNU", 3, []byte{1, 2, 3, 4}), note("Xen", xenELFNotePhys32Entry, []byte{0, 0, 0, 1}))
	got, err := extractVmlinux(fakeBzImage(gz(vmlinux)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, vmlinux) {
		t.Error("the extracted kernel differs from the one packed")
	}

	noPVH := fakeVmlinux(note("GNU", 3, []byte{1, 2, 3, 4}))
	if _, err := extractVmlinux(fakeBzImage(gz(noPVH))); err != errNoPVH {
		t.Errorf("a kernel without the PVH note: %v, want errNoPVH", err)
	}
	if _, err := extractVmlinux(vmlinux); err == nil {
		t.Error("an ELF taken for a bzImage")
	}
	if _, err := extractVmlinux(fakeBzImage([]byte("not compressed at all"))); err == nil {
		t.Error("an unknown payload accepted")
	}
}

func TestWriteInitramfs(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"drivers/virtio/virtio.ko":       "",
		"drivers/virtio/virtio_ring.ko":  "",
		"drivers/virtio/virtio_mmio.ko":  "virtio,virtio_ring",
		"drivers/virtio/virtio_pci.ko":   "virtio,virtio_ring",
		"drivers/char/virtio_console.ko": "virtio,virtio_ring",
		"fs/overlayfs/overlay.ko":        "",
		"net/9p/9pnet.ko":                "",
		"net/9p/9pnet_virtio.ko":         "9pnet,virtio,virtio_ring",
		"fs/9p/9p.ko":                    "9pnet",
	}, nil)
	tree, err := loadModuleTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	order, err := pickModules(tree, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeInitramfs(&buf, []byte("agent"), tree, order, "6.1.0-test"); err != nil {
		t.Fatal(err)
	}
	files := map[string]cpioEntry{}
	for _, e := range readCPIO(t, buf.Bytes()) {
		files[e.name] = e
	}
	if init := files["init"]; string(init.data) != "agent" || init.mode != modeRegular|0o755 {
		t.Errorf("/init = %+v", init)
	}
	if c := files["dev/console"]; c.mode != modeChar|0o600 || c.major != 5 || c.minor != 1 {
		t.Errorf("/dev/console = %+v", c)
	}
	list := string(files[ModulesList].data)
	want := "boot virtio.ko\nboot virtio_ring.ko\nboot virtio_mmio.ko\nboot virtio_console.ko\nboot overlay.ko\n" +
		"pci virtio_pci.ko\n9p 9pnet.ko\n9p 9pnet_virtio.ko\n9p 9p.ko\n"
	if list != want {
		t.Errorf("the modules' list:\n%s\nwant:\n%s", list, want)
	}
	for _, line := range strings.Fields(list) {
		if strings.HasSuffix(line, ".ko") {
			if _, ok := files[ModulesDir+"/"+line]; !ok {
				t.Errorf("%s is listed but not in the archive", line)
			}
		}
	}

	// Without 9p nor virtiofs the guest could not see a container.
	no9p := writeTree(t, map[string]string{"drivers/virtio/virtio_mmio.ko": "", "drivers/virtio/virtio_pci.ko": "", "drivers/char/virtio_console.ko": "", "fs/overlayfs/overlay.ko": ""}, nil)
	tree, _ = loadModuleTree(no9p)
	if _, err := pickModules(tree, t.Logf); err == nil || !strings.Contains(err.Error(), "9p") {
		t.Errorf("pickModules without 9p or virtiofs: %v", err)
	}
}
