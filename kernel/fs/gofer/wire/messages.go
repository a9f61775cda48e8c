package wire

import (
	"golang.org/x/sys/unix"
)

// Version is the protocol's version, checked in Hello. 2: directory
// entries may carry attributes (ReaddirReq.Attrs).
const Version = 2

// Op is a request's operation.
type Op uint32

// Operations. Each names its request and reply types; "path" is always
// below the export's root (see the package comment).
const (
	OpAttach      Op = iota + 1 // Attach → AttachReply
	OpChannel                   // no body → empty reply with a new channel in SCM_RIGHTS
	OpStat                      // PathReq → Attr (a symbolic link itself, never its target)
	OpReaddir                   // ReaddirReq → ReaddirReply
	OpReadlink                  // PathReq → ReadlinkReply
	OpOpen                      // OpenReq → Attr with the host file in SCM_RIGHTS
	OpCreate                    // CreateReq → CreateReply (regular file, FIFO or socket)
	OpMkdir                     // CreateReq → CreateReply
	OpSymlink                   // CreateReq (with Target) → CreateReply
	OpLink                      // LinkReq → LinkReply
	OpUnlink                    // UnlinkReq → UnlinkReply
	OpRename                    // RenameReq → RenameReply
	OpSetAttr                   // SetAttrReq → Attr
	OpGetXattr                  // XattrReq → XattrValue
	OpSetXattr                  // XattrReq → empty
	OpListXattr                 // XattrReq → XattrList
	OpRemoveXattr               // XattrReq → empty
	OpStatfs                    // PathReq → Statfs
	opMax
)

// Valid reports whether op is a known operation.
func (op Op) Valid() bool { return op >= OpAttach && op < opMax }

// Header starts every request.
type Header struct {
	Op     Op
	Export uint32
}

func (h *Header) Encode(e *Encoder) { e.U32(uint32(h.Op)); e.U32(h.Export) }
func (h *Header) Decode(d *Decoder) { h.Op = Op(d.U32()); h.Export = d.U32() }

// Hello is the gofer's first message on the control channel once it
// serves: the protocol version and each export's read-only flag, or the
// reason it could not start.
type Hello struct {
	Version  uint32
	Error    string
	ReadOnly []bool
}

// maxExports bounds Hello's list.
const maxExports = 1024

func (m *Hello) Encode(e *Encoder) {
	e.U32(m.Version)
	e.String(m.Error)
	e.U32(uint32(len(m.ReadOnly)))
	for _, ro := range m.ReadOnly {
		e.Bool(ro)
	}
}

func (m *Hello) Decode(d *Decoder) {
	m.Version = d.U32()
	m.Error = d.String()
	n := d.U32()
	if n > maxExports {
		d.Fail()
		return
	}
	m.ReadOnly = make([]bool, n)
	for i := range m.ReadOnly {
		m.ReadOnly[i] = d.Bool()
	}
}

// FileKey is a host file's identity: device and inode number. Requests
// on an existing object carry the key the client knows, and the gofer
// fails them with ESTALE when the path now names another file. Zero
// skips the check.
type FileKey struct {
	Dev, Ino uint64
}

func (k *FileKey) Encode(e *Encoder) { e.U64(k.Dev); e.U64(k.Ino) }
func (k *FileKey) Decode(d *Decoder) { k.Dev = d.U64(); k.Ino = d.U64() }

// Timestamp is a time as statx has it.
type Timestamp struct {
	Sec  int64
	Nsec uint32
}

func (t *Timestamp) Encode(e *Encoder) { e.I64(t.Sec); e.U32(t.Nsec) }

func (t *Timestamp) Decode(d *Decoder) {
	t.Sec = d.I64()
	t.Nsec = d.U32()
	if t.Nsec >= 1e9 {
		d.Fail()
	}
}

// AttrSize is an Attr's encoded size.
const AttrSize = 6*4 + 7*8 + 4*12

// Attr is a host file's attributes (a statx record's useful part).
type Attr struct {
	Mask           uint32 // STATX_* bits filled
	Mode           uint32
	Nlink          uint32
	UID, GID       uint32
	Blksize        uint32
	Attributes     uint64
	AttributesMask uint64
	Size, Blocks   uint64
	Dev, Ino       uint64 // the host's: unix.Mkdev(major, minor)
	Rdev           uint64
	Atime, Btime   Timestamp
	Ctime, Mtime   Timestamp
}

// Key returns the file's host identity.
func (a *Attr) Key() FileKey { return FileKey{Dev: a.Dev, Ino: a.Ino} }

// Type returns the S_IFMT bits.
func (a *Attr) Type() uint32 { return a.Mode & unix.S_IFMT }

func (a *Attr) Encode(e *Encoder) {
	e.U32(a.Mask)
	e.U32(a.Mode)
	e.U32(a.Nlink)
	e.U32(a.UID)
	e.U32(a.GID)
	e.U32(a.Blksize)
	e.U64(a.Attributes)
	e.U64(a.AttributesMask)
	e.U64(a.Size)
	e.U64(a.Blocks)
	e.U64(a.Dev)
	e.U64(a.Ino)
	e.U64(a.Rdev)
	a.Atime.Encode(e)
	a.Btime.Encode(e)
	a.Ctime.Encode(e)
	a.Mtime.Encode(e)
}

// Decode reads attributes, refusing a mode that is no file type.
func (a *Attr) Decode(d *Decoder) {
	a.Mask = d.U32()
	a.Mode = d.U32()
	a.Nlink = d.U32()
	a.UID = d.U32()
	a.GID = d.U32()
	a.Blksize = d.U32()
	a.Attributes = d.U64()
	a.AttributesMask = d.U64()
	a.Size = d.U64()
	a.Blocks = d.U64()
	a.Dev = d.U64()
	a.Ino = d.U64()
	a.Rdev = d.U64()
	a.Atime.Decode(d)
	a.Btime.Decode(d)
	a.Ctime.Decode(d)
	a.Mtime.Decode(d)
	if !validMode(a.Mode) || a.Size > 1<<63-1 {
		d.Fail()
	}
}

func validMode(mode uint32) bool {
	if mode&^(unix.S_IFMT|0o7777) != 0 {
		return false
	}
	switch mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFDIR, unix.S_IFLNK, unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO, unix.S_IFSOCK:
		return true
	}
	return false
}

// AttrFromStatx converts a host statx record.
func AttrFromStatx(sx *unix.Statx_t) Attr {
	ts := func(t unix.StatxTimestamp) Timestamp { return Timestamp{Sec: t.Sec, Nsec: t.Nsec} }
	return Attr{
		Mask:           sx.Mask,
		Mode:           uint32(sx.Mode),
		Nlink:          sx.Nlink,
		UID:            sx.Uid,
		GID:            sx.Gid,
		Blksize:        sx.Blksize,
		Attributes:     sx.Attributes,
		AttributesMask: sx.Attributes_mask,
		Size:           sx.Size,
		Blocks:         sx.Blocks,
		Dev:            unix.Mkdev(sx.Dev_major, sx.Dev_minor),
		Ino:            sx.Ino,
		Rdev:           unix.Mkdev(sx.Rdev_major, sx.Rdev_minor),
		Atime:          ts(sx.Atime),
		Btime:          ts(sx.Btime),
		Ctime:          ts(sx.Ctime),
		Mtime:          ts(sx.Mtime),
	}
}

// Attach asks for an export's root. Its Header names the export.
type Attach struct{}

func (*Attach) Encode(*Encoder) {}
func (*Attach) Decode(*Decoder) {}

// AttachReply describes an export.
type AttachReply struct {
	Root     Attr
	ReadOnly bool
}

func (m *AttachReply) Encode(e *Encoder) { m.Root.Encode(e); e.Bool(m.ReadOnly) }
func (m *AttachReply) Decode(d *Decoder) { m.Root.Decode(d); m.ReadOnly = d.Bool() }

// Empty is a request or reply without a body.
type Empty struct{}

func (*Empty) Encode(*Encoder) {}
func (*Empty) Decode(*Decoder) {}

// PathReq names one object.
type PathReq struct {
	Path string
}

func (m *PathReq) Encode(e *Encoder) { e.String(m.Path) }
func (m *PathReq) Decode(d *Decoder) { m.Path = d.Path() }

// ReaddirReq asks for a directory's entries from the host cookie Off
// on, at most Max bytes of reply; with Attrs, each entry's attributes
// too ("readdirplus"), as OpStat of its path would give them.
type ReaddirReq struct {
	Path  string
	Off   int64
	Max   uint32
	Attrs bool
}

func (m *ReaddirReq) Encode(e *Encoder) {
	e.String(m.Path)
	e.I64(m.Off)
	e.U32(m.Max)
	e.Bool(m.Attrs)
}

func (m *ReaddirReq) Decode(d *Decoder) {
	m.Path = d.Path()
	m.Off = d.I64()
	m.Max = d.U32()
	m.Attrs = d.Bool()
}

// Dirent is one directory entry: host inode number, the cookie of the
// position after it, its DT_* type and name, and, when HasAttr, its
// attributes (never for "." and "..").
type Dirent struct {
	Ino     uint64
	Next    int64
	Type    uint8
	Name    string
	HasAttr bool
	Attr    Attr
}

// DirentSize is an entry's encoded size without attributes; those add
// AttrSize.
func DirentSize(name string) int { return 8 + 8 + 1 + 2 + len(name) + 1 }

// ReaddirReply holds entries, the directory's host device (to which the
// inode numbers belong), and whether the listing ended.
type ReaddirReply struct {
	Dev     uint64
	Entries []Dirent
	EOF     bool
}

// ReaddirHeaderSize is a reply's size without entries (errno included).
const ReaddirHeaderSize = 4 + 8 + 4 + 1

func (m *ReaddirReply) Encode(e *Encoder) {
	e.U64(m.Dev)
	e.U32(uint32(len(m.Entries)))
	for i := range m.Entries {
		ent := &m.Entries[i]
		e.U64(ent.Ino)
		e.I64(ent.Next)
		e.U8(ent.Type)
		e.String(ent.Name)
		e.Bool(ent.HasAttr)
		if ent.HasAttr {
			ent.Attr.Encode(e)
		}
	}
	e.Bool(m.EOF)
}

func (m *ReaddirReply) Decode(d *Decoder) {
	m.Dev = d.U64()
	n := d.U32()
	if int64(n) > int64(MaxMessage/DirentSize("")) {
		d.Fail()
		return
	}
	m.Entries = make([]Dirent, n)
	for i := range m.Entries {
		ent := &m.Entries[i]
		ent.Ino = d.U64()
		ent.Next = d.I64()
		ent.Type = d.U8()
		ent.Name = d.String()
		if !validDirentName(ent.Name) || ent.Type > unix.DT_WHT {
			d.Fail()
			return
		}
		if ent.HasAttr = d.Bool(); ent.HasAttr {
			if ent.Name == "." || ent.Name == ".." {
				d.Fail()
				return
			}
			ent.Attr.Decode(d)
		}
	}
	m.EOF = d.Bool()
}

// ReadlinkReply is a symbolic link's target.
type ReadlinkReply struct {
	Target string
}

func (m *ReadlinkReply) Encode(e *Encoder) { e.String(m.Target) }

func (m *ReadlinkReply) Decode(d *Decoder) {
	m.Target = d.String()
	if !validTarget(m.Target) {
		d.Fail()
	}
}

// OpenReq opens a regular file with open(2) access flags (O_ACCMODE,
// O_SYNC, O_DSYNC, O_NOATIME; nothing else is honoured).
type OpenReq struct {
	Path   string
	Expect FileKey
	Flags  uint32
}

func (m *OpenReq) Encode(e *Encoder) { e.String(m.Path); m.Expect.Encode(e); e.U32(m.Flags) }
func (m *OpenReq) Decode(d *Decoder) { m.Path = d.Path(); m.Expect.Decode(d); m.Flags = d.U32() }

// CreateReq makes Name in Dir with Mode (type and permission bits)
// owned by UID and GID; Target is a symbolic link's.
type CreateReq struct {
	Dir      string
	Name     string
	Mode     uint32
	UID, GID uint32
	Target   string
}

func (m *CreateReq) Encode(e *Encoder) {
	e.String(m.Dir)
	e.String(m.Name)
	e.U32(m.Mode)
	e.U32(m.UID)
	e.U32(m.GID)
	e.String(m.Target)
}

func (m *CreateReq) Decode(d *Decoder) {
	m.Dir = d.Path()
	m.Name = d.Name()
	m.Mode = d.U32()
	m.UID = d.U32()
	m.GID = d.U32()
	m.Target = d.String()
	if m.Target != "" && !validTarget(m.Target) {
		d.Fail()
	}
}

// CreateReply holds the new object's attributes and its directory's.
type CreateReply struct {
	Child, Dir Attr
}

func (m *CreateReply) Encode(e *Encoder) { m.Child.Encode(e); m.Dir.Encode(e) }
func (m *CreateReply) Decode(d *Decoder) { m.Child.Decode(d); m.Dir.Decode(d) }

// LinkReq makes Name in Dir a hard link to Target.
type LinkReq struct {
	Dir    string
	Name   string
	Target string
	Expect FileKey
}

func (m *LinkReq) Encode(e *Encoder) {
	e.String(m.Dir)
	e.String(m.Name)
	e.String(m.Target)
	m.Expect.Encode(e)
}

func (m *LinkReq) Decode(d *Decoder) {
	m.Dir = d.Path()
	m.Name = d.Name()
	m.Target = d.Path()
	m.Expect.Decode(d)
	if m.Target == "" {
		d.Fail() // the root is a directory
	}
}

// LinkReply holds the linked file's new attributes and the directory's.
type LinkReply struct {
	Target, Dir Attr
}

func (m *LinkReply) Encode(e *Encoder) { m.Target.Encode(e); m.Dir.Encode(e) }
func (m *LinkReply) Decode(d *Decoder) { m.Target.Decode(d); m.Dir.Decode(d) }

// UnlinkReq removes Name from Dir: a directory (rmdir) when RmDir is
// set, anything else otherwise.
type UnlinkReq struct {
	Dir    string
	Name   string
	RmDir  bool
	Expect FileKey
}

func (m *UnlinkReq) Encode(e *Encoder) {
	e.String(m.Dir)
	e.String(m.Name)
	e.Bool(m.RmDir)
	m.Expect.Encode(e)
}
func (m *UnlinkReq) Decode(d *Decoder) {
	m.Dir = d.Path()
	m.Name = d.Name()
	m.RmDir = d.Bool()
	m.Expect.Decode(d)
}

// UnlinkReply holds the removed object's attributes after the removal
// (its link count dropped) and the directory's.
type UnlinkReply struct {
	Victim, Dir Attr
}

func (m *UnlinkReply) Encode(e *Encoder) { m.Victim.Encode(e); m.Dir.Encode(e) }
func (m *UnlinkReply) Decode(d *Decoder) { m.Victim.Decode(d); m.Dir.Decode(d) }

// RenameReq is renameat2(2) with RENAME_NOREPLACE or RENAME_EXCHANGE.
type RenameReq struct {
	OldDir, OldName string
	NewDir, NewName string
	Flags           uint32
}

func (m *RenameReq) Encode(e *Encoder) {
	e.String(m.OldDir)
	e.String(m.OldName)
	e.String(m.NewDir)
	e.String(m.NewName)
	e.U32(m.Flags)
}

func (m *RenameReq) Decode(d *Decoder) {
	m.OldDir = d.Path()
	m.OldName = d.Name()
	m.NewDir = d.Path()
	m.NewName = d.Name()
	m.Flags = d.U32()
}

// RenameReply holds the attributes after the rename of both
// directories, the moved object and, when HasVictim, the object that
// was at the new name (replaced, or exchanged).
type RenameReply struct {
	OldDir, NewDir Attr
	Moved          Attr
	HasVictim      bool
	Victim         Attr
}

func (m *RenameReply) Encode(e *Encoder) {
	m.OldDir.Encode(e)
	m.NewDir.Encode(e)
	m.Moved.Encode(e)
	e.Bool(m.HasVictim)
	if m.HasVictim {
		m.Victim.Encode(e)
	}
}

func (m *RenameReply) Decode(d *Decoder) {
	m.OldDir.Decode(d)
	m.NewDir.Decode(d)
	m.Moved.Decode(d)
	m.HasVictim = d.Bool()
	if m.HasVictim {
		m.Victim.Decode(d)
	}
}

// SetAttrReq changes what Mask (STATX_MODE, STATX_UID, STATX_GID,
// STATX_SIZE, STATX_ATIME, STATX_MTIME) says.
type SetAttrReq struct {
	Path   string
	Expect FileKey
	Mask   uint32
	Mode   uint32
	UID    uint32
	GID    uint32
	Size   int64
	Atime  Timestamp
	Mtime  Timestamp
}

// SetAttrMask are the bits SetAttrReq.Mask may hold.
const SetAttrMask = unix.STATX_MODE | unix.STATX_UID | unix.STATX_GID | unix.STATX_SIZE | unix.STATX_ATIME | unix.STATX_MTIME

func (m *SetAttrReq) Encode(e *Encoder) {
	e.String(m.Path)
	m.Expect.Encode(e)
	e.U32(m.Mask)
	e.U32(m.Mode)
	e.U32(m.UID)
	e.U32(m.GID)
	e.I64(m.Size)
	m.Atime.Encode(e)
	m.Mtime.Encode(e)
}

func (m *SetAttrReq) Decode(d *Decoder) {
	m.Path = d.Path()
	m.Expect.Decode(d)
	m.Mask = d.U32()
	m.Mode = d.U32()
	m.UID = d.U32()
	m.GID = d.U32()
	m.Size = d.I64()
	m.Atime.Decode(d)
	m.Mtime.Decode(d)
	if m.Mask&^SetAttrMask != 0 || m.Mode&^0o7777 != 0 || m.Size < 0 {
		d.Fail()
	}
}

// XattrReq names an extended attribute of the object at Path; Value
// and Flags (XATTR_CREATE, XATTR_REPLACE) are SetXattr's.
type XattrReq struct {
	Path   string
	Expect FileKey
	Name   string
	Value  []byte
	Flags  uint32
}

func (m *XattrReq) Encode(e *Encoder) {
	e.String(m.Path)
	m.Expect.Encode(e)
	e.String(m.Name)
	e.Blob(m.Value)
	e.U32(m.Flags)
}

// Decode reads the request; an empty Name is allowed (ListXattr's).
func (m *XattrReq) Decode(d *Decoder) {
	m.Path = d.Path()
	m.Expect.Decode(d)
	m.Name = d.String()
	if m.Name != "" && !validXattrName(m.Name) {
		d.Fail()
	}
	m.Value = d.Blob(XattrValueMax)
	m.Flags = d.U32()
}

// XattrValue is an extended attribute's value.
type XattrValue struct {
	Value []byte
}

func (m *XattrValue) Encode(e *Encoder) { e.Blob(m.Value) }

// Decode reads the value, copying it out of the message buffer.
func (m *XattrValue) Decode(d *Decoder) {
	m.Value = append([]byte{}, d.Blob(XattrValueMax)...)
}

// XattrList is an object's extended attribute names.
type XattrList struct {
	Names []string
}

func (m *XattrList) Encode(e *Encoder) {
	e.U32(uint32(len(m.Names)))
	for _, n := range m.Names {
		e.String(n)
	}
}

func (m *XattrList) Decode(d *Decoder) {
	n := d.U32()
	if n > XattrListMax/2 {
		d.Fail()
		return
	}
	m.Names = make([]string, 0, n)
	total := 0
	for range n {
		s := d.XattrName()
		total += len(s) + 1
		if total > XattrListMax {
			d.Fail()
		}
		if d.bad {
			return
		}
		m.Names = append(m.Names, s)
	}
}

// Statfs is statfs(2)'s record.
type Statfs struct {
	Type    int64
	Bsize   int64
	Blocks  uint64
	Bfree   uint64
	Bavail  uint64
	Files   uint64
	Ffree   uint64
	Fsid    [2]int32
	Namelen int64
	Frsize  int64
	Flags   int64
}

func (m *Statfs) Encode(e *Encoder) {
	e.I64(m.Type)
	e.I64(m.Bsize)
	e.U64(m.Blocks)
	e.U64(m.Bfree)
	e.U64(m.Bavail)
	e.U64(m.Files)
	e.U64(m.Ffree)
	e.U32(uint32(m.Fsid[0]))
	e.U32(uint32(m.Fsid[1]))
	e.I64(m.Namelen)
	e.I64(m.Frsize)
	e.I64(m.Flags)
}

func (m *Statfs) Decode(d *Decoder) {
	m.Type = d.I64()
	m.Bsize = d.I64()
	m.Blocks = d.U64()
	m.Bfree = d.U64()
	m.Bavail = d.U64()
	m.Files = d.U64()
	m.Ffree = d.U64()
	m.Fsid[0] = int32(d.U32())
	m.Fsid[1] = int32(d.U32())
	m.Namelen = d.I64()
	m.Frsize = d.I64()
	m.Flags = d.I64()
}

// Message is a request or reply body.
type Message interface {
	Encode(e *Encoder)
	Decode(d *Decoder)
}
