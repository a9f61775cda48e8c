package strace

import "strings"

// quote renders b as a C string literal the way strace does: printable
// ASCII as is, the usual backslash escapes, every other byte in octal. An
// octal escape is as short as possible ("\0", "\177") unless the next byte
// is an octal digit, where it takes all three digits so that the escape
// stays unambiguous ("\0001").
func quote(b []byte) string {
	var s strings.Builder
	s.Grow(len(b) + 2)
	s.WriteByte('"')
	for i, c := range b {
		switch c {
		case '"', '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case '\f':
			s.WriteString(`\f`)
		case '\n':
			s.WriteString(`\n`)
		case '\r':
			s.WriteString(`\r`)
		case '\t':
			s.WriteString(`\t`)
		case '\v':
			s.WriteString(`\v`)
		default:
			if c >= ' ' && c < 0x7f {
				s.WriteByte(c)
				continue
			}
			s.WriteByte('\\')
			if i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7' {
				s.WriteByte('0' + c>>6)
				s.WriteByte('0' + (c>>3)&7)
			} else if c>>3 != 0 {
				if c>>6 != 0 {
					s.WriteByte('0' + c>>6)
				}
				s.WriteByte('0' + (c>>3)&7)
			}
			s.WriteByte('0' + c&7)
		}
	}
	s.WriteByte('"')
	return s.String()
}

// quoteHex renders every byte as \xNN, as strace does for buffers that
// are random by nature (getrandom).
func quoteHex(b []byte) string {
	const digits = "0123456789abcdef"
	var s strings.Builder
	s.Grow(4*len(b) + 2)
	s.WriteByte('"')
	for _, c := range b {
		s.WriteString(`\x`)
		s.WriteByte(digits[c>>4])
		s.WriteByte(digits[c&15])
	}
	s.WriteByte('"')
	return s.String()
}
