package image

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os/exec"
)

// A bzImage starts with the real-mode setup, then a small decompressor
// that inflates the kernel proper (an ELF vmlinux) into memory. Without
// KVM that decompressor runs emulated and takes seconds (xz, which
// Debian's generic kernel uses: about 5 s on this machine's TCG), so the
// image builder does it once on the host and QEMU boots the ELF through
// its PVH entry point, as Firecracker and Kata boot a vmlinux.
// Linux: Documentation/arch/x86/boot.rst (the setup header's
// payload_offset and payload_length, protocol 2.08+).

// Offsets in a bzImage's setup header.
const (
	setupSectsOffset    = 0x1f1
	headerMagicOffset   = 0x202 // "HdrS"
	versionOffset       = 0x206
	payloadOffsetOffset = 0x248
	payloadLengthOffset = 0x24c
)

// xenELFNotePhys32Entry is the ELF note (owner "Xen") whose presence
// says the kernel has a PVH entry point (Linux: CONFIG_PVH).
const xenELFNotePhys32Entry = 18

// errNoPVH says a kernel cannot be booted as an ELF through PVH.
var errNoPVH = errors.New("the kernel has no PVH entry point")

// extractVmlinux returns the ELF kernel inside a bzImage, decompressed:
// gzip in Go, xz, zstd and lz4 with Debian's tools.
func extractVmlinux(bz []byte) ([]byte, error) {
	if len(bz) < 0x250 || string(bz[headerMagicOffset:headerMagicOffset+4]) != "HdrS" {
		return nil, errors.New("not a bzImage (no HdrS setup header)")
	}
	if v := binary.LittleEndian.Uint16(bz[versionOffset:]); v < 0x208 {
		return nil, fmt.Errorf("boot protocol %#x has no payload fields", v)
	}
	setupSects := int(bz[setupSectsOffset])
	if setupSects == 0 {
		setupSects = 4
	}
	start := (setupSects + 1) * 512
	off := int(binary.LittleEndian.Uint32(bz[payloadOffsetOffset:]))
	n := int(binary.LittleEndian.Uint32(bz[payloadLengthOffset:]))
	if start+off+n > len(bz) || n <= 0 {
		return nil, errors.New("the bzImage's payload lies outside it")
	}
	payload := bz[start+off : start+off+n]
	var out []byte
	var err error
	switch {
	case bytes.HasPrefix(payload, []byte{0x1f, 0x8b}):
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(payload)); err == nil {
			zr.Multistream(false)
			out, err = io.ReadAll(zr)
		}
	case bytes.HasPrefix(payload, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		out, err = decompressWith(payload, "xz", "-dc", "--single-stream")
	case bytes.HasPrefix(payload, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		out, err = decompressWith(payload, "zstd", "-dcq")
	case bytes.HasPrefix(payload, []byte{0x02, 0x21, 0x4c, 0x18}):
		out, err = decompressWith(payload, "lz4", "-dcq")
	default:
		return nil, fmt.Errorf("the bzImage's payload is compressed in a way not handled here (% x)", payload[:4])
	}
	if err != nil && !bytes.HasPrefix(out, []byte(elf.ELFMAG)) {
		return nil, err
	}
	if err := checkPVH(out); err != nil {
		return nil, err
	}
	return out, nil
}

// decompressWith pipes data through a decompressing tool. The kernel
// appends the uncompressed size after some payloads, which the tools
// may call trailing garbage: what they wrote is kept for the caller to
// check.
func decompressWith(data []byte, tool string, args ...string) ([]byte, error) {
	cmd := exec.Command(tool, args...)
	cmd.Stdin = bytes.NewReader(data)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("%s: %v: %s", tool, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out.Bytes(), nil
}

// checkPVH checks that b is an x86-64 ELF kernel with a PVH entry note.
func checkPVH(b []byte) error {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("the decompressed kernel: %w", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("the decompressed kernel is for %v", f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		data := make([]byte, p.Filesz)
		if _, err := p.ReadAt(data, 0); err != nil {
			return err
		}
		for len(data) >= 12 {
			namesz := binary.LittleEndian.Uint32(data[0:])
			descsz := binary.LittleEndian.Uint32(data[4:])
			typ := binary.LittleEndian.Uint32(data[8:])
			nameEnd := 12 + align4(namesz)
			end := nameEnd + align4(descsz)
			if uint64(end) > uint64(len(data)) {
				break
			}
			name := string(bytes.TrimRight(data[12:12+namesz], "\x00"))
			if name == "Xen" && typ == xenELFNotePhys32Entry {
				return nil
			}
			data = data[end:]
		}
	}
	return errNoPVH
}

func align4(n uint32) uint32 { return (n + 3) &^ 3 }
