package wire

import "strings"

// Limits of names and values, Linux's own.
const (
	NameMax       = 255   // NAME_MAX: one path component
	PathMax       = 4095  // PATH_MAX without its NUL
	XattrNameMax  = 255   // XATTR_NAME_MAX
	XattrValueMax = 65536 // XATTR_SIZE_MAX
	XattrListMax  = 65536 // XATTR_LIST_MAX
)

// ValidName reports whether s is one path component the gofer accepts:
// not empty, ".", or "..", no "/" or NUL, at most NameMax bytes.
func ValidName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > NameMax {
		return false
	}
	return strings.IndexByte(s, '/') < 0 && strings.IndexByte(s, 0) < 0
}

// ValidPath reports whether s names an object below an export's root:
// "" for the root, else valid components joined by single slashes.
func ValidPath(s string) bool {
	if s == "" {
		return true
	}
	if len(s) > PathMax {
		return false
	}
	for {
		i := strings.IndexByte(s, '/')
		if i < 0 {
			return ValidName(s)
		}
		if !ValidName(s[:i]) {
			return false
		}
		s = s[i+1:]
	}
}

// Join returns dir's child name as a path.
func Join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// Split returns path's parent and last component ("", "" for the root).
func Split(path string) (dir, name string) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return "", path
	}
	return path[:i], path[i+1:]
}

// validDirentName accepts what a directory listing holds: a component,
// or "." and "..".
func validDirentName(s string) bool {
	return s == "." || s == ".." || ValidName(s)
}

// validTarget accepts a symbolic link's target: any bytes but NUL,
// 1 to PathMax of them.
func validTarget(s string) bool {
	return s != "" && len(s) <= PathMax && strings.IndexByte(s, 0) < 0
}

// validXattrName accepts an extended attribute's full name.
func validXattrName(s string) bool {
	return s != "" && len(s) <= XattrNameMax && strings.IndexByte(s, 0) < 0
}

// Path decodes a path, marking the message malformed if it is invalid.
func (d *Decoder) Path() string {
	s := d.String()
	if !ValidPath(s) {
		d.Fail()
		return ""
	}
	return s
}

// Name decodes one component.
func (d *Decoder) Name() string {
	s := d.String()
	if !ValidName(s) {
		d.Fail()
		return ""
	}
	return s
}

// XattrName decodes an extended attribute's name.
func (d *Decoder) XattrName() string {
	s := d.String()
	if !validXattrName(s) {
		d.Fail()
		return ""
	}
	return s
}
