package network

import "unsafe"

// unsafePointer points at the start of a netlink message's body, which
// the kernel aligns for its header structures.
func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }
