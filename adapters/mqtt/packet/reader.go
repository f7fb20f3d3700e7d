package packet

// reader walks a packet body. Every read checks the bytes left first, so
// no declared length is trusted.
type reader struct {
	b []byte
	i int
}

func (r *reader) left() int { return len(r.b) - r.i }

func (r *reader) readByte(what string) (byte, error) {
	if r.i >= len(r.b) {
		return 0, malformed(what + " missing")
	}
	c := r.b[r.i]
	r.i++
	return c, nil
}

// readFlagByte reads a byte property whose only values are 0 and 1.
func (r *reader) readFlagByte(what string) (byte, error) {
	c, err := r.readByte(what)
	if err == nil && c > 1 {
		return c, protocolError(what + " must be 0 or 1")
	}
	return c, err
}

func (r *reader) readUint16(what string) (uint16, error) {
	if r.left() < 2 {
		return 0, malformed(what + " truncated")
	}
	v := uint16(r.b[r.i])<<8 | uint16(r.b[r.i+1])
	r.i += 2
	return v, nil
}

func (r *reader) readUint32(what string) (uint32, error) {
	if r.left() < 4 {
		return 0, malformed(what + " truncated")
	}
	b := r.b[r.i:]
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	r.i += 4
	return v, nil
}

// readVarint reads a variable byte integer of at most four bytes [MQTT-1.5.5].
func (r *reader) readVarint(what string) (int, error) {
	v := 0
	for n := 0; n < 4; n++ {
		if r.i >= len(r.b) {
			return 0, malformed(what + " truncated")
		}
		c := r.b[r.i]
		r.i++
		v |= int(c&0x7f) << (7 * n)
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, malformed(what + " longer than 4 bytes")
}

// readBinary reads two-byte-length-prefixed data [MQTT-1.5.6]. The result
// aliases the body and has its capacity capped, so appending to it cannot
// overwrite the rest of the packet.
func (r *reader) readBinary(what string) ([]byte, error) {
	n, err := r.readUint16(what + " length")
	if err != nil {
		return nil, err
	}
	if int(n) > r.left() {
		return nil, malformed(what + " length exceeds packet")
	}
	b := r.b[r.i : r.i+int(n) : r.i+int(n)]
	r.i += int(n)
	return b, nil
}

// readString reads a UTF-8 string [MQTT-1.5.4] without copying it.
func (r *reader) readString(what string) ([]byte, error) {
	b, err := r.readBinary(what)
	if err != nil {
		return nil, err
	}
	if !validUTF8(b) { // [MQTT-1.5.4-1] [MQTT-1.5.4-2]
		return nil, malformed(what + " is not valid UTF-8")
	}
	return b, nil
}

func (r *reader) readStringCopy(what string) (string, error) {
	b, err := r.readString(what)
	return string(b), err
}

func (r *reader) rest() []byte {
	b := r.b[r.i:len(r.b):len(r.b)]
	r.i = len(r.b)
	return b
}
