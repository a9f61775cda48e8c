package wire

import (
	"encoding/binary"
	"errors"
)

// MaxMessage bounds every message in either direction: the largest body
// is an extended attribute's value (XattrValueMax) with its names.
const MaxMessage = 128 << 10

// ErrMalformed is reported for a message that is short, too long or
// holds an invalid field.
var ErrMalformed = errors.New("gofer: malformed message")

// Encoder appends a message's fields to a buffer.
type Encoder struct {
	b []byte
}

// Reset empties the encoder, keeping its buffer.
func (e *Encoder) Reset() { e.b = e.b[:0] }

// Bytes returns the encoded message.
func (e *Encoder) Bytes() []byte { return e.b }

// Len returns the encoded length so far.
func (e *Encoder) Len() int { return len(e.b) }

func (e *Encoder) U8(v uint8)   { e.b = append(e.b, v) }
func (e *Encoder) U16(v uint16) { e.b = binary.LittleEndian.AppendUint16(e.b, v) }
func (e *Encoder) U32(v uint32) { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *Encoder) U64(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }
func (e *Encoder) I64(v int64)  { e.U64(uint64(v)) }

// Bool encodes a flag as one byte.
func (e *Encoder) Bool(v bool) {
	if v {
		e.U8(1)
	} else {
		e.U8(0)
	}
}

// String encodes a short string (a name or path): uint16 length and
// bytes. Longer strings are cut, which the receiver's validation refuses
// (callers validate first).
func (e *Encoder) String(s string) {
	if len(s) > 0xffff {
		s = s[:0xffff]
	}
	e.U16(uint16(len(s)))
	e.b = append(e.b, s...)
}

// Blob encodes a byte string: uint32 length and bytes.
func (e *Encoder) Blob(v []byte) {
	e.U32(uint32(len(v)))
	e.b = append(e.b, v...)
}

// Decoder reads fields from a received message. A read past the end
// yields zero values and marks the message malformed.
type Decoder struct {
	b   []byte
	bad bool
}

// NewDecoder returns a decoder of msg.
func NewDecoder(msg []byte) *Decoder { return &Decoder{b: msg} }

// Reset makes d read msg.
func (d *Decoder) Reset(msg []byte) { d.b, d.bad = msg, false }

func (d *Decoder) take(n int) []byte {
	if d.bad || n < 0 || n > len(d.b) {
		d.bad = true
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *Decoder) U8() uint8 {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *Decoder) U16() uint16 {
	if v := d.take(2); v != nil {
		return binary.LittleEndian.Uint16(v)
	}
	return 0
}

func (d *Decoder) U32() uint32 {
	if v := d.take(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (d *Decoder) U64() uint64 {
	if v := d.take(8); v != nil {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}

func (d *Decoder) I64() int64 { return int64(d.U64()) }

// Bool decodes a flag; anything but 0 or 1 is malformed.
func (d *Decoder) Bool() bool {
	switch d.U8() {
	case 0:
		return false
	case 1:
		return true
	}
	d.bad = true
	return false
}

// String decodes a short string.
func (d *Decoder) String() string {
	n := int(d.U16())
	return string(d.take(n))
}

// Blob decodes a byte string of at most max bytes. The result aliases
// the message buffer; callers copy what they keep.
func (d *Decoder) Blob(max int) []byte {
	n := d.U32()
	if uint64(n) > uint64(max) {
		d.bad = true
		return nil
	}
	return d.take(int(n))
}

// Fail marks the message malformed (a field failed validation).
func (d *Decoder) Fail() { d.bad = true }

// Err reports whether the message was malformed or had bytes left over.
func (d *Decoder) Err() error {
	if d.bad || len(d.b) != 0 {
		return ErrMalformed
	}
	return nil
}
