package strace

import "strings"

// ioctl requests: how strace names them and how it prints their argument.

type ioctlArg int

const (
	ioctlHex        ioctlArg = iota // known request, argument not decoded
	ioctlNone                       // no argument
	ioctlInt                        // int passed by value
	ioctlIntIn                      // pointer to an int the program passes: [1]
	ioctlIntOut                     // pointer to an int the kernel fills
	ioctlTermiosIn                  // struct termios
	ioctlTermiosOut                 //
	ioctlTermioIn                   // struct termio (16-bit flags)
	ioctlTermioOut                  //
	ioctlWinsizeIn                  // struct winsize
	ioctlWinsizeOut                 //
	ioctlModemIn                    // modem lines: [TIOCM_DTR|TIOCM_RTS]
	ioctlModemOut                   //
	ioctlChar                       // one character (TIOCSTI)
	ioctlTcxonc                     // TCOOFF...
	ioctlTcflsh                     // TCIFLUSH...
)

type ioctlReq struct {
	name string
	arg  ioctlArg
}

// ioctls are the x86-64 requests strace names, mostly the terminal ones
// programs use at start-up. Linux: include/uapi/asm-generic/ioctls.h.
var ioctls = map[uint32]ioctlReq{
	0x5401: {"TCGETS", ioctlTermiosOut},
	// strace cannot tell these from OSS sequencer requests that share
	// their numbers, and says so.
	0x5402:     {"SNDCTL_TMR_START or TCSETS", ioctlTermiosIn},
	0x5403:     {"SNDCTL_TMR_STOP or TCSETSW", ioctlTermiosIn},
	0x5404:     {"SNDCTL_TMR_CONTINUE or TCSETSF", ioctlTermiosIn},
	0x5405:     {"TCGETA", ioctlTermioOut},
	0x5406:     {"TCSETA", ioctlTermioIn},
	0x5407:     {"TCSETAW", ioctlTermioIn},
	0x5408:     {"TCSETAF", ioctlTermioIn},
	0x5409:     {"TCSBRK", ioctlInt},
	0x540a:     {"TCXONC", ioctlTcxonc},
	0x540b:     {"TCFLSH", ioctlTcflsh},
	0x540c:     {"TIOCEXCL", ioctlNone},
	0x540d:     {"TIOCNXCL", ioctlNone},
	0x540e:     {"TIOCSCTTY", ioctlInt},
	0x540f:     {"TIOCGPGRP", ioctlIntOut},
	0x5410:     {"TIOCSPGRP", ioctlIntIn},
	0x5411:     {"TIOCOUTQ", ioctlIntOut},
	0x5412:     {"TIOCSTI", ioctlChar},
	0x5413:     {"TIOCGWINSZ", ioctlWinsizeOut},
	0x5414:     {"TIOCSWINSZ", ioctlWinsizeIn},
	0x5415:     {"TIOCMGET", ioctlModemOut},
	0x5416:     {"TIOCMBIS", ioctlModemIn},
	0x5417:     {"TIOCMBIC", ioctlModemIn},
	0x5418:     {"TIOCMSET", ioctlModemIn},
	0x5419:     {"TIOCGSOFTCAR", ioctlIntOut},
	0x541a:     {"TIOCSSOFTCAR", ioctlIntIn},
	0x541b:     {"FIONREAD", ioctlIntOut},
	0x541c:     {"TIOCLINUX", ioctlHex},
	0x541d:     {"TIOCCONS", ioctlNone},
	0x541e:     {"TIOCGSERIAL", ioctlHex},
	0x541f:     {"TIOCSSERIAL", ioctlNone},
	0x5420:     {"TIOCPKT", ioctlIntIn},
	0x5421:     {"FIONBIO", ioctlIntIn},
	0x5422:     {"TIOCNOTTY", ioctlNone},
	0x5423:     {"TIOCSETD", ioctlIntIn},
	0x5424:     {"TIOCGETD", ioctlIntOut},
	0x5425:     {"TCSBRKP", ioctlInt},
	0x5427:     {"TIOCSBRK", ioctlNone},
	0x5428:     {"TIOCCBRK", ioctlNone},
	0x5429:     {"TIOCGSID", ioctlIntOut},
	0x802c542a: {"TCGETS2", ioctlTermiosOut},
	0x402c542b: {"TCSETS2", ioctlTermiosIn},
	0x402c542c: {"TCSETSW2", ioctlTermiosIn},
	0x402c542d: {"TCSETSF2", ioctlTermiosIn},
	0x542e:     {"TIOCGRS485", ioctlHex},
	0x542f:     {"TIOCSRS485", ioctlHex},
	0x80045430: {"TIOCGPTN", ioctlIntOut},
	0x40045431: {"TIOCSPTLCK", ioctlIntIn},
	0x80045432: {"TIOCGDEV", ioctlIntOut},
	0x40045436: {"TIOCSIG", ioctlHex},
	0x5437:     {"TIOCVHANGUP", ioctlNone},
	0x80045438: {"TIOCGPKT", ioctlHex},
	0x80045439: {"TIOCGPTLCK", ioctlHex},
	0x80045440: {"TIOCGEXCL", ioctlIntOut},
	0x5441:     {"TIOCGPTPEER", ioctlHex},
	0x5450:     {"FIONCLEX", ioctlNone},
	0x5451:     {"FIOCLEX", ioctlNone},
	0x5452:     {"FIOASYNC", ioctlIntIn},
	0x5453:     {"TIOCSERCONFIG", ioctlHex},
	0x5454:     {"TIOCSERGWILD", ioctlHex},
	0x5455:     {"TIOCSERSWILD", ioctlHex},
	0x5456:     {"TIOCGLCKTRMIOS", ioctlTermiosOut},
	0x5457:     {"TIOCSLCKTRMIOS", ioctlTermiosIn},
	0x5458:     {"TIOCSERGSTRUCT", ioctlHex},
	0x5459:     {"TIOCSERGETLSR", ioctlHex},
	0x545a:     {"TIOCSERGETMULTI", ioctlHex},
	0x545b:     {"TIOCSERSETMULTI", ioctlHex},
	0x545c:     {"TIOCMIWAIT", ioctlHex},
	0x545d:     {"TIOCGICOUNT", ioctlHex},
	0x5460:     {"FIOQSIZE", ioctlHex},
	0x1:        {"FIBMAP", ioctlHex},
	0x2:        {"FIGETBSZ", ioctlHex},
	0x80086601: {"FS_IOC_GETFLAGS", ioctlHex},
	0x40086602: {"FS_IOC_SETFLAGS", ioctlHex},
	0x80087601: {"FS_IOC_GETVERSION", ioctlHex},
	0x40049409: {"FICLONE", ioctlHex},
}

// ioctlRequestString names a request, or decodes its _IOC fields as
// strace does for requests it does not know.
func ioctlRequestString(req uint32) string {
	if r, ok := ioctls[req]; ok {
		return r.name
	}
	dirs := [...]string{"_IOC_NONE", "_IOC_WRITE", "_IOC_READ", "_IOC_READ|_IOC_WRITE"}
	return "_IOC(" + dirs[req>>30] + ", " + hex(uint64(req>>8&0xff)) + ", " +
		hex(uint64(req&0xff)) + ", " + hex(uint64(req>>16&0x3fff)) + ")"
}

// fmtIoctl prints ioctl(2). Linux: strace's term_ioctl().
func fmtIoctl(c *call) []string {
	req := uint32(c.args[1])
	parts := []string{argFd(c, 0), ioctlRequestString(req)}
	arg := c.args[2]
	r, known := ioctls[req]
	if !known {
		return append(parts, hex(uint64(arg)))
	}
	// What the kernel fills is only there on success.
	outArg := func(f func(uintptr) string) string {
		if c.failed() {
			return ptr(arg)
		}
		return f(arg)
	}
	var a string
	switch r.arg {
	case ioctlNone:
		return parts
	case ioctlHex:
		a = hex(uint64(arg))
	case ioctlInt:
		a = dec(int64(int32(arg)))
	case ioctlIntIn:
		a = c.intPtr(arg)
	case ioctlIntOut:
		a = outArg(c.intPtr)
	case ioctlTermiosIn:
		a = c.termios(arg, false)
	case ioctlTermiosOut:
		a = outArg(func(p uintptr) string { return c.termios(p, false) })
	case ioctlTermioIn:
		a = c.termios(arg, true)
	case ioctlTermioOut:
		a = outArg(func(p uintptr) string { return c.termios(p, true) })
	case ioctlWinsizeIn:
		a = c.winsize(arg)
	case ioctlWinsizeOut:
		a = outArg(c.winsize)
	case ioctlModemIn:
		a = c.modem(arg)
	case ioctlModemOut:
		a = outArg(c.modem)
	case ioctlChar:
		a = c.buffer(arg, 1, false)
	case ioctlTcxonc:
		a = tcxoncOptions.value(uint64(arg), "TC???")
	case ioctlTcflsh:
		a = tcflshOptions.value(uint64(arg), "TC???")
	}
	return append(parts, a)
}

var tcxoncOptions = xlat{{0, "TCOOFF"}, {1, "TCOON"}, {2, "TCIOFF"}, {3, "TCION"}}

var tcflshOptions = xlat{{0, "TCIFLUSH"}, {1, "TCOFLUSH"}, {2, "TCIOFLUSH"}}

var modemFlags = xlat{
	{0x1, "TIOCM_LE"}, {0x2, "TIOCM_DTR"}, {0x4, "TIOCM_RTS"}, {0x8, "TIOCM_ST"},
	{0x10, "TIOCM_SR"}, {0x20, "TIOCM_CTS"}, {0x40, "TIOCM_CAR"}, {0x80, "TIOCM_RNG"},
	{0x100, "TIOCM_DSR"}, {0x2000, "TIOCM_OUT1"}, {0x4000, "TIOCM_OUT2"}, {0x8000, "TIOCM_LOOP"},
}

func (c *call) modem(addr uintptr) string {
	if addr == 0 {
		return "NULL"
	}
	v, ok := c.readU32(addr)
	if !ok {
		return ptr(addr)
	}
	return "[" + modemFlags.flags(uint64(v), "TIOCM_???") + "]"
}

// Terminal flags. Linux: include/uapi/asm-generic/termbits.h; order from
// strace's term_*flags.in.

var termIflags = xlat{
	{0o1, "IGNBRK"}, {0o2, "BRKINT"}, {0o4, "IGNPAR"}, {0o10, "PARMRK"},
	{0o20, "INPCK"}, {0o40, "ISTRIP"}, {0o100, "INLCR"}, {0o200, "IGNCR"},
	{0o400, "ICRNL"}, {0o1000, "IUCLC"}, {0o2000, "IXON"}, {0o4000, "IXANY"},
	{0o10000, "IXOFF"}, {0o20000, "IMAXBEL"}, {0o40000, "IUTF8"},
}

var termOflags = xlat{
	{0o1, "OPOST"}, {0o2, "OLCUC"}, {0o4, "ONLCR"}, {0o10, "OCRNL"},
	{0o20, "ONOCR"}, {0o40, "ONLRET"}, {0o100, "OFILL"}, {0o200, "OFDEL"},
}

// termOdelays are c_oflag's delay fields, each printed by value.
var termOdelays = []struct {
	mask uint64
	x    xlat
	dflt string
}{
	{0o400, xlat{{0, "NL0"}, {0o400, "NL1"}}, "NL?"},
	{0o3000, xlat{{0, "CR0"}, {0o1000, "CR1"}, {0o2000, "CR2"}, {0o3000, "CR3"}}, "CR?"},
	{0o14000, xlat{{0, "TAB0"}, {0o4000, "TAB1"}, {0o10000, "TAB2"}, {0o14000, "TAB3"}}, "TAB?"},
	{0o20000, xlat{{0, "BS0"}, {0o20000, "BS1"}}, "BS?"},
	{0o40000, xlat{{0, "VT0"}, {0o40000, "VT1"}}, "VT?"},
	{0o100000, xlat{{0, "FF0"}, {0o100000, "FF1"}}, "FF?"},
}

var termCflags = xlat{
	{0o100, "CSTOPB"}, {0o200, "CREAD"}, {0o400, "PARENB"}, {0o1000, "PARODD"},
	{0o2000, "HUPCL"}, {0o4000, "CLOCAL"}, {0o10000000000, "CMSPAR"}, {0o20000000000, "CRTSCTS"},
}

var termCsize = xlat{{0, "CS5"}, {0o20, "CS6"}, {0o40, "CS7"}, {0o60, "CS8"}}

var baudRates = xlat{
	{0o0, "B0"}, {0o1, "B50"}, {0o2, "B75"}, {0o3, "B110"}, {0o4, "B134"},
	{0o5, "B150"}, {0o6, "B200"}, {0o7, "B300"}, {0o10, "B600"}, {0o11, "B1200"},
	{0o12, "B1800"}, {0o13, "B2400"}, {0o14, "B4800"}, {0o15, "B9600"},
	{0o16, "B19200"}, {0o17, "B38400"}, {0o10001, "B57600"}, {0o10002, "B115200"},
	{0o10003, "B230400"}, {0o10004, "B460800"}, {0o10005, "B500000"},
	{0o10006, "B576000"}, {0o10007, "B921600"}, {0o10010, "B1000000"},
	{0o10011, "B1152000"}, {0o10012, "B1500000"}, {0o10013, "B2000000"},
	{0o10014, "B2500000"}, {0o10015, "B3000000"}, {0o10016, "B3500000"},
	{0o10017, "B4000000"}, {0o10000, "BOTHER"},
}

var termLflags = xlat{
	{0o1, "ISIG"}, {0o2, "ICANON"}, {0o4, "XCASE"}, {0o10, "ECHO"},
	{0o20, "ECHOE"}, {0o40, "ECHOK"}, {0o100, "ECHONL"}, {0o200, "NOFLSH"},
	{0o100000, "IEXTEN"}, {0o1000, "ECHOCTL"}, {0o2000, "ECHOPRT"}, {0o4000, "ECHOKE"},
	{0o10000, "FLUSHO"}, {0o40000, "PENDIN"}, {0o400, "TOSTOP"}, {0o200000, "EXTPROC"},
}

// termFlags prints a terminal flag set. strace prints nothing at all for
// an empty set here (its printflags with no default); so do we.
func termFlags(x xlat, v uint64) string {
	if v == 0 {
		return ""
	}
	return x.flags(v, "")
}

// termios prints the four flag words of struct termios (or, with
// short, the 16-bit ones of struct termio) as strace does without -v.
// Linux: strace's decode_flags().
func (c *call) termios(addr uintptr, short bool) string {
	size := 17 // the flags and c_line, all strace shows
	if short {
		size = 9
	}
	b, alt := c.readStruct(addr, size)
	if b == nil {
		return alt
	}
	var iflag, oflag, cflag, lflag uint64
	if short {
		iflag, oflag, cflag, lflag = uint64(le16(b, 0)), uint64(le16(b, 2)), uint64(le16(b, 4)), uint64(le16(b, 6))
	} else {
		iflag, oflag, cflag, lflag = uint64(le32(b, 0)), uint64(le32(b, 4)), uint64(le32(b, 8)), uint64(le32(b, 12))
	}
	var o strings.Builder
	for _, d := range termOdelays {
		o.WriteString(d.x.value(oflag&d.mask, d.dflt))
		o.WriteByte('|')
		oflag &^= d.mask
	}
	o.WriteString(termFlags(termOflags, oflag))

	const cbaud, cibaud, csize = 0o10017, 0o2003600000, 0o60
	cf := baudRates.value(cflag&cbaud, "B???") + "|"
	if cflag&cibaud != 0 {
		cf += baudRates.value((cflag&cibaud)>>16, "B???") + "<<IBSHIFT|"
	}
	cf += termCsize.value(cflag&csize, "CS?") + "|"
	cf += termFlags(termCflags, cflag&^(cbaud|cibaud|csize))

	return "{c_iflag=" + termFlags(termIflags, iflag) + ", c_oflag=" + o.String() +
		", c_cflag=" + cf + ", c_lflag=" + termFlags(termLflags, lflag) + ", ...}"
}
