package packet

import (
	"encoding/binary"
	"math"
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/memfile"
	"magawa/kernel/vfs"
)

// This file is the memory-mapped receive ring (PACKET_RX_RING, packet
// mmap): frames written into memory the application maps, handed over
// one slot at a time through each slot's tp_status word. Linux:
// net/packet/af_packet.c, packet_set_ring(), tpacket_rcv(),
// packet_mmap() and packet_poll(); Documentation/networking/packet_mmap.rst.
//
// The ring is one run of memory-file pages: the application's mapping
// (mmap of the socket, MAP_SHARED) maps those very pages, and the kernel
// writes frames through its own mapping of the memory file, so both see
// the same memory without a copy. The application may write anything
// into the ring at any time: the kernel reads nothing of it but the
// tp_status word of the slot it is about to fill (and, for poll, of the
// slot before), and takes any value but TP_STATUS_KERNEL (0) as the
// application's.

// TPACKET versions: the frame header a ring's slots start with.
// TPACKET_V3 (blocks handed over whole, with a timer) is not served:
// PACKET_VERSION and PACKET_HDRLEN refuse it with EINVAL, which libpcap
// takes as "try TPACKET_V2".
const (
	tpacketV1 = unix.TPACKET_V1
	tpacketV2 = unix.TPACKET_V2
	tpacketV3 = unix.TPACKET_V3
)

// Layout of a slot (x86-64): the version's header, struct sockaddr_ll at
// the header's aligned size, the frame further on at tp_mac.
const (
	// tpacketAlignment is TPACKET_ALIGNMENT: headers and the network
	// header's offset are aligned to it.
	tpacketAlignment = unix.TPACKET_ALIGNMENT
	// tpacketHdrSize is sizeof(struct tpacket_hdr) and
	// sizeof(struct tpacket2_hdr): 32 both, already aligned.
	tpacketHdrSize = unix.SizeofTpacketHdr
	// tpacketHdrLen is TPACKET_HDRLEN and TPACKET2_HDRLEN: the header
	// and the address, the least a slot holds (Linux's po->tp_hdrlen).
	tpacketHdrLen = tpacketHdrSize + sockaddrLen
	// tpacketReqLen is sizeof(struct tpacket_req); a struct
	// tpacket_req3 (libpcap passes one whatever the version) is longer,
	// and its tail means nothing to TPACKET_V1 and TPACKET_V2.
	tpacketReqLen = 16
)

// Status bits the kernel sets (include/uapi/linux/if_packet.h).
const (
	tpStatusKernel       = unix.TP_STATUS_KERNEL
	tpStatusUser         = unix.TP_STATUS_USER
	tpStatusCopy         = unix.TP_STATUS_COPY
	tpStatusLosing       = unix.TP_STATUS_LOSING
	tpStatusCsumNotReady = unix.TP_STATUS_CSUMNOTREADY
)

func tpacketAlign(n int) int { return (n + tpacketAlignment - 1) &^ (tpacketAlignment - 1) }

// ring is a socket's receive ring. Socket.mu guards it; mem, the
// kernel's view of the ring's pages, is shared with the application,
// which changes it at will.
type ring struct {
	// off and size are the ring's pages in the memory file, of which
	// the ring holds one reference.
	off, size uint64
	mem       []byte
	// version is the socket's TPACKET version when the ring was made.
	version                     int
	blockSize, frameSize        uint32
	framesPerBlock, frameNumber uint32
	// head is the next slot the kernel fills.
	head uint32
}

// tpacketReq is struct tpacket_req.
type tpacketReq struct {
	blockSize, blockNumber, frameSize, frameNumber uint32
}

func parseTpacketReq(b []byte) tpacketReq {
	le := binary.LittleEndian
	return tpacketReq{le.Uint32(b), le.Uint32(b[4:]), le.Uint32(b[8:]), le.Uint32(b[12:])}
}

// HeaderLen is getsockopt(PACKET_HDRLEN) of version: the size of the
// frame header of that TPACKET version (not aligned, without the
// address). TPACKET_V3 is EINVAL, as a version Linux does not know is.
func (s *Socket) HeaderLen(version int32) (int32, error) {
	switch version {
	case tpacketV1, tpacketV2:
		return tpacketHdrSize, nil
	}
	return 0, unix.EINVAL
}

// setRing is setsockopt(PACKET_RX_RING): a request with blocks makes the
// ring (EBUSY if there is one), a request of none takes it down; either
// drops what waits in the receive queue, and neither may happen while
// the ring is mapped (EBUSY). The checks are Linux's (packet_set_ring()):
// blocks a positive multiple of the page size, frames aligned to
// TPACKET_ALIGNMENT and large enough for the header, the address and
// PACKET_RESERVE, at least one per block, and tp_frame_nr exactly the
// frames the blocks hold (EINVAL); memory the memory file cannot give is
// ENOMEM, on which libpcap asks again for less.
func (s *Socket) setRing(val []byte) error {
	if len(val) < tpacketReqLen {
		return unix.EINVAL
	}
	req := parseTpacketReq(val)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mapped > 0 {
		return unix.EBUSY
	}
	if req.blockNumber == 0 {
		if req.frameNumber != 0 {
			return unix.EINVAL
		}
		s.freeRingLocked()
		s.purgeLocked()
		return nil
	}
	if s.ring != nil {
		return unix.EBUSY
	}
	if int32(req.blockSize) <= 0 || req.blockSize%memfile.PageSize != 0 ||
		uint64(req.frameSize) < tpacketHdrLen+uint64(s.opts.reserve) || req.frameSize%tpacketAlignment != 0 {
		return unix.EINVAL
	}
	perBlock := req.blockSize / req.frameSize
	if perBlock == 0 || perBlock > math.MaxUint32/req.blockNumber || perBlock*req.blockNumber != req.frameNumber {
		return unix.EINVAL
	}
	size := uint64(req.blockSize) * uint64(req.blockNumber)
	off, err := s.mf.Allocate(size)
	if err != nil {
		return unix.ENOMEM
	}
	s.ring = &ring{
		off: off, size: size, mem: s.mf.Slice(off, size),
		version:   s.opts.version,
		blockSize: req.blockSize, frameSize: req.frameSize,
		framesPerBlock: perBlock, frameNumber: req.frameNumber,
	}
	s.purgeLocked()
	return nil
}

// freeRingLocked lets the ring's pages go: mappings hold references of
// their own, but none is left when this is called (a ring is not taken
// down while mapped, nor a socket released).
func (s *Socket) freeRingLocked() {
	if s.ring != nil {
		s.mf.DecRef(s.ring.off, s.ring.size)
		s.ring = nil
	}
}

// purgeLocked drops the frames in the receive queue.
func (s *Socket) purgeLocked() {
	clear(s.rq)
	s.rq, s.rmem = nil, 0
}

// slot returns where slot i starts in the ring.
func (r *ring) slot(i uint32) int {
	return int(i/r.framesPerBlock)*int(r.blockSize) + int(i%r.framesPerBlock)*int(r.frameSize)
}

// free reports whether the application has handed slot i back to the
// kernel: its tp_status is TP_STATUS_KERNEL. Any other value, whatever
// the application wrote, keeps the slot the application's.
func (r *ring) free(i uint32) bool {
	at := r.slot(i)
	if r.version == tpacketV1 {
		return loadStatus64(r.mem[at:]) == tpStatusKernel
	}
	return loadStatus32(r.mem[at:]) == tpStatusKernel
}

// readable is packet_poll's test: the slot before the head holds a frame
// for the application (it is not TP_STATUS_KERNEL).
func (r *ring) readable() bool {
	prev := r.frameNumber - 1
	if r.head != 0 {
		prev = r.head - 1
	}
	return !r.free(prev)
}

// ringReceiveLocked puts f (whose data the filter may have cut; the
// whole view is f.data[:f.origLen]) in the ring's head slot if the
// application has handed it back, else drops and counts it. Its header
// goes at the start of the slot, the sender's struct sockaddr_ll after
// it, the frame at tp_mac: the network header at tp_net, aligned, past
// room for 16 bytes of link header and PACKET_RESERVE's bytes, as Linux
// places them, cut to what the slot holds. tp_status is written last,
// with an atomic store, so the application that sees it sees the rest.
// A frame cut short by the slot is also queued whole when
// PACKET_COPY_THRESH is set and SO_RCVBUF has room (TP_STATUS_COPY), for
// recvmsg; that copy is returned for the caller to queue.
// Linux: tpacket_rcv().
func (s *Socket) ringReceiveLocked(f *frame, now time.Time) *frame {
	r := s.ring
	reserve := int(s.opts.reserve)
	var macOff, netOff int
	if s.cooked() {
		netOff = tpacketAlign(tpacketHdrLen) + 16 + reserve
		macOff = netOff
	} else {
		macLen := f.netOffset
		netOff = tpacketAlign(tpacketHdrLen+max(macLen, 16)) + reserve
		macOff = netOff - macLen
	}
	if netOff > math.MaxUint16 {
		s.drops++
		return nil
	}
	snap := len(f.data)
	var whole *frame
	if macOff+snap > int(r.frameSize) {
		if s.opts.copyThresh != 0 && s.rmem < s.opts.rcvbuf {
			// Linux queues the frame with an address of zeros but for
			// the family and protocol (the skb's control block is
			// cleared), 12 bytes long.
			whole = &frame{
				data: f.data[:f.origLen], origLen: f.origLen, netOffset: f.netOffset,
				from: linkAddr{proto: f.from.proto}, fromLen: addrOffset, csumNotReady: f.csumNotReady,
			}
		}
		snap = max(int(r.frameSize)-macOff, 0)
	}
	if !r.free(r.head) {
		s.drops++
		return nil
	}
	at := r.slot(r.head)
	if r.head++; r.head == r.frameNumber {
		r.head = 0
	}
	status := uint64(tpStatusUser)
	if f.csumNotReady {
		status |= tpStatusCsumNotReady
	}
	if s.drops != 0 {
		// Until PACKET_STATISTICS is read, which clears the count.
		status |= tpStatusLosing
	}
	if whole != nil {
		status |= tpStatusCopy
	}
	slot := r.mem[at : at+int(r.frameSize)]
	if snap > 0 {
		copy(slot[macOff:], f.data[:snap])
	}
	le := binary.LittleEndian
	h := slot[:tpacketHdrSize]
	if r.version == tpacketV1 {
		le.PutUint32(h[8:], uint32(f.origLen))   // tp_len
		le.PutUint32(h[12:], uint32(snap))       // tp_snaplen
		le.PutUint16(h[16:], uint16(macOff))     // tp_mac
		le.PutUint16(h[18:], uint16(netOff))     // tp_net
		le.PutUint32(h[20:], uint32(now.Unix())) // tp_sec
		le.PutUint32(h[24:], uint32(now.Nanosecond()/1000))
	} else {
		le.PutUint32(h[4:], uint32(f.origLen))
		le.PutUint32(h[8:], uint32(snap))
		le.PutUint16(h[12:], uint16(macOff))
		le.PutUint16(h[14:], uint16(netOff))
		le.PutUint32(h[16:], uint32(now.Unix()))
		le.PutUint32(h[20:], uint32(now.Nanosecond()))
		// tp_vlan_tci, tp_vlan_tpid and the padding: a VLAN tag stays
		// in the frame, so there is none to report.
		clear(h[24:32])
	}
	copy(slot[tpacketAlign(tpacketHdrSize):], f.from.encode(sockaddrLen))
	if r.version == tpacketV1 {
		storeStatus64(slot, status)
	} else {
		storeStatus32(slot, uint32(status))
	}
	return whole
}

// Mappable implements vfs.MappableImpl: the ring's pages, for mmap of
// the socket (which CheckMmap allows).
func (s *Socket) Mappable() vfs.Mappable { return s.pages }

// CheckMmap implements vfs.SpecialMappableImpl: a mapping must cover the
// ring exactly, from offset 0 (EINVAL otherwise, and without a ring).
// Linux: packet_mmap(). Linux checks and maps under one lock; here
// another thread may replace the ring between the check and the
// mapping's registration, and the mapping then maps the new ring, of
// which pages past its end are SIGBUS, never another's memory.
func (s *Socket) CheckMmap(offset, length uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if offset != 0 || s.ring == nil || length != s.ring.size {
		return unix.EINVAL
	}
	return nil
}

// ringPages is the socket's ring as address spaces map it
// (vfs.Mappable). Its methods are called with mm.MM.mu held, and take
// Socket.mu after it.
type ringPages struct {
	s *Socket
}

var _ vfs.SpecialMappableImpl = (*Socket)(nil)

// MapPages implements vfs.Mappable: the ring's pages in [start, end),
// none past its end (a mapping grown by mremap) or once it is gone.
func (p *ringPages) MapPages(start, end uint64) ([]vfs.MappedRange, error) {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.ring
	if r == nil || start >= r.size {
		return nil, nil
	}
	end = min(end, r.size)
	if start >= end {
		return nil, nil
	}
	s.mf.IncRef(r.off+start, end-start)
	return []vfs.MappedRange{{FileOff: start, Off: r.off + start, Len: end - start}}, nil
}

// AddMapping implements vfs.Mappable: while an address space maps the
// ring it can be neither taken down nor replaced (EBUSY), as on Linux.
func (p *ringPages) AddMapping(vfs.MappingSpace) {
	p.s.mu.Lock()
	p.s.mapped++
	p.s.mu.Unlock()
}

// RemoveMapping implements vfs.Mappable.
func (p *ringPages) RemoveMapping(vfs.MappingSpace) {
	p.s.mu.Lock()
	p.s.mapped--
	p.s.mu.Unlock()
}
