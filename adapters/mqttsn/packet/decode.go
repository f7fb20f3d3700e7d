package packet

import "encoding/binary"

// header reads the length field and message type of b and checks the
// declared length against len(b). It returns the type and the body.
func header(b []byte) (Type, []byte, error) {
	if len(b) < 2 {
		return 0, nil, malformed("%d bytes is shorter than any message", len(b))
	}
	if b[0] == 0x01 {
		// 3-octet form [MQTT-SN 5.2.1].
		if len(b) < 4 {
			return 0, nil, malformed("3-octet length form needs 4 bytes, got %d", len(b))
		}
		n := int(binary.BigEndian.Uint16(b[1:3]))
		if n != len(b) {
			return 0, nil, malformed("length field %d, datagram %d bytes", n, len(b))
		}
		return Type(b[3]), b[4:], nil
	}
	n := int(b[0])
	if n == 0 || n != len(b) {
		return 0, nil, malformed("length field %d, datagram %d bytes", n, len(b))
	}
	return Type(b[1]), b[2:], nil
}

// Unwrap strips a forwarder encapsulation [MQTT-SN 5.5]. For an
// encapsulated datagram it fills fw and returns the inner message with
// wrapped true; otherwise it returns b unchanged.
func Unwrap(b []byte, fw *Forward) (inner []byte, wrapped bool, err error) {
	var n, off int
	switch {
	case len(b) >= 2 && b[0] != 0x01 && Type(b[1]) == ENCAPSULATED:
		n, off = int(b[0]), 2
	case len(b) >= 4 && b[0] == 0x01 && Type(b[3]) == ENCAPSULATED:
		n, off = int(binary.BigEndian.Uint16(b[1:3])), 4
	default:
		return b, false, nil
	}
	// The length covers the encapsulation header only: length, type,
	// ctrl and the wireless node id.
	if n < off+1 || n > len(b) {
		return nil, true, malformed("encapsulation length %d, datagram %d bytes", n, len(b))
	}
	if n == len(b) {
		return nil, true, malformed("encapsulation without a message")
	}
	fw.Ctrl = b[off]
	fw.NodeID = b[off+1 : n]
	inner = b[n:]
	if len(inner) >= 2 && inner[0] != 0x01 && Type(inner[1]) == ENCAPSULATED ||
		len(inner) >= 4 && inner[0] == 0x01 && Type(inner[3]) == ENCAPSULATED {
		return nil, true, malformed("nested encapsulation")
	}
	return inner, true, nil
}

func flags(p *Packet, f byte) {
	p.Dup = f&flagDup != 0
	q := (f & flagQoSMask) >> 5
	if q == 3 {
		p.QoS = -1
	} else {
		p.QoS = int8(q)
	}
	p.Retain = f&flagRetain != 0
	p.Will = f&flagWill != 0
	p.CleanSession = f&flagCleanSession != 0
	p.TopicIDType = f & flagTopicMask
}

func exact(t Type, body []byte, n int) error {
	if len(body) != n {
		return malformed("%v body is %d bytes, want %d", t, len(body), n)
	}
	return nil
}

func atLeast(t Type, body []byte, n int) error {
	if len(body) < n {
		return malformed("%v body is %d bytes, want at least %d", t, len(body), n)
	}
	return nil
}

func u16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }

// Decode decodes the single, not encapsulated MQTT-SN message that is the
// whole of b into p. It never allocates.
func Decode(b []byte, p *Packet) error {
	p.Reset()
	t, body, err := header(b)
	if err != nil {
		return err
	}
	p.Type = t
	switch t {
	case ADVERTISE:
		if err := exact(t, body, 3); err != nil {
			return err
		}
		p.GatewayID, p.Duration = body[0], u16(body[1:])
	case SEARCHGW:
		if err := exact(t, body, 1); err != nil {
			return err
		}
		p.Radius = body[0]
	case GWINFO:
		if err := atLeast(t, body, 1); err != nil {
			return err
		}
		p.GatewayID = body[0]
		if len(body) > 1 {
			p.GatewayAddr = body[1:]
		}
	case CONNECT:
		if err := atLeast(t, body, 4); err != nil {
			return err
		}
		flags(p, body[0])
		if body[0]&^(flagWill|flagCleanSession) != 0 {
			return malformed("CONNECT flags 0x%02X: only Will and CleanSession are allowed", body[0])
		}
		p.ProtocolID, p.Duration = body[1], u16(body[2:])
		p.ClientID = body[4:]
	case CONNACK, WILLTOPICRESP, WILLMSGRESP:
		if err := exact(t, body, 1); err != nil {
			return err
		}
		p.ReturnCode = ReturnCode(body[0])
	case WILLTOPICREQ, WILLMSGREQ, PINGRESP:
		return exact(t, body, 0)
	case WILLTOPIC, WILLTOPICUPD:
		if len(body) == 0 {
			return nil // delete the will [MQTT-SN 5.4.7]
		}
		flags(p, body[0])
		if p.QoS < 0 || body[0]&^(flagQoSMask|flagRetain) != 0 {
			return malformed("%v flags 0x%02X: only QoS 0-2 and Retain are allowed", t, body[0])
		}
		p.TopicName = body[1:]
		if len(p.TopicName) == 0 {
			// Flags without a topic: read as the delete form.
			p.QoS, p.Retain, p.TopicName = 0, false, nil
		}
	case WILLMSG, WILLMSGUPD:
		p.Data = body
	case REGISTER:
		if err := atLeast(t, body, 4); err != nil {
			return err
		}
		p.TopicID, p.MsgID, p.TopicName = u16(body), u16(body[2:]), body[4:]
	case REGACK, PUBACK:
		if err := exact(t, body, 5); err != nil {
			return err
		}
		p.TopicID, p.MsgID, p.ReturnCode = u16(body), u16(body[2:]), ReturnCode(body[4])
	case PUBLISH:
		if err := atLeast(t, body, 5); err != nil {
			return err
		}
		flags(p, body[0])
		if p.Will || p.CleanSession {
			return malformed("PUBLISH flags 0x%02X: Will and CleanSession are not allowed", body[0])
		}
		if p.TopicIDType == 3 {
			return malformed("PUBLISH topic id type 3 is reserved")
		}
		p.TopicID, p.MsgID, p.Data = u16(body[1:]), u16(body[3:]), body[5:]
	case PUBCOMP, PUBREC, PUBREL, UNSUBACK:
		if err := exact(t, body, 2); err != nil {
			return err
		}
		p.MsgID = u16(body)
	case SUBSCRIBE, UNSUBSCRIBE:
		if err := atLeast(t, body, 3); err != nil {
			return err
		}
		flags(p, body[0])
		if p.QoS < 0 || body[0]&(flagRetain|flagWill|flagCleanSession) != 0 {
			return malformed("%v flags 0x%02X", t, body[0])
		}
		if t == UNSUBSCRIBE && body[0]&^flagTopicMask != 0 {
			return malformed("UNSUBSCRIBE flags 0x%02X: only the topic id type is allowed", body[0])
		}
		p.MsgID = u16(body[1:])
		switch p.TopicIDType {
		case TopicNormal:
			p.TopicName = body[3:]
		case TopicPredefined, TopicShort:
			if err := exact(t, body, 5); err != nil {
				return err
			}
			p.TopicID = u16(body[3:])
		default:
			return malformed("%v topic id type 3 is reserved", t)
		}
	case SUBACK:
		if err := exact(t, body, 6); err != nil {
			return err
		}
		flags(p, body[0])
		if p.QoS < 0 || body[0]&^flagQoSMask != 0 {
			return malformed("SUBACK flags 0x%02X: only QoS 0-2 is allowed", body[0])
		}
		p.TopicID, p.MsgID, p.ReturnCode = u16(body[1:]), u16(body[3:]), ReturnCode(body[5])
	case PINGREQ:
		if len(body) > 0 {
			p.ClientID = body
		}
	case DISCONNECT:
		switch len(body) {
		case 0:
		case 2:
			p.HasDuration, p.Duration = true, u16(body)
		default:
			return malformed("DISCONNECT body is %d bytes, want 0 or 2", len(body))
		}
	case ENCAPSULATED:
		return malformed("encapsulated message where a plain one is expected")
	default:
		return malformed("unknown message type 0x%02X", byte(t))
	}
	return nil
}
