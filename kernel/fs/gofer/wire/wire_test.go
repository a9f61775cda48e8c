package wire

import (
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestValidPath(t *testing.T) {
	for p, want := range map[string]bool{
		"":                               true,
		"a":                              true,
		"a/b/c":                          true,
		"..a/b..":                        true,
		"...":                            true,
		".":                              false,
		"..":                             false,
		"a/..":                           false,
		"../a":                           false,
		"a/./b":                          false,
		"/a":                             false,
		"a/":                             false,
		"a//b":                           false,
		"a\x00b":                         false,
		strings.Repeat("n", 255):         true,
		strings.Repeat("n", 256):         false,
		strings.Repeat("a/", 2047) + "a": true,
		strings.Repeat("a/", 2048) + "a": false,
	} {
		if got := ValidPath(p); got != want {
			t.Errorf("ValidPath(%.20q) = %v, want %v", p, got, want)
		}
	}
	if d, n := Split("a/b/c"); d != "a/b" || n != "c" {
		t.Errorf("Split = %q %q", d, n)
	}
	if d, n := Split("c"); d != "" || n != "c" {
		t.Errorf("Split = %q %q", d, n)
	}
	if Join("", "a") != "a" || Join("a", "b") != "a/b" {
		t.Error("Join")
	}
}

// messages are samples of every message, for round trips and fuzzing.
func messages() []Message {
	a := Attr{Mask: unix.STATX_BASIC_STATS, Mode: unix.S_IFREG | 0o4755, Nlink: 3, UID: 1, GID: 2, Blksize: 4096,
		Size: 1 << 40, Blocks: 8, Dev: 0x801, Ino: 1 << 50, Rdev: 5, Atime: Timestamp{-1, 999999999},
		Mtime: Timestamp{1 << 40, 1}}
	return []Message{
		&Header{Op: OpRename, Export: 7},
		&Hello{Version: Version, ReadOnly: []bool{true, false}},
		&Hello{Version: Version, Error: "no", ReadOnly: []bool{}},
		&a,
		&AttachReply{Root: a, ReadOnly: true},
		&PathReq{Path: "a/b"},
		&ReaddirReq{Path: "d", Off: 1 << 62, Max: 4096, Attrs: true},
		&ReaddirReply{Dev: 3, Entries: []Dirent{{Ino: 1, Next: 2, Type: unix.DT_DIR, Name: "."},
			{Ino: 3, Next: 4, Type: unix.DT_REG, Name: "x y"},
			{Ino: 5, Next: 6, Type: unix.DT_REG, Name: "z", HasAttr: true, Attr: a}}, EOF: true},
		&ReadlinkReply{Target: "../../x"},
		&OpenReq{Path: "f", Expect: FileKey{1, 2}, Flags: unix.O_RDWR},
		&CreateReq{Dir: "d", Name: "n", Mode: unix.S_IFLNK | 0o777, UID: 5, GID: 6, Target: "/abs"},
		&CreateReply{Child: a, Dir: a},
		&LinkReq{Dir: "d", Name: "n", Target: "t/u", Expect: FileKey{3, 4}},
		&LinkReply{Target: a, Dir: a},
		&UnlinkReq{Dir: "d", Name: "n", RmDir: true},
		&UnlinkReply{Victim: a, Dir: a},
		&RenameReq{OldDir: "a", OldName: "b", NewDir: "", NewName: "c", Flags: unix.RENAME_EXCHANGE},
		&RenameReply{OldDir: a, NewDir: a, Moved: a, HasVictim: true, Victim: a},
		&SetAttrReq{Path: "p", Mask: unix.STATX_MODE | unix.STATX_SIZE, Mode: 0o755, Size: 10},
		&XattrReq{Path: "p", Name: "user.x", Value: []byte("v"), Flags: 1},
		&XattrValue{Value: []byte("value")},
		&XattrList{Names: []string{"user.a", "trusted.b"}},
		&Statfs{Type: 0xef53, Bsize: 4096, Blocks: 10, Fsid: [2]int32{-1, 2}, Namelen: 255},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, m := range messages() {
		var e Encoder
		m.Encode(&e)
		got := reflect.New(reflect.TypeOf(m).Elem()).Interface().(Message)
		d := NewDecoder(e.Bytes())
		got.Decode(d)
		if err := d.Err(); err != nil {
			t.Errorf("%T: %v", m, err)
			continue
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%T: got %+v, want %+v", m, got, m)
		}
		// Every strict prefix is malformed.
		for i := 0; i < len(e.Bytes()); i++ {
			got := reflect.New(reflect.TypeOf(m).Elem()).Interface().(Message)
			d := NewDecoder(e.Bytes()[:i])
			got.Decode(d)
			if d.Err() == nil {
				if _, ok := m.(*Hello); ok {
					continue
				}
				t.Errorf("%T: a %d-byte prefix of %d decodes", m, i, len(e.Bytes()))
				break
			}
		}
	}
}

func TestAttrSize(t *testing.T) {
	var e Encoder
	(&Attr{}).Encode(&e)
	if e.Len() != AttrSize {
		t.Errorf("an Attr encodes in %d bytes, AttrSize is %d", e.Len(), AttrSize)
	}
	var r ReaddirReply
	e.Reset()
	r.Encode(&e)
	if e.Len()+4 != ReaddirHeaderSize {
		t.Errorf("an empty listing encodes in %d bytes and its errno, ReaddirHeaderSize is %d", e.Len(), ReaddirHeaderSize)
	}
	r.Entries = []Dirent{{Name: "abc", HasAttr: true}}
	r.Entries[0].Attr.Mode = unix.S_IFREG
	e.Reset()
	r.Encode(&e)
	if e.Len()+4 != ReaddirHeaderSize+DirentSize("abc")+AttrSize {
		t.Errorf("an entry with attributes encodes in %d bytes, want %d", e.Len()+4-ReaddirHeaderSize, DirentSize("abc")+AttrSize)
	}
}

func TestInvalidFields(t *testing.T) {
	for name, m := range map[string]Message{
		"path ..":       &PathReq{Path: ".."},
		"name /":        &CreateReq{Name: "a/b"},
		"empty name":    &CreateReq{Name: ""},
		"target NUL":    &CreateReq{Name: "a", Target: "x\x00"},
		"link to root":  &LinkReq{Name: "a"},
		"setattr mode":  &SetAttrReq{Mode: 0o10000},
		"setattr mask":  &SetAttrReq{Mask: unix.STATX_INO},
		"setattr size":  &SetAttrReq{Size: -1},
		"xattr NUL":     &XattrReq{Name: "user.\x00"},
		"dirent ..a/b":  &ReaddirReply{Entries: []Dirent{{Name: "a/b"}}},
		"dirent . attr": &ReaddirReply{Entries: []Dirent{{Name: ".", HasAttr: true, Attr: Attr{Mode: unix.S_IFDIR}}}},
		"dirent attr":   &ReaddirReply{Entries: []Dirent{{Name: "a", HasAttr: true, Attr: Attr{Mode: 0o644}}}},
		"target empty":  &ReadlinkReply{},
		"attr no type":  &Attr{Mode: 0o644},
		"attr nsec":     &Attr{Mode: unix.S_IFREG, Ctime: Timestamp{0, 1e9}},
		"xattr list ''": &XattrList{Names: []string{""}},
	} {
		var e Encoder
		m.Encode(&e)
		got := reflect.New(reflect.TypeOf(m).Elem()).Interface().(Message)
		d := NewDecoder(e.Bytes())
		got.Decode(d)
		if d.Err() == nil {
			t.Errorf("%s decodes", name)
		}
	}
}

// FuzzDecode decodes anything as every message: no panic.
func FuzzDecode(f *testing.F) {
	for _, m := range messages() {
		var e Encoder
		m.Encode(&e)
		f.Add(e.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range messages() {
			got := reflect.New(reflect.TypeOf(m).Elem()).Interface().(Message)
			d := NewDecoder(b)
			got.Decode(d)
			d.Err()
		}
	})
}
