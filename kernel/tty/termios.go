package tty

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// unix.Termios has the layout of the kernel's struct termios2 (and
// ktermios): four flag words, the line discipline, NCCS control
// characters and the two speeds. TCGETS and TCSETS copy only the first
// termiosSize bytes (struct termios, without the speeds); TCGETS2 and
// TCSETS2 copy all termios2Size. Linux: include/uapi/asm-generic/termbits.h.
const (
	nccs         = 19
	termiosSize  = 36
	termios2Size = 44
	winsizeSize  = 8
)

// vdisable is _POSIX_VDISABLE: a control character set to it is off.
const vdisable = 0

// DefaultTermios returns the settings of a new pseudo-terminal slave:
// Linux's tty_std_termios with the pty driver's cflag (no HUPCL).
// Linux: drivers/tty/tty_io.c, tty_std_termios; drivers/tty/pty.c.
func DefaultTermios() unix.Termios {
	t := unix.Termios{
		Iflag:  unix.ICRNL | unix.IXON,
		Oflag:  unix.OPOST | unix.ONLCR,
		Cflag:  unix.B38400 | unix.CS8 | unix.CREAD,
		Lflag:  unix.ISIG | unix.ICANON | unix.ECHO | unix.ECHOE | unix.ECHOK | unix.ECHOCTL | unix.ECHOKE | unix.IEXTEN,
		Ispeed: 38400,
		Ospeed: 38400,
	}
	// Linux: include/linux/tty.h, INIT_C_CC.
	t.Cc[unix.VINTR] = 0x03    // ^C
	t.Cc[unix.VQUIT] = 0x1c    // ^\
	t.Cc[unix.VERASE] = 0x7f   // DEL
	t.Cc[unix.VKILL] = 0x15    // ^U
	t.Cc[unix.VEOF] = 0x04     // ^D
	t.Cc[unix.VTIME] = 0       //
	t.Cc[unix.VMIN] = 1        //
	t.Cc[unix.VSTART] = 0x11   // ^Q
	t.Cc[unix.VSTOP] = 0x13    // ^S
	t.Cc[unix.VSUSP] = 0x1a    // ^Z
	t.Cc[unix.VREPRINT] = 0x12 // ^R
	t.Cc[unix.VDISCARD] = 0x0f // ^O
	t.Cc[unix.VWERASE] = 0x17  // ^W
	t.Cc[unix.VLNEXT] = 0x16   // ^V
	return t
}

// encodeTermios writes t in the kernel's layout into b, which is
// termiosSize or termios2Size long.
func encodeTermios(t *unix.Termios, b []byte) {
	le := binary.LittleEndian
	le.PutUint32(b[0:], t.Iflag)
	le.PutUint32(b[4:], t.Oflag)
	le.PutUint32(b[8:], t.Cflag)
	le.PutUint32(b[12:], t.Lflag)
	b[16] = t.Line
	copy(b[17:17+nccs], t.Cc[:])
	if len(b) >= termios2Size {
		le.PutUint32(b[36:], t.Ispeed)
		le.PutUint32(b[40:], t.Ospeed)
	}
}

// decodeTermios reads settings from b (termiosSize or termios2Size
// bytes). From a struct termios the speeds follow the baud bits of
// cflag; from a termios2 they are taken as given when cflag says BOTHER.
// Linux: drivers/tty/tty_ioctl.c, set_termios() and
// drivers/tty/tty_baudrate.c.
func decodeTermios(b []byte, old *unix.Termios) unix.Termios {
	le := binary.LittleEndian
	t := unix.Termios{
		Iflag: le.Uint32(b[0:]),
		Oflag: le.Uint32(b[4:]),
		Cflag: le.Uint32(b[8:]),
		Lflag: le.Uint32(b[12:]),
		Line:  b[16],
	}
	copy(t.Cc[:], b[17:17+nccs])
	var ispeed, ospeed uint32
	if len(b) >= termios2Size {
		ispeed, ospeed = le.Uint32(b[36:]), le.Uint32(b[40:])
	} else {
		ispeed, ospeed = old.Ispeed, old.Ospeed
	}
	t.Ospeed = speedOf(t.Cflag&unix.CBAUD, ospeed)
	ibits := (t.Cflag >> ibshift) & unix.CBAUD
	if ibits == unix.B0 {
		// No separate input speed: the output speed.
		t.Ispeed = t.Ospeed
	} else {
		t.Ispeed = speedOf(ibits, ispeed)
	}
	return t
}

// ibshift is where the input speed's bits (CIBAUD) sit in cflag.
const ibshift = 16

// baudRates are the speeds of the Bxxx codes, CBAUDEX ones after the
// first sixteen. Linux: drivers/tty/tty_baudrate.c, baud_table.
var baudRates = [...]uint32{
	0, 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400,
	57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000,
	2000000, 2500000, 3000000, 3500000, 4000000,
}

// speedOf returns the speed a Bxxx code stands for; BOTHER (and codes
// beyond the table) keep given.
func speedOf(code, given uint32) uint32 {
	i := code & 0xf
	if code&unix.CBAUDEX != 0 {
		if code == unix.BOTHER {
			return given
		}
		i += 15
	}
	if int(i) < len(baudRates) {
		return baudRates[i]
	}
	return given
}

func encodeWinsize(ws *unix.Winsize, b []byte) {
	le := binary.LittleEndian
	le.PutUint16(b[0:], ws.Row)
	le.PutUint16(b[2:], ws.Col)
	le.PutUint16(b[4:], ws.Xpixel)
	le.PutUint16(b[6:], ws.Ypixel)
}

func decodeWinsize(b []byte) unix.Winsize {
	le := binary.LittleEndian
	return unix.Winsize{Row: le.Uint16(b[0:]), Col: le.Uint16(b[2:]), Xpixel: le.Uint16(b[4:]), Ypixel: le.Uint16(b[6:])}
}
