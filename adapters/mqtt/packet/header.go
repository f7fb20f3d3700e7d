package packet

// MaxRemaining is the largest remaining length a 4-byte variable byte
// integer can carry [MQTT-1.5.5].
const MaxRemaining = 268_435_455

// MaxHeaderLen is the largest fixed header: one type byte and four length bytes.
const MaxHeaderLen = 5

// Header is a decoded fixed header.
type Header struct {
	Type      Type
	Flags     byte
	Remaining int // remaining length: the size of the body
	Len       int // bytes taken by the fixed header
}

// ReadHeader parses the fixed header at the start of buf without
// allocating. It returns ErrIncomplete when buf does not hold the whole
// fixed header yet, an *Error with MalformedPacket for a bad type or flags
// or a fifth length byte, and an *Error with PacketTooLarge when
// Len+Remaining > maxSize (maxSize <= 0 means the protocol maximum).
//
// The caller must check the result before it reads or allocates the body,
// so a hostile length costs nothing.
func ReadHeader(buf []byte, maxSize int) (Header, error) {
	if len(buf) == 0 {
		return Header{}, ErrIncomplete
	}
	h := Header{Type: Type(buf[0] >> 4), Flags: buf[0] & 0x0f}
	// The flags need only the first byte: reject garbage (an HTTP request,
	// say) before waiting for a length that may never come.
	if err := checkFlags(h.Type, h.Flags); err != nil {
		return h, err
	}
	rem := 0
	for i := 1; ; i++ {
		if i >= len(buf) {
			return h, ErrIncomplete
		}
		c := buf[i]
		rem |= int(c&0x7f) << (7 * (i - 1))
		if c&0x80 == 0 {
			h.Len = i + 1
			break
		}
		if i == 4 {
			// [MQTT-1.5.5] at most four bytes; do not consume a fifth.
			return h, malformed("remaining length longer than 4 bytes")
		}
	}
	h.Remaining = rem
	if maxSize > 0 && h.Len+h.Remaining > maxSize {
		return h, &Error{Code: PacketTooLarge, Msg: "packet larger than the maximum packet size"}
	}
	return h, nil
}

// checkFlags validates the fixed-header flags of type t.
func checkFlags(t Type, flags byte) error {
	switch t {
	case Reserved:
		return malformed("packet type 0 is reserved")
	case PUBLISH:
		qos := flags >> 1 & 3
		if qos == 3 {
			return malformed("PUBLISH with QoS 3") // [MQTT-3.3.1-4]
		}
		if qos == 0 && flags&0x08 != 0 {
			return malformed("PUBLISH with QoS 0 and DUP set") // [MQTT-3.3.1-2]
		}
	case PUBREL, SUBSCRIBE, UNSUBSCRIBE:
		// [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1]
		if flags != 0x02 {
			return malformed("fixed header flags must be 0x2")
		}
	default:
		if flags != 0 { // [MQTT-2.2.2-1] [MQTT-2.2.2-2]
			return malformed("reserved fixed header flags set")
		}
	}
	return nil
}

// Check validates what the fixed header alone can tell about a packet for
// protocol version v: type, flags and the exact length of fixed-size
// packets. Decode calls it; a connection may call it before reading the
// body. For CONNECT, v is ignored.
func (h Header) Check(v Version) error {
	if err := checkFlags(h.Type, h.Flags); err != nil {
		return err
	}
	if h.Remaining < 0 || h.Remaining > MaxRemaining {
		return malformed("remaining length out of range")
	}
	v5 := v == V5
	switch h.Type {
	case PINGREQ, PINGRESP:
		if h.Remaining != 0 { // [MQTT-3.12.1] [MQTT-3.13.1]
			return malformed("PINGREQ/PINGRESP with a body")
		}
	case CONNACK:
		if !v5 && h.Remaining != 2 { // [MQTT-3.2.1] v3 CONNACK is 2 bytes
			return malformed("CONNACK length must be 2")
		}
	case PUBACK, PUBREC, PUBREL, PUBCOMP:
		if !v5 && h.Remaining != 2 { // v3 acks carry only the packet identifier
			return malformed("acknowledgement length must be 2")
		}
		if v5 && h.Remaining < 2 {
			return malformed("acknowledgement shorter than 2 bytes")
		}
	case UNSUBACK:
		if !v5 && h.Remaining != 2 {
			return malformed("UNSUBACK length must be 2")
		}
	case DISCONNECT:
		if !v5 && h.Remaining != 0 {
			return malformed("DISCONNECT length must be 0")
		}
	case AUTH:
		if !v5 {
			return malformed("AUTH is not defined before MQTT 5")
		}
	}
	return nil
}

// varintLen is the number of bytes of the variable byte integer n.
func varintLen(n int) int {
	switch {
	case n < 128:
		return 1
	case n < 16_384:
		return 2
	case n < 2_097_152:
		return 3
	default:
		return 4
	}
}

// appendVarint appends n as a variable byte integer; n must be <= MaxRemaining.
func appendVarint(dst []byte, n int) []byte {
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n == 0 {
			return append(dst, c)
		}
		dst = append(dst, c|0x80)
	}
}
