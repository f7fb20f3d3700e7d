package packet

import "errors"

var errTooLong = errors.New("mqtt packet: string or binary field longer than 65535 bytes")

// Append encodes p for version v and appends the whole packet (fixed
// header included) to dst. For v3.1 and v3.1.1 it leaves out properties and
// the other v5-only fields; in v5 it writes only the properties the packet
// type allows. It returns an error, and dst unchanged, if p cannot be
// encoded. Append does not allocate when dst has room for Size(p, v) bytes.
//
// The fixed-header flags come from Dup, QoS and Retain (p.Flags is
// ignored), and CONNECT carries the protocol name and level of v, not
// p.ProtocolName and p.Version.
func Append(dst []byte, p *Packet, v Version) ([]byte, error) {
	if err := checkEncodable(p, v); err != nil {
		return dst, err
	}
	rem := bodySize(p, v)
	if rem > MaxRemaining {
		return dst, errors.New("mqtt packet: packet larger than the protocol maximum")
	}
	dst = append(dst, byte(p.Type)<<4|fixedFlags(p))
	dst = appendVarint(dst, rem)
	v5 := v == V5
	switch p.Type {
	case CONNECT:
		dst = appendConnect(dst, p, v)
	case CONNACK:
		// MQTT 3.1 has no Session Present flag: the first byte is
		// reserved and 0 (MQTT 3.1 section 3.2).
		dst = append(dst, boolByte(p.SessionPresent && v != V31), p.ReasonCode)
		if v5 {
			dst = appendProps(dst, &p.Properties, kConnack)
		}
	case PUBLISH:
		dst = appendBinary(dst, p.Topic)
		if p.QoS > 0 {
			dst = appendUint16(dst, p.PacketID)
		}
		if v5 {
			dst = appendProps(dst, &p.Properties, kPublish)
		}
		dst = append(dst, p.Payload...)
	case PUBACK, PUBREC, PUBREL, PUBCOMP:
		dst = appendUint16(dst, p.PacketID)
		if v5 {
			dst = appendReasonAndProps(dst, p, kindOfType(p.Type))
		}
	case SUBSCRIBE:
		dst = appendUint16(dst, p.PacketID)
		if v5 {
			dst = appendProps(dst, &p.Properties, kSubscribe)
		}
		for i := range p.Subscriptions {
			s := &p.Subscriptions[i]
			dst = appendString(dst, s.Filter)
			dst = append(dst, subOptions(s, v5))
		}
	case SUBACK:
		dst = appendUint16(dst, p.PacketID)
		if v5 {
			dst = appendProps(dst, &p.Properties, kSuback)
		}
		dst = append(dst, p.ReasonCodes...)
	case UNSUBSCRIBE:
		dst = appendUint16(dst, p.PacketID)
		if v5 {
			dst = appendProps(dst, &p.Properties, kUnsubscribe)
		}
		for _, f := range p.Filters {
			dst = appendString(dst, f)
		}
	case UNSUBACK:
		dst = appendUint16(dst, p.PacketID)
		if v5 {
			dst = appendProps(dst, &p.Properties, kUnsuback)
			dst = append(dst, p.ReasonCodes...)
		}
	case DISCONNECT, AUTH:
		if v5 {
			dst = appendReasonAndProps(dst, p, kindOfType(p.Type))
			if p.ReasonCode != 0 && propsLen(&p.Properties, kindOfType(p.Type)) == 0 {
				dst = append(dst, 0) // the empty property block; see bodySize
			}
		}
	}
	return dst, nil
}

// Size returns the number of bytes Append would produce for p and v; the
// connection uses it to honour the peer's Maximum Packet Size
// [MQTT-3.1.2-24] before encoding.
func Size(p *Packet, v Version) int {
	rem := bodySize(p, v)
	return 1 + varintLen(rem) + rem
}

func fixedFlags(p *Packet) byte {
	switch p.Type {
	case PUBLISH:
		f := p.QoS << 1
		if p.Dup {
			f |= 0x08
		}
		if p.Retain {
			f |= 0x01
		}
		return f
	case PUBREL, SUBSCRIBE, UNSUBSCRIBE:
		return 0x02
	}
	return 0
}

func subOptions(s *Subscription, v5 bool) byte {
	o := s.QoS
	if v5 {
		if s.NoLocal {
			o |= 0x04
		}
		if s.RetainAsPublished {
			o |= 0x08
		}
		o |= s.RetainHandling << 4
	}
	return o
}

// reasonAndPropsSize is the size of the optional reason code and property
// block of v5 acks, DISCONNECT and AUTH: both are left out when the reason
// is 0 and there are no properties, the block alone when it is empty.
func reasonAndPropsSize(p *Packet, kind uint32) int {
	n := propsLen(&p.Properties, kind)
	switch {
	case n > 0:
		return 1 + varintLen(n) + n
	case p.ReasonCode != 0:
		return 1
	}
	return 0
}

func appendReasonAndProps(dst []byte, p *Packet, kind uint32) []byte {
	n := propsLen(&p.Properties, kind)
	switch {
	case n > 0:
		return appendProps(append(dst, p.ReasonCode), &p.Properties, kind)
	case p.ReasonCode != 0:
		return append(dst, p.ReasonCode)
	}
	return dst
}

func protocolName(v Version) string {
	if v == V31 {
		return "MQIsdp"
	}
	return "MQTT"
}

func bodySize(p *Packet, v Version) int {
	v5 := v == V5
	switch p.Type {
	case CONNECT:
		n := 2 + len(protocolName(v)) + 1 + 1 + 2 + 2 + len(p.ClientID)
		if v5 {
			n += propsSize(&p.Properties, kConnect)
		}
		if p.HasWill {
			n += 2 + len(p.Will.Topic) + 2 + len(p.Will.Payload)
			if v5 {
				n += propsSize(&p.Will.Properties, kindWill)
			}
		}
		if p.HasUsername {
			n += 2 + len(p.Username)
		}
		if p.HasPassword {
			n += 2 + len(p.Password)
		}
		return n
	case CONNACK:
		if v5 {
			return 2 + propsSize(&p.Properties, kConnack)
		}
		return 2
	case PUBLISH:
		n := 2 + len(p.Topic) + len(p.Payload)
		if p.QoS > 0 {
			n += 2
		}
		if v5 {
			n += propsSize(&p.Properties, kPublish)
		}
		return n
	case PUBACK, PUBREC, PUBREL, PUBCOMP:
		if v5 {
			return 2 + reasonAndPropsSize(p, kindOfType(p.Type))
		}
		return 2
	case SUBSCRIBE:
		n := 2
		if v5 {
			n += propsSize(&p.Properties, kSubscribe)
		}
		for i := range p.Subscriptions {
			n += 3 + len(p.Subscriptions[i].Filter)
		}
		return n
	case SUBACK:
		n := 2 + len(p.ReasonCodes)
		if v5 {
			n += propsSize(&p.Properties, kSuback)
		}
		return n
	case UNSUBSCRIBE:
		n := 2
		if v5 {
			n += propsSize(&p.Properties, kUnsubscribe)
		}
		for _, f := range p.Filters {
			n += 2 + len(f)
		}
		return n
	case UNSUBACK:
		if v5 {
			return 2 + propsSize(&p.Properties, kUnsuback) + len(p.ReasonCodes)
		}
		return 2
	case DISCONNECT, AUTH:
		if v5 {
			if n := reasonAndPropsSize(p, kindOfType(p.Type)); n != 1 {
				return n
			}
			// A reason code alone is valid [MQTT-3.14.2.2.1], but
			// paho.golang (v0.22) cannot read a DISCONNECT without its
			// property length, and then never sees the reason: the
			// empty block goes too.
			return 2
		}
	}
	return 0
}

// checkEncodable reports what would make the encoded packet unreadable:
// fields out of range or too long for their length prefix. It does not
// enforce protocol rules the peer checks (packet identifier 0, say).
func checkEncodable(p *Packet, v Version) error {
	if v != V31 && v != V311 && v != V5 {
		return errors.New("mqtt packet: unknown protocol version")
	}
	if p.Type == Reserved || p.Type > AUTH {
		return errors.New("mqtt packet: invalid packet type")
	}
	if p.Type == AUTH && v != V5 {
		return errors.New("mqtt packet: AUTH needs MQTT 5")
	}
	v5 := v == V5
	switch p.Type {
	case CONNECT:
		if len(p.ClientID) > 65535 || len(p.Username) > 65535 || len(p.Password) > 65535 {
			return errTooLong
		}
		if !v5 && p.HasPassword && !p.HasUsername {
			return errors.New("mqtt packet: password without user name needs MQTT 5")
		}
		if p.HasWill {
			if len(p.Will.Topic) > 65535 || len(p.Will.Payload) > 65535 {
				return errTooLong
			}
			if p.Will.QoS > 2 {
				return errors.New("mqtt packet: will QoS above 2")
			}
			if v5 {
				if err := checkProps(&p.Will.Properties, kindWill); err != nil {
					return err
				}
			}
		}
	case PUBLISH:
		if len(p.Topic) > 65535 {
			return errTooLong
		}
		if p.QoS > 2 {
			return errors.New("mqtt packet: QoS above 2")
		}
		if p.QoS == 0 && p.Dup {
			return errors.New("mqtt packet: DUP on a QoS 0 PUBLISH") // [MQTT-3.3.1-2]
		}
	case SUBSCRIBE:
		for i := range p.Subscriptions {
			s := &p.Subscriptions[i]
			if len(s.Filter) > 65535 {
				return errTooLong
			}
			if s.QoS > 2 || s.RetainHandling > 2 {
				return errors.New("mqtt packet: subscription option out of range")
			}
		}
	case UNSUBSCRIBE:
		for _, f := range p.Filters {
			if len(f) > 65535 {
				return errTooLong
			}
		}
	}
	if v5 {
		return checkProps(&p.Properties, kindOfType(p.Type))
	}
	return nil
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func appendUint16(dst []byte, n uint16) []byte { return append(dst, byte(n>>8), byte(n)) }

func appendUint32(dst []byte, n uint32) []byte {
	return append(dst, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func appendString(dst []byte, s string) []byte {
	return append(appendUint16(dst, uint16(len(s))), s...)
}

func appendBinary(dst []byte, b []byte) []byte {
	return append(appendUint16(dst, uint16(len(b))), b...)
}

func appendConnect(dst []byte, p *Packet, v Version) []byte {
	v5 := v == V5
	dst = appendString(dst, protocolName(v))
	var flags byte
	if p.CleanStart {
		flags |= 0x02
	}
	if p.HasWill {
		flags |= 0x04 | p.Will.QoS<<3
		if p.Will.Retain {
			flags |= 0x20
		}
	}
	if p.HasPassword {
		flags |= 0x40
	}
	if p.HasUsername {
		flags |= 0x80
	}
	dst = append(dst, byte(v), flags)
	dst = appendUint16(dst, p.KeepAlive)
	if v5 {
		dst = appendProps(dst, &p.Properties, kConnect)
	}
	dst = appendString(dst, p.ClientID)
	if p.HasWill {
		if v5 {
			dst = appendProps(dst, &p.Will.Properties, kindWill)
		}
		dst = appendString(dst, p.Will.Topic)
		dst = appendBinary(dst, p.Will.Payload)
	}
	if p.HasUsername {
		dst = appendString(dst, p.Username)
	}
	if p.HasPassword {
		dst = appendBinary(dst, p.Password)
	}
	return dst
}
