package unix

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// Address is a socket's name as Linux keeps it: "" for an unnamed
// socket, a path (without a terminating NUL), or an abstract name, whose
// first byte is NUL (the rest is any bytes, NULs included).
type Address string

// Sizes of struct sockaddr_un. Linux: include/uapi/linux/un.h.
const (
	// SunPathOffset is offsetof(struct sockaddr_un, sun_path): the
	// length of an unnamed socket's address, and of bind's autobind
	// request.
	SunPathOffset = 2
	// SockaddrUnSize is sizeof(struct sockaddr_un).
	SockaddrUnSize = 110
)

// IsAbstract reports whether a names the abstract namespace.
func (a Address) IsAbstract() bool { return len(a) > 0 && a[0] == 0 }

// ParseAddress decodes the struct sockaddr_un of bind, connect and
// sendto, b being the caller's addrlen bytes of it. A path ends at its
// first NUL or at the end of b; an abstract name is all of b after the
// family. An address of the family alone is invalid here (bind takes it
// as a request to autobind: see IsAutobind). Linux: net/unix/af_unix.c,
// unix_validate_addr() and unix_mkname_bsd().
func ParseAddress(b []byte) (Address, error) {
	if len(b) <= SunPathOffset || len(b) > SockaddrUnSize {
		return "", unix.EINVAL
	}
	if binary.LittleEndian.Uint16(b) != unix.AF_UNIX {
		return "", unix.EINVAL
	}
	path := b[SunPathOffset:]
	if path[0] == 0 {
		return Address(path), nil
	}
	for i, c := range path {
		if c == 0 {
			return Address(path[:i]), nil
		}
	}
	return Address(path), nil
}

// IsAutobind reports whether bind's address b asks for an autobind:
// the family alone.
func IsAutobind(b []byte) bool {
	return len(b) == SunPathOffset && binary.LittleEndian.Uint16(b) == unix.AF_UNIX
}

// Sockaddr encodes a as getsockname returns it: the family, then for a
// path its bytes and a NUL (so the length is SunPathOffset + len + 1,
// which may be one more than struct sockaddr_un holds for a 108-byte
// path, as on Linux), for an abstract name its bytes exactly.
func (a Address) Sockaddr() []byte {
	n := SunPathOffset + len(a)
	if a != "" && !a.IsAbstract() {
		n++
	}
	b := make([]byte, n)
	binary.LittleEndian.PutUint16(b, unix.AF_UNIX)
	copy(b[SunPathOffset:], a)
	return b
}

// autobindName is the abstract name autobind gives: a NUL and five hex
// digits. Linux: net/unix/af_unix.c, unix_autobind().
func autobindName(n uint32) Address {
	return Address(fmt.Sprintf("\x00%05x", n&0xfffff))
}
