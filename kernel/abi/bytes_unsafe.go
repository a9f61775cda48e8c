package abi

import "unsafe"

// Bytes views a fixed-layout value (a struct of the Linux ABI with no
// pointers) as its bytes, for copying to and from application memory.
func Bytes[T any](v *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}
