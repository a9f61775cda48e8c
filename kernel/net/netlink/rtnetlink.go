package netlink

import (
	"golang.org/x/sys/unix"

	"magawa/kernel/waiter"
)

// This file is the kernel's side of NETLINK_ROUTE: it reads the
// requests of a datagram, hands each to the handler of its type and
// queues the answers, acknowledgments and errors on the sender.
// Linux: net/netlink/af_netlink.c, netlink_rcv_skb() and netlink_ack();
// net/core/rtnetlink.c, rtnetlink_rcv_msg().

// request is one message of a datagram sent to the kernel, being
// served.
type request struct {
	stack Stack
	hdr   header
	// msg is the whole message: hdr.Len bytes.
	msg []byte
	// port is the sender's port ID, which every answer carries.
	port uint32
	opts options
	// netAdmin says whether the sender has CAP_NET_ADMIN: what every
	// request but a GET needs.
	netAdmin bool
}

func (r *request) payload() []byte { return r.msg[hdrLen:] }

// reply starts an answer to r.
func (r *request) reply(typ, flags uint16) *message {
	return newMessage(typ, flags, r.hdr.Seq, r.port)
}

// answer is what serving a request produced.
type answer struct {
	// msgs are answers (a GET's), each a datagram of its own, queued
	// before the acknowledgment.
	msgs [][]byte
	// dump is a dump to start.
	dump *dump
	err  unix.Errno
	// msg is the extended acknowledgment's message, for a socket that
	// asked for them (NETLINK_EXT_ACK).
	msg string
}

func fail(e unix.Errno) answer { return answer{err: e} }

func failWith(e *parseError) answer { return answer{err: e.errno, msg: e.msg} }

// serve serves the requests in b, one message after another. A message
// whose header is malformed or claims more than is left ends the
// datagram silently; one that is not a request, or a control message,
// is only acknowledged if it asks to be.
func (s *Socket) serve(r *request, b []byte) {
	for len(b) >= hdrLen {
		h := parseHeader(b)
		if h.Len < hdrLen || uint64(h.Len) > uint64(len(b)) {
			return
		}
		r.hdr, r.msg = h, b[:h.Len]
		var a answer
		if h.Flags&unix.NLM_F_REQUEST != 0 && h.Type >= unix.NLMSG_MIN_TYPE {
			a = r.serve()
		}
		s.queueAnswer(r, a)
		b = b[min(align(int(h.Len)), len(b)):]
	}
}

// queueAnswer queues a's messages, starts its dump (EBUSY if one is
// running: a socket has one at a time), then the acknowledgment, which
// a started dump has instead in its NLMSG_DONE.
func (s *Socket) queueAnswer(r *request, a answer) {
	s.mu.Lock()
	for _, m := range a.msgs {
		s.unicastLocked(m)
	}
	if a.dump != nil {
		if s.dump != nil {
			a.err, a.msg = unix.EBUSY, ""
		} else {
			s.dump = a.dump
			// A queue already over SO_RCVBUF makes the dump wait for
			// the reader, as the rest of every dump does.
			if s.rmem < s.opts.rcvbuf {
				s.nextDumpLocked()
			}
			s.mu.Unlock()
			s.queue.Notify(inEvents)
			return
		}
	}
	if r.hdr.Flags&unix.NLM_F_ACK != 0 || a.err != 0 {
		s.unicastLocked(r.ack(a.err, a.msg))
	}
	s.mu.Unlock()
	// EventErr: an answer may have been dropped (ENOBUFS).
	s.queue.Notify(inEvents | waiter.EventErr)
}

// ack is NLMSG_ERROR: the error (0 for an acknowledgment), the
// request's header and, for an error, its payload too (unless the
// socket asked for NETLINK_CAP_ACK), then the extended
// acknowledgment's message.
func (r *request) ack(e unix.Errno, msg string) []byte {
	var flags uint16
	capped := e == 0 || r.opts.capAck
	if capped {
		flags |= unix.NLM_F_CAPPED
	}
	tlv := r.opts.extAck && msg != ""
	if tlv {
		flags |= unix.NLM_F_ACK_TLVS
	}
	m := r.reply(unix.NLMSG_ERROR, flags)
	var errno [4]byte
	ne.PutUint32(errno[:], uint32(-int32(e)))
	m.b = append(m.b, errno[:]...)
	if capped {
		m.b = append(m.b, r.msg[:hdrLen]...)
	} else {
		m.b = append(m.b, r.msg...)
		m.pad()
	}
	if tlv {
		m.str(unix.NLMSGERR_ATTR_MSG, msg)
	}
	return m.bytes()
}

// dumper collects a dump's answers, and its end: NLMSG_DONE with an
// error (a request the dump refused) and its extended acknowledgment.
type dumper struct {
	r     *request
	parts [][]byte
	// flags are added to NLM_F_MULTI on each part, doneFlags on
	// NLMSG_DONE (NLM_F_DUMP_FILTERED).
	flags, doneFlags uint16
	err              unix.Errno
	msg              string
	foldDone         bool
}

func (d *dumper) start(typ uint16) *message {
	return d.r.reply(typ, unix.NLM_F_MULTI|d.flags)
}

func (d *dumper) add(b []byte) { d.parts = append(d.parts, b) }

func (d *dumper) fail(e *parseError) { d.err, d.msg = e.errno, e.msg }

func (d *dumper) finish() *dump {
	flags := unix.NLM_F_MULTI | d.doneFlags
	tlv := d.r.opts.extAck && d.msg != ""
	if tlv {
		flags |= unix.NLM_F_ACK_TLVS
	}
	m := d.r.reply(unix.NLMSG_DONE, uint16(flags))
	var errno [4]byte
	ne.PutUint32(errno[:], uint32(-int32(d.err)))
	m.b = append(m.b, errno[:]...)
	if tlv {
		m.str(unix.NLMSGERR_ATTR_MSG, d.msg)
	}
	return &dump{parts: d.parts, done: m.bytes(), foldDone: d.foldDone}
}

// dumpers serve GET requests with NLM_F_DUMP, by message type; doers
// serve the other requests. Each is given the family of the request's
// first byte (struct rtgenmsg), which every request of the route family
// starts with.
var (
	dumpers = map[uint16]func(d *dumper, family uint8){
		unix.RTM_GETLINK:  dumpLinks,
		unix.RTM_GETADDR:  dumpAddrs,
		unix.RTM_GETROUTE: dumpRoutes,
		unix.RTM_GETRULE:  dumpRules,
		unix.RTM_GETNEIGH: func(*dumper, uint8) {}, // the stack's neighbors are not shown
	}
	doers = map[uint16]func(r *request, family uint8) answer{
		unix.RTM_GETLINK: getLink,
		unix.RTM_NEWLINK: newLink,
		unix.RTM_SETLINK: setLink,
		unix.RTM_DELLINK: delLink,
		unix.RTM_GETADDR: getAddr,
		unix.RTM_NEWADDR: newAddr,
		unix.RTM_DELADDR: delAddr,
	}
)

// serve serves one request. Types past RTM_MAX and types no handler
// serves fail with EOPNOTSUPP; every type but a GET needs CAP_NET_ADMIN
// (EPERM), checked before the type is looked up; a request too short to
// have a family is ignored. Linux: rtnetlink_rcv_msg().
func (r *request) serve() answer {
	typ := r.hdr.Type
	if typ > unix.RTM_MAX {
		return fail(unix.EOPNOTSUPP)
	}
	p := r.payload()
	if len(p) < 1 {
		return answer{}
	}
	family := p[0]
	get := (typ-unix.RTM_BASE)&3 == 2
	if !get && !r.netAdmin {
		return fail(unix.EPERM)
	}
	if get && r.hdr.Flags&unix.NLM_F_DUMP != 0 {
		fn := dumpers[typ]
		if fn == nil {
			return fail(unix.EOPNOTSUPP)
		}
		d := &dumper{r: r}
		fn(d, family)
		return answer{dump: d.finish()}
	}
	fn := doers[typ]
	if fn == nil {
		return fail(unix.EOPNOTSUPP)
	}
	return fn(r, family)
}

// attrsAfter returns what follows a message's fixed part of n bytes,
// where the attributes start (NLMSG_ALIGN(n) into the payload).
func attrsAfter(p []byte, n int) []byte {
	if align(n) >= len(p) {
		return nil
	}
	return p[align(n):]
}
