package image

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// CPIOWriter writes a cpio archive in the "newc" format (the SVR4
// portable format without checksums), the format the Linux kernel
// unpacks an initramfs from. Linux: init/initramfs.c;
// Documentation/driver-api/early-userspace/buffer-format.rst.
//
// Each entry is a 110-byte header of ASCII hex fields, the name and its
// NUL, padded to four bytes, then the data, padded to four bytes. The
// archive ends with an entry named TRAILER!!!.
type CPIOWriter struct {
	w      *bufio.Writer
	ino    uint32
	closed bool
	err    error
}

// NewCPIOWriter returns a writer of a newc archive to w.
func NewCPIOWriter(w io.Writer) *CPIOWriter {
	return &CPIOWriter{w: bufio.NewWriter(w), ino: 1}
}

// cpioHeader is the fixed part of an entry.
type cpioHeader struct {
	mode         uint32 // file type and permission bits, as st_mode
	uid, gid     uint32
	nlink        uint32
	size         uint32
	rdevMajor    uint32
	rdevMinor    uint32
	name         string
	noInodeCount bool // the trailer has inode 0
}

// File types of st_mode.
const (
	modeDir     = 0o040000
	modeRegular = 0o100000
	modeSymlink = 0o120000
	modeChar    = 0o020000
)

// maxEntrySize bounds one entry's data: the header's size field has
// eight hex digits.
const maxEntrySize = 1<<32 - 1

func (c *CPIOWriter) entry(h cpioHeader, data []byte) error {
	if c.err != nil {
		return c.err
	}
	if c.closed {
		return errors.New("cpio: write after Close")
	}
	if err := checkName(h.name); err != nil && !h.noInodeCount {
		c.err = err
		return err
	}
	if uint64(len(data)) > maxEntrySize {
		c.err = fmt.Errorf("cpio: %s: %d bytes is too large for an entry", h.name, len(data))
		return c.err
	}
	ino := c.ino
	if h.noInodeCount {
		ino = 0
	} else {
		c.ino++
	}
	nameSize := len(h.name) + 1
	// The kernel requires the header's fields as 8 hex digits each;
	// mtime 0 keeps the archive reproducible.
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, h.mode, h.uid, h.gid, h.nlink, 0, uint32(len(data)),
		0, 0, h.rdevMajor, h.rdevMinor, nameSize, 0)
	c.write([]byte(hdr))
	c.write([]byte(h.name))
	c.write([]byte{0})
	c.pad(len(hdr) + nameSize)
	c.write(data)
	c.pad(len(data))
	return c.err
}

func (c *CPIOWriter) write(b []byte) {
	if c.err == nil {
		_, c.err = c.w.Write(b)
	}
}

// pad writes the NULs that align n bytes to four.
func (c *CPIOWriter) pad(n int) {
	if r := n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

// checkName refuses names the kernel would put outside the archive's
// root or that are not canonical: absolute, with "." or ".." elements,
// empty elements or a NUL.
func checkName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsRune(name, 0) {
		return fmt.Errorf("cpio: invalid name %q", name)
	}
	for _, e := range strings.Split(name, "/") {
		if e == "" || e == "." || e == ".." {
			return fmt.Errorf("cpio: invalid name %q", name)
		}
	}
	return nil
}

// Dir adds a directory.
func (c *CPIOWriter) Dir(name string, perm fs.FileMode) error {
	return c.entry(cpioHeader{mode: modeDir | uint32(perm.Perm()), nlink: 2, name: name}, nil)
}

// File adds a regular file holding data.
func (c *CPIOWriter) File(name string, perm fs.FileMode, data []byte) error {
	return c.entry(cpioHeader{mode: modeRegular | uint32(perm.Perm()), nlink: 1, name: name}, data)
}

// Symlink adds a symbolic link to target.
func (c *CPIOWriter) Symlink(name, target string) error {
	return c.entry(cpioHeader{mode: modeSymlink | 0o777, nlink: 1, name: name}, []byte(target))
}

// CharDevice adds a character device node.
func (c *CPIOWriter) CharDevice(name string, perm fs.FileMode, major, minor uint32) error {
	return c.entry(cpioHeader{mode: modeChar | uint32(perm.Perm()), nlink: 1, name: name, rdevMajor: major, rdevMinor: minor}, nil)
}

// Close writes the trailer and flushes; it does not close the
// underlying writer.
func (c *CPIOWriter) Close() error {
	if c.closed {
		return c.err
	}
	c.entry(cpioHeader{name: "TRAILER!!!", nlink: 1, noInodeCount: true}, nil)
	c.closed = true
	if c.err == nil {
		c.err = c.w.Flush()
	}
	return c.err
}
