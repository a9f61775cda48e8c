package mm

import (
	"errors"

	"magawa/kernel/platform"
)

// Fork is a placeholder until copy-on-write lands.
func (mm *MM) Fork(as platform.AddressSpace) (*MM, error) {
	return nil, errors.New("fork: placeholder")
}
