package syscalls

import (
	"testing"

	"magawa/kernel/abi"
)

func TestCapLayouts(t *testing.T) {
	var h capHeader
	var d [2]capData
	if n := len(abi.Bytes(&h)); n != 8 {
		t.Errorf("struct __user_cap_header_struct: %d bytes", n)
	}
	if n := len(abi.Bytes(&d)); n != 24 {
		t.Errorf("two struct __user_cap_data_struct: %d bytes", n)
	}
}
