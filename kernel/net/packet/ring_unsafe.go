package packet

import (
	"sync/atomic"
	"unsafe"
)

// A slot's tp_status word is shared with the application, which reads
// and writes it concurrently from another host process mapping the same
// pages: it is loaded and stored atomically. The store publishes the
// slot; on x86-64 it orders after the header and data written before it
// (Linux's smp_wmb() before __packet_set_status()). Slots start at
// multiples of TPACKET_ALIGNMENT in page-aligned memory, so the words
// are aligned.

func loadStatus32(b []byte) uint32 {
	_ = b[3]
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&b[0])))
}

func storeStatus32(b []byte, v uint32) {
	_ = b[3]
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&b[0])), v)
}

// TPACKET_V1's tp_status is an unsigned long.

func loadStatus64(b []byte) uint64 {
	_ = b[7]
	return atomic.LoadUint64((*uint64)(unsafe.Pointer(&b[0])))
}

func storeStatus64(b []byte, v uint64) {
	_ = b[7]
	atomic.StoreUint64((*uint64)(unsafe.Pointer(&b[0])), v)
}
