package oci

import (
	"errors"
	"fmt"
)

// MaxIDLength bounds a container ID, as runc does: IDs name directories
// and appear in socket paths.
const MaxIDLength = 1024

// ErrInvalidID is wrapped by ValidID's errors.
var ErrInvalidID = errors.New("invalid container ID")

// ValidID checks a container ID as runc does: ASCII letters, digits and
// "_+,-." (runc's pattern [\w+-\.] has the range '+'..'.', which takes
// in ','), not "." or "..". So an ID is always one safe path component.
func ValidID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalidID)
	case len(id) > MaxIDLength:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidID, MaxIDLength)
	case id == "." || id == "..":
		return fmt.Errorf("%w %q", ErrInvalidID, id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '+' || c == ',' || c == '-' || c == '.'
		if !ok {
			return fmt.Errorf("%w %q: %q is not allowed (only letters, digits and _+,-.)", ErrInvalidID, id, c)
		}
	}
	return nil
}
