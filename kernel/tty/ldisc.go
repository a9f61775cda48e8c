package tty

import (
	"time"

	"golang.org/x/sys/unix"

	"magawa/kernel/waiter"
)

// This file is the line discipline: Linux's N_TTY (drivers/tty/n_tty.c),
// whose behaviour it follows byte for byte where programs can see it.
// All functions run with Terminal.mu held.

// setSpecialLocked recomputes which bytes the input side must look at.
// Bytes outside the set are ordinary: echoed (a control character as ^X
// under ECHOCTL, even a newline in non-canonical mode) and queued.
// Linux: n_tty.c, n_tty_set_termios(), char_map.
func (t *Terminal) setSpecialLocked() {
	tio := &t.termios
	cc := &tio.Cc
	s := &t.special
	*s = [256]bool{}
	if tio.Iflag&(unix.IGNCR|unix.ICRNL) != 0 {
		s['\r'] = true
	}
	if tio.Iflag&unix.INLCR != 0 {
		s['\n'] = true
	}
	if tio.Lflag&unix.ICANON != 0 {
		s[cc[unix.VERASE]] = true
		s[cc[unix.VKILL]] = true
		s[cc[unix.VEOF]] = true
		s['\n'] = true
		s[cc[unix.VEOL]] = true
		if tio.Lflag&unix.IEXTEN != 0 {
			s[cc[unix.VWERASE]] = true
			s[cc[unix.VLNEXT]] = true
			s[cc[unix.VEOL2]] = true
			if tio.Lflag&unix.ECHO != 0 {
				s[cc[unix.VREPRINT]] = true
			}
		}
	}
	if tio.Iflag&unix.IXON != 0 {
		s[cc[unix.VSTART]] = true
		s[cc[unix.VSTOP]] = true
	}
	if tio.Lflag&unix.ISIG != 0 {
		s[cc[unix.VINTR]] = true
		s[cc[unix.VQUIT]] = true
		s[cc[unix.VSUSP]] = true
	}
	s[vdisable] = false
}

// setTermiosLocked installs new settings. The pty driver keeps 8 data
// bits and the receiver on. Switching canonical mode on makes what was
// typed a line, as Linux does. Linux: n_tty_set_termios(); pty.c,
// pty_set_termios().
func (t *Terminal) setTermiosLocked(nt unix.Termios, ev *events) {
	old := t.termios
	nt.Cflag = nt.Cflag&^(unix.CSIZE|unix.PARENB) | unix.CS8 | unix.CREAD
	t.termios = nt
	if (old.Lflag^nt.Lflag)&(unix.ICANON|unix.EXTPROC) != 0 {
		clear(t.inDelim)
		if nt.Lflag&unix.ICANON == 0 || len(t.in) == 0 {
			t.canonHead = 0
		} else {
			t.inDelim[len(t.in)-1] = true
			t.canonHead = len(t.in)
		}
		t.erasing = false
		t.lnext = false
	}
	t.setSpecialLocked()
	if old.Iflag&unix.IXON != 0 && nt.Iflag&unix.IXON == 0 && !t.tcoStopped {
		t.startLocked(ev)
	}
	if t.packet {
		// Tell the master whether ^S/^Q flow control is on. Linux:
		// pty_set_termios().
		flow := func(tio *unix.Termios) bool {
			return tio.Iflag&unix.IXON != 0 && tio.Cc[unix.VSTOP] == 0x13 && tio.Cc[unix.VSTART] == 0x11
		}
		if of, nf := flow(&old), flow(&nt); of != nf {
			t.pktStatus &^= unix.TIOCPKT_DOSTOP | unix.TIOCPKT_NOSTOP
			if nf {
				t.pktStatus |= unix.TIOCPKT_DOSTOP
			} else {
				t.pktStatus |= unix.TIOCPKT_NOSTOP
			}
			ev.master |= readable | waiter.EventPri
		}
	}
	// VMIN, VTIME and ICANON change what readers wait for.
	ev.slave |= readable | writable
	t.receiveLocked(ev)
}

// Input: the master writes, the slave reads.

// masterWrite queues src for the slave's line discipline and runs it.
func (t *Terminal) masterWrite(src []byte) (int, error) {
	if len(src) == 0 {
		return 0, nil
	}
	var ev events
	t.mu.Lock()
	n := min(flipSize-len(t.flip), len(src))
	if n == 0 {
		t.mu.Unlock()
		return 0, unix.EAGAIN
	}
	t.flip = append(t.flip, src[:n]...)
	t.receiveLocked(&ev)
	t.mu.Unlock()
	t.deliver(&ev)
	return n, nil
}

// receiveLocked feeds the flip buffer to the line discipline while the
// read buffer has room. Linux: n_tty.c, n_tty_receive_buf_common().
func (t *Terminal) receiveLocked(ev *events) {
	taken := 0
	for len(t.flip) > 0 {
		if len(t.in) >= readBufSize-1 {
			// Full. One canonical line that fills the buffer keeps taking
			// bytes, each replacing the last, so that a newline can still
			// end it; otherwise the writer waits for the reader.
			if !t.canonical() || t.canonHead != 0 {
				break
			}
			if len(t.in) >= readBufSize {
				t.in = t.in[:len(t.in)-1]
				t.inDelim = t.inDelim[:len(t.inDelim)-1]
			}
		}
		c := t.flip[0]
		t.flip = t.flip[1:]
		taken++
		t.receiveByteLocked(c, ev)
	}
	if len(t.flip) == 0 {
		t.flip = nil
	}
	if taken > 0 {
		ev.master |= writable
	}
}

// receiveByteLocked runs one input byte through the line discipline.
// Linux: n_tty_receive_buf_standard(), n_tty_receive_char_special(),
// n_tty_receive_char().
func (t *Terminal) receiveByteLocked(c byte, ev *events) {
	tio := &t.termios
	if tio.Iflag&unix.ISTRIP != 0 {
		c &= 0x7f
	}
	if tio.Iflag&unix.IUCLC != 0 && tio.Lflag&unix.IEXTEN != 0 && 'A' <= c && c <= 'Z' {
		c += 'a' - 'A'
	}
	if t.lnext {
		t.lnext = false
		t.receiveOrdinaryLocked(c, ev)
		return
	}
	if !t.special[c] {
		t.receiveOrdinaryLocked(c, ev)
		return
	}
	cc := &tio.Cc
	is := func(i int) bool { return cc[i] != vdisable && c == cc[i] }
	iext := tio.Lflag&unix.IEXTEN != 0
	echo := tio.Lflag&unix.ECHO != 0

	if tio.Iflag&unix.IXON != 0 {
		if is(unix.VSTART) {
			t.startLocked(ev)
			return
		}
		if is(unix.VSTOP) {
			t.stopped = true
			t.notifyStopLocked(ev, unix.TIOCPKT_STOP)
			return
		}
	}
	if tio.Lflag&unix.ISIG != 0 {
		switch {
		case is(unix.VINTR):
			t.isigLocked(unix.SIGINT, c, ev)
			return
		case is(unix.VQUIT):
			t.isigLocked(unix.SIGQUIT, c, ev)
			return
		case is(unix.VSUSP):
			t.isigLocked(unix.SIGTSTP, c, ev)
			return
		}
	}
	t.restartOnAnyLocked(ev)
	if c == '\r' {
		if tio.Iflag&unix.IGNCR != 0 {
			return
		}
		if tio.Iflag&unix.ICRNL != 0 {
			c = '\n'
		}
	} else if c == '\n' && tio.Iflag&unix.INLCR != 0 {
		c = '\r'
	}
	if t.canonical() {
		switch {
		case is(unix.VERASE), is(unix.VKILL), is(unix.VWERASE) && iext:
			t.eraseLocked(c, ev)
			return
		case is(unix.VLNEXT) && iext:
			t.lnext = true
			if echo {
				t.finishErasingLocked(ev)
				if tio.Lflag&unix.ECHOCTL != 0 {
					// Show ^ under the cursor until the next byte.
					t.echoRawLocked('^', ev)
					t.echoRawLocked('\b', ev)
				}
			}
			return
		case is(unix.VREPRINT) && echo && iext:
			t.finishErasingLocked(ev)
			t.echoCharLocked(c, ev)
			t.echoRawLocked('\n', ev)
			for _, b := range t.in[t.canonHead:] {
				t.echoCharLocked(b, ev)
			}
			return
		case c == '\n':
			if echo || tio.Lflag&unix.ECHONL != 0 {
				t.echoRawLocked('\n', ev)
			}
			t.putLocked(c, true, ev)
			return
		case is(unix.VEOF):
			// End of file: ends the line without being part of it; a 0
			// byte marks it (Linux's __DISABLED_CHAR).
			t.putLocked(vdisable, true, ev)
			return
		case is(unix.VEOL), is(unix.VEOL2) && iext:
			if echo {
				t.noteLineStartLocked()
				t.echoCharLocked(c, ev)
			}
			if c == 0xff && tio.Iflag&unix.PARMRK != 0 {
				t.putLocked(c, false, ev)
			}
			t.putLocked(c, true, ev)
			return
		}
	}
	if echo {
		t.finishErasingLocked(ev)
		if c == '\n' {
			t.echoRawLocked('\n', ev)
		} else {
			t.noteLineStartLocked()
			t.echoCharLocked(c, ev)
		}
	}
	if c == 0xff && tio.Iflag&unix.PARMRK != 0 {
		t.putLocked(c, false, ev)
	}
	t.putLocked(c, false, ev)
}

// receiveOrdinaryLocked queues a byte the line discipline does not
// interpret. Linux: n_tty_receive_char().
func (t *Terminal) receiveOrdinaryLocked(c byte, ev *events) {
	t.restartOnAnyLocked(ev)
	if t.termios.Lflag&unix.ECHO != 0 {
		t.finishErasingLocked(ev)
		t.noteLineStartLocked()
		t.echoCharLocked(c, ev)
	}
	if c == 0xff && t.termios.Iflag&unix.PARMRK != 0 {
		t.putLocked(c, false, ev)
	}
	t.putLocked(c, false, ev)
}

// restartOnAnyLocked restarts output stopped by the STOP character when
// IXANY lets any byte restart it.
func (t *Terminal) restartOnAnyLocked(ev *events) {
	if t.stopped && !t.tcoStopped && t.termios.Iflag&unix.IXON != 0 && t.termios.Iflag&unix.IXANY != 0 {
		t.startLocked(ev)
	}
}

// putLocked appends a byte to the slave's read buffer; delim ends a line.
func (t *Terminal) putLocked(c byte, delim bool, ev *events) {
	t.in = append(t.in, c)
	t.inDelim = append(t.inDelim, delim)
	t.lastInput = t.now()
	if delim && t.canonical() {
		t.canonHead = len(t.in)
	}
	ev.slave |= readable
}

// noteLineStartLocked records the screen column where the line being
// edited starts, when the byte being echoed is its first.
func (t *Terminal) noteLineStartLocked() {
	if len(t.in) == t.canonHead {
		t.canonColumn = t.column
	}
}

// isigLocked handles a signal character: the foreground group gets sig
// and, unless NOFLSH, both directions are flushed. Linux: n_tty.c, isig()
// and n_tty_receive_signal_char().
func (t *Terminal) isigLocked(sig unix.Signal, c byte, ev *events) {
	if t.pgrp != 0 {
		ev.signals = append(ev.signals, groupSignal{t.pgrp, sig})
	}
	if t.termios.Lflag&unix.NOFLSH == 0 {
		t.held = nil
		t.flushOutputLocked(ev)
		t.flushReadBufLocked(ev)
	}
	if t.termios.Iflag&unix.IXON != 0 {
		t.startLocked(ev)
	}
	if t.termios.Lflag&unix.ECHO != 0 {
		t.echoCharLocked(c, ev)
	}
}

// flushReadBufLocked empties the slave's read buffer. Linux:
// reset_buffer_flags() and n_tty_packet_mode_flush().
func (t *Terminal) flushReadBufLocked(ev *events) {
	t.in, t.inDelim, t.canonHead = nil, nil, 0
	t.lnext, t.erasing = false, false
	if t.packet {
		t.pktStatus |= unix.TIOCPKT_FLUSHREAD
		ev.master |= readable | waiter.EventPri
	}
	t.receiveLocked(ev)
}

// flushOutputLocked drops output the master's read buffer has not taken
// (the slave's "driver buffer"). Linux: pty.c, pty_flush_buffer().
func (t *Terminal) flushOutputLocked(ev *events) {
	t.outFlip = nil
	if t.packet {
		t.pktStatus |= unix.TIOCPKT_FLUSHWRITE
		ev.master |= readable | waiter.EventPri
	}
	ev.slave |= writable
}

// startLocked restarts stopped output. Linux: tty_io.c, start_tty().
func (t *Terminal) startLocked(ev *events) {
	wasStopped := t.stopped
	t.stopped, t.tcoStopped = false, false
	if wasStopped {
		t.notifyStopLocked(ev, unix.TIOCPKT_START)
	}
	t.flushHeldLocked()
	ev.slave |= writable
	ev.master |= readable
}

// notifyStopLocked reports a stop or start to a master in packet mode.
// Linux: pty.c, pty_start() and pty_stop().
func (t *Terminal) notifyStopLocked(ev *events, status uint8) {
	if !t.packet {
		return
	}
	t.pktStatus &^= unix.TIOCPKT_STOP | unix.TIOCPKT_START
	t.pktStatus |= status
	ev.master |= readable | waiter.EventPri
}

// eraseLocked is ERASE, WERASE and KILL in canonical mode: it removes
// the last character, word or the whole line being edited, and shows it.
// Linux: n_tty.c, eraser().
func (t *Terminal) eraseLocked(c byte, ev *events) {
	if len(t.in) == t.canonHead {
		return // nothing to erase
	}
	tio := &t.termios
	cc := &tio.Cc
	const (
		eraseChar = iota
		eraseWord
		eraseLine
	)
	kind := eraseChar
	switch {
	case c == cc[unix.VERASE]:
	case c == cc[unix.VWERASE]:
		kind = eraseWord
	default:
		kind = eraseLine
	}
	echo := tio.Lflag&unix.ECHO != 0
	if kind == eraseLine {
		if !echo {
			t.truncateLineLocked(t.canonHead)
			return
		}
		if tio.Lflag&unix.ECHOK == 0 || tio.Lflag&unix.ECHOKE == 0 || tio.Lflag&unix.ECHOE == 0 {
			// Show the KILL character (and a newline with ECHOK) instead
			// of wiping the line off the screen.
			t.truncateLineLocked(t.canonHead)
			t.finishErasingLocked(ev)
			t.echoCharLocked(c, ev)
			if tio.Lflag&unix.ECHOK != 0 {
				t.echoRawLocked('\n', ev)
			}
			return
		}
	}
	seenAlnum := false
	for len(t.in) > t.canonHead {
		// The last character, all its UTF-8 bytes under IUTF8.
		head := len(t.in) - 1
		for head > t.canonHead && t.continuation(t.in[head]) {
			head--
		}
		ch := t.in[head]
		if t.continuation(ch) {
			break // a partial character: leave it
		}
		if kind == eraseWord {
			// Trailing blanks and punctuation go, then the word.
			if isAlnum(ch) || ch == '_' {
				seenAlnum = true
			} else if seenAlnum {
				break
			}
		}
		erased := string(t.in[head:])
		pos := head
		t.truncateLineLocked(head)
		if echo {
			switch {
			case tio.Lflag&unix.ECHOPRT != 0:
				if !t.erasing {
					t.echoRawLocked('\\', ev)
					t.erasing = true
				}
				t.echoCharLocked(erased[0], ev)
				for i := 1; i < len(erased); i++ {
					t.echoRawLocked(erased[i], ev)
				}
			case kind == eraseChar && tio.Lflag&unix.ECHOE == 0:
				t.echoCharLocked(cc[unix.VERASE], ev)
			case ch == '\t':
				for range t.tabWidthLocked(pos) {
					t.echoRawLocked('\b', ev)
				}
			default:
				ctl := isCntrl(ch)
				ctlShown := tio.Lflag&unix.ECHOCTL != 0
				if ctl && ctlShown {
					t.echoRawString("\b \b", ev)
				}
				if !ctl || ctlShown {
					t.echoRawString("\b \b", ev)
				}
			}
		}
		if kind == eraseChar {
			break
		}
	}
	if len(t.in) == t.canonHead && echo {
		t.finishErasingLocked(ev)
	}
}

// tabWidthLocked returns how many columns the tab that was at in[pos]
// took on the screen: the line's text before it, from canonColumn.
func (t *Terminal) tabWidthLocked(pos int) int {
	col := t.canonColumn
	ctlShown := t.termios.Lflag&unix.ECHOCTL != 0
	for _, b := range t.in[t.canonHead:pos] {
		switch {
		case b == '\t':
			col += 8 - col%8
		case isCntrl(b):
			if ctlShown {
				col += 2
			}
		case t.continuation(b):
		default:
			col++
		}
	}
	return 8 - col%8
}

func (t *Terminal) truncateLineLocked(n int) {
	t.in = t.in[:n]
	t.inDelim = t.inDelim[:n]
}

// finishErasingLocked closes an ECHOPRT erase with '/'.
func (t *Terminal) finishErasingLocked(ev *events) {
	if t.erasing {
		t.echoRawLocked('/', ev)
		t.erasing = false
	}
}

func (t *Terminal) continuation(c byte) bool {
	return t.termios.Iflag&unix.IUTF8 != 0 && c&0xc0 == 0x80
}

func isCntrl(c byte) bool { return c < 0x20 || c == 0x7f }

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// Echo and output: what the master reads.

// echoCharLocked echoes an input byte: a control character (but tab) as
// ^X under ECHOCTL, others through output processing. Linux: echo_char().
func (t *Terminal) echoCharLocked(c byte, ev *events) {
	if t.termios.Lflag&unix.ECHOCTL != 0 && isCntrl(c) && c != '\t' {
		t.column += 2
		t.emitLocked([]byte{'^', c ^ 0x40}, ev)
		return
	}
	t.echoRawLocked(c, ev)
}

// echoRawLocked echoes a byte through output processing (Linux:
// echo_char_raw() and process_echoes()).
func (t *Terminal) echoRawLocked(c byte, ev *events) {
	var buf [8]byte
	t.emitLocked(t.opostLocked(c, buf[:0]), ev)
}

func (t *Terminal) echoRawString(s string, ev *events) {
	for i := 0; i < len(s); i++ {
		t.echoRawLocked(s[i], ev)
	}
}

// emitLocked sends echo bytes to the master; while output is stopped or
// full they wait in held (beyond heldSize they are lost, as echoes
// overrunning Linux's echo buffer are).
func (t *Terminal) emitLocked(b []byte, ev *events) {
	if !t.masterOpen {
		return
	}
	if len(t.held) > 0 || t.stopped {
		t.held = append(t.held, b[:min(len(b), heldSize-len(t.held))]...)
		return
	}
	n := min(len(b), flipSize-len(t.outFlip))
	t.outFlip = append(t.outFlip, b[:n]...)
	if n < len(b) {
		t.held = append(t.held, b[n:min(len(b), n+heldSize)]...)
	}
	t.pushOutLocked()
	ev.master |= readable
}

// flushHeldLocked moves held echoes to the master as room allows.
func (t *Terminal) flushHeldLocked() {
	if t.stopped || len(t.held) == 0 {
		return
	}
	n := min(len(t.held), flipSize-len(t.outFlip))
	t.outFlip = append(t.outFlip, t.held[:n]...)
	t.held = t.held[n:]
	if len(t.held) == 0 {
		t.held = nil
	}
	t.pushOutLocked()
}

// pushOutLocked moves output from the master's flip buffer into its read
// buffer, which keeps a byte free as the raw n_tty does.
func (t *Terminal) pushOutLocked() {
	n := min(len(t.outFlip), readBufSize-1-len(t.out))
	if n <= 0 {
		return
	}
	t.out = append(t.out, t.outFlip[:n]...)
	t.outFlip = t.outFlip[n:]
	if len(t.outFlip) == 0 {
		t.outFlip = nil
	}
}

// opostLocked appends c, as output processing turns it, to buf and moves
// the column; without OPOST the byte passes as it is. Linux: n_tty.c,
// do_output_char().
func (t *Terminal) opostLocked(c byte, buf []byte) []byte {
	o := t.termios.Oflag
	if o&unix.OPOST == 0 {
		return append(buf, c)
	}
	switch c {
	case '\n':
		if o&unix.ONLRET != 0 {
			t.column = 0
		}
		if o&unix.ONLCR != 0 {
			t.column, t.canonColumn = 0, 0
			return append(buf, '\r', '\n')
		}
		t.canonColumn = t.column
	case '\r':
		if o&unix.ONOCR != 0 && t.column == 0 {
			return buf
		}
		if o&unix.OCRNL != 0 {
			c = '\n'
			if o&unix.ONLRET != 0 {
				t.column, t.canonColumn = 0, 0
			}
			break
		}
		t.column, t.canonColumn = 0, 0
	case '\t':
		spaces := 8 - t.column%8
		t.column += spaces
		if o&unix.TABDLY == unix.XTABS {
			for range spaces {
				buf = append(buf, ' ')
			}
			return buf
		}
	case '\b':
		if t.column > 0 {
			t.column--
		}
	default:
		if !isCntrl(c) {
			if o&unix.OLCUC != 0 && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			if !t.continuation(c) {
				t.column++
			}
		}
	}
	return append(buf, c)
}

// slaveWrite runs src through output processing to the master. It takes
// bytes while their output fits, and fails with EAGAIN when none fits or
// output is stopped. Linux: n_tty.c, n_tty_write().
func (t *Terminal) slaveWrite(src []byte) (int, error) {
	if len(src) == 0 {
		return 0, nil
	}
	var ev events
	t.mu.Lock()
	if t.hungUp {
		t.mu.Unlock()
		return 0, unix.EIO
	}
	t.flushHeldLocked()
	if t.stopped || len(t.held) > 0 {
		t.mu.Unlock()
		return 0, unix.EAGAIN
	}
	n := 0
	var buf [8]byte
	for n < len(src) {
		room := flipSize - len(t.outFlip)
		if room == 0 {
			break
		}
		if t.termios.Oflag&unix.OPOST == 0 {
			k := min(room, len(src)-n)
			t.outFlip = append(t.outFlip, src[n:n+k]...)
			n += k
			continue
		}
		// The byte goes only if all of its output fits.
		col, canonCol := t.column, t.canonColumn
		b := t.opostLocked(src[n], buf[:0])
		if len(b) > room {
			t.column, t.canonColumn = col, canonCol
			break
		}
		t.outFlip = append(t.outFlip, b...)
		n++
	}
	if n > 0 {
		t.pushOutLocked()
		ev.master |= readable
	}
	t.mu.Unlock()
	t.deliver(&ev)
	if n == 0 {
		return 0, unix.EAGAIN
	}
	return n, nil
}

// masterRead reads what the slave wrote and echoed. In packet mode a
// status byte comes alone, and data follows a 0 byte. The slave's close
// shows as EIO once everything is read. Linux: n_tty_read() on the
// master's raw line discipline.
func (t *Terminal) masterRead(dst []byte) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	var ev events
	t.mu.Lock()
	if t.packet && t.pktStatus != 0 {
		dst[0] = t.pktStatus
		t.pktStatus = 0
		t.mu.Unlock()
		return 1, nil
	}
	if len(t.out) == 0 {
		closed := t.slaveClosed
		t.mu.Unlock()
		if closed {
			return 0, unix.EIO
		}
		return 0, unix.EAGAIN
	}
	var n, k int
	if t.packet {
		dst[0] = unix.TIOCPKT_DATA
		k = copy(dst[1:], t.out)
		n = 1 + k
	} else {
		k = copy(dst, t.out)
		n = k
	}
	t.out = t.out[k:]
	if len(t.out) == 0 {
		t.out = nil
	}
	t.pushOutLocked()
	t.flushHeldLocked()
	ev.slave |= writable
	t.mu.Unlock()
	t.deliver(&ev)
	return n, nil
}

// slaveRead reads the slave's input: one line in canonical mode, else
// as VMIN and VTIME say. A hung-up slave reads end of file. Linux:
// n_tty.c, n_tty_read().
func (t *Terminal) slaveRead(s *Slave, dst []byte) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	var ev events
	t.mu.Lock()
	if t.hungUp {
		t.mu.Unlock()
		return 0, nil
	}
	var n int
	var err error
	if t.canonical() {
		n, err = t.canonReadLocked(dst)
	} else {
		n, err = t.rawReadLocked(s, dst)
	}
	if err != unix.EAGAIN {
		s.readStart = time.Time{}
	}
	if n > 0 {
		// Room for more input, and for a writer on the master.
		t.receiveLocked(&ev)
	}
	t.mu.Unlock()
	t.deliver(&ev)
	return n, err
}

// canonReadLocked reads up to one line. The line's end of file mark is
// taken but not returned (an empty line with one is end of file); a
// delimiter just past dst's end is taken with the line when it is the
// mark. Linux: canon_copy_from_read_buf().
func (t *Terminal) canonReadLocked(dst []byte) (int, error) {
	if t.canonHead == 0 {
		return 0, unix.EAGAIN
	}
	eol := -1
	for i := range min(len(dst)+1, t.canonHead) {
		if t.inDelim[i] {
			eol = i
			break
		}
	}
	copyN, take := len(dst), len(dst)
	switch {
	case eol < 0:
	case t.in[eol] == vdisable:
		copyN, take = eol, eol+1
	case eol < len(dst):
		copyN, take = eol+1, eol+1
	}
	copy(dst, t.in[:copyN])
	t.consumeLocked(take)
	return copyN, nil
}

// rawReadLocked is a non-canonical read. Linux: n_tty_read(), the
// minimum and timeout rules; the bytes stay queued until the read can
// complete, since the system-call layer retries it from the start.
func (t *Terminal) rawReadLocked(s *Slave, dst []byte) (int, error) {
	vmin := int(t.termios.Cc[unix.VMIN])
	vtime := time.Duration(t.termios.Cc[unix.VTIME]) * 100 * time.Millisecond
	avail := len(t.in)
	need := 1
	if vmin > 0 && !s.nonblock {
		need = min(vmin, len(dst))
	}
	take := func() (int, error) {
		n := copy(dst, t.in)
		t.consumeLocked(n)
		return n, nil
	}
	if avail >= need && avail > 0 {
		return take()
	}
	now := t.now()
	switch {
	case vmin == 0 && vtime == 0:
		return 0, nil // polling read
	case vmin == 0:
		// A read timer from the start of the read.
		if s.nonblock {
			return 0, unix.EAGAIN
		}
		if s.readStart.IsZero() {
			s.readStart = now
		}
		deadline := s.readStart.Add(vtime)
		if !now.Before(deadline) {
			return 0, nil
		}
		t.armTimerLocked(deadline)
		return 0, unix.EAGAIN
	case vtime > 0 && avail > 0:
		// An inter-byte timer: from the read's start if input was there
		// already, else from the last byte to arrive.
		if s.readStart.IsZero() {
			s.readStart = now
		}
		base := s.readStart
		if t.lastInput.After(base) {
			base = t.lastInput
		}
		deadline := base.Add(vtime)
		if !now.Before(deadline) {
			return take()
		}
		t.armTimerLocked(deadline)
		return 0, unix.EAGAIN
	}
	return 0, unix.EAGAIN
}

// consumeLocked drops the first n bytes of the slave's read buffer.
func (t *Terminal) consumeLocked(n int) {
	t.in = t.in[n:]
	t.inDelim = t.inDelim[n:]
	t.canonHead = max(t.canonHead-n, 0)
	if len(t.in) == 0 {
		t.in, t.inDelim = nil, nil
	}
}

// inputQueuedLocked returns FIONREAD for the slave: the bytes of complete
// lines without end-of-file marks in canonical mode, else all. Linux:
// n_tty.c, inq_canon().
func (t *Terminal) inputQueuedLocked() int {
	if !t.canonical() {
		return len(t.in)
	}
	n := t.canonHead
	for i := range t.canonHead {
		if t.inDelim[i] && t.in[i] == vdisable {
			n--
		}
	}
	return n
}
