package packet

import (
	"bytes"
	"unicode/utf8"
)

// Decode decodes the body of one packet (exactly h.Remaining bytes) into p,
// which is Reset first. v is the negotiated version; for CONNECT it is
// ignored and p.Version comes from the body. Topic, Payload, Will.Payload,
// Password, CorrelationData and AuthData alias body; strings are copied.
// Any malformed or protocol-violating input yields an *Error whose Code is
// the v5 reason code to send before closing.
//
// Decode accepts every packet type in both directions; which types a
// server or client may receive is the caller's decision.
func Decode(p *Packet, h Header, body []byte, v Version) error {
	p.Reset()
	p.Type = h.Type
	p.Flags = h.Flags
	if len(body) != h.Remaining {
		return malformed("body length does not match the remaining length")
	}
	if err := h.Check(v); err != nil {
		return err
	}
	r := reader{b: body}
	var err error
	switch h.Type {
	case CONNECT:
		err = decodeConnect(p, &r)
	case CONNACK:
		err = decodeConnack(p, &r, v)
	case PUBLISH:
		err = decodePublish(p, &r, v)
	case PUBACK, PUBREC:
		err = decodeAck(p, &r, v, &pubackReasons)
	case PUBREL, PUBCOMP:
		err = decodeAck(p, &r, v, &pubrelReasons)
	case SUBSCRIBE:
		err = decodeSubscribe(p, &r, v)
	case SUBACK:
		err = decodeSuback(p, &r, v)
	case UNSUBSCRIBE:
		err = decodeUnsubscribe(p, &r, v)
	case UNSUBACK:
		err = decodeUnsuback(p, &r, v)
	case PINGREQ, PINGRESP:
		// Check enforced the empty body.
	case DISCONNECT:
		if v == V5 {
			err = decodeReasonAndProps(p, &r, &disconnectReasons, kDisconnect)
		}
	case AUTH:
		err = decodeReasonAndProps(p, &r, &authReasons, kAuth)
	}
	if err != nil {
		return err
	}
	if r.left() != 0 {
		return malformed("trailing bytes after the packet body")
	}
	return nil
}

func decodeConnect(p *Packet, r *reader) error {
	name, err := r.readBinary("protocol name")
	if err != nil {
		return err
	}
	level, err := r.readByte("protocol level")
	if err != nil {
		return err
	}
	// Report the level even when refusing it, so the caller can answer in
	// the format the client understands.
	p.Version = Version(level)
	switch {
	case string(name) == "MQTT" && (level == byte(V311) || level == byte(V5)):
		p.ProtocolName = "MQTT"
	case string(name) == "MQIsdp" && level == byte(V31):
		p.ProtocolName = "MQIsdp"
	case string(name) == "MQTT" || string(name) == "MQIsdp":
		// [MQTT-3.1.2-2] unsupported level: CONNACK 0x84 (v3 return code 1).
		return &Error{Code: UnsupportedProtocolVersion, Msg: "unsupported protocol level"}
	default:
		// [MQTT-3.1.2-1] wrong protocol name: the server MAY answer 0x84.
		return &Error{Code: UnsupportedProtocolVersion, Msg: "unknown protocol name"}
	}
	v5 := p.Version == V5
	flags, err := r.readByte("connect flags")
	if err != nil {
		return err
	}
	if flags&0x01 != 0 {
		return malformed("reserved connect flag set") // [MQTT-3.1.2-3]
	}
	p.CleanStart = flags&0x02 != 0
	p.HasWill = flags&0x04 != 0
	willQoS := flags >> 3 & 3
	willRetain := flags&0x20 != 0
	p.HasPassword = flags&0x40 != 0
	p.HasUsername = flags&0x80 != 0
	if !p.HasWill && (willQoS != 0 || willRetain) {
		return malformed("will QoS or retain without the will flag") // [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15]
	}
	if willQoS == 3 {
		return malformed("will QoS 3") // [MQTT-3.1.2-14]
	}
	if !v5 && p.HasPassword && !p.HasUsername {
		return malformed("password without user name") // [MQTT-3.1.2-22] (legal in v5)
	}
	if p.KeepAlive, err = r.readUint16("keep alive"); err != nil {
		return err
	}
	if v5 {
		if err := decodeProps(r, &p.Properties, kConnect); err != nil {
			return err
		}
	}
	// [MQTT-3.1.3-3] [MQTT-3.1.3-4] client identifier, a UTF-8 string; an
	// empty one is the server's to accept or refuse.
	if p.ClientID, err = r.readStringCopy("client identifier"); err != nil {
		return err
	}
	if p.HasWill {
		p.Will.QoS = willQoS
		p.Will.Retain = willRetain
		if v5 {
			if err := decodeProps(r, &p.Will.Properties, kindWill); err != nil {
				return err
			}
		}
		if p.Will.Topic, err = r.readStringCopy("will topic"); err != nil {
			return err
		}
		// [MQTT-3.1.3-11] the will topic is a topic name: no wildcards, and
		// no alias can stand in for an empty one.
		if p.Will.Topic == "" || hasWildcard(p.Will.Topic) {
			return &Error{Code: TopicNameInvalid, Msg: "will topic is not a valid topic name"}
		}
		if p.Will.Payload, err = r.readBinary("will payload"); err != nil {
			return err
		}
		if p.Will.Properties.PayloadFormat == 1 && !utf8.Valid(p.Will.Payload) {
			return &Error{Code: PayloadFormatInvalid, Msg: "will payload is not valid UTF-8"}
		}
	}
	if p.HasUsername {
		if p.Username, err = r.readStringCopy("user name"); err != nil { // [MQTT-3.1.3-11]
			return err
		}
	}
	if p.HasPassword {
		if p.Password, err = r.readBinary("password"); err != nil {
			return err
		}
	}
	return nil
}

func decodeConnack(p *Packet, r *reader, v Version) error {
	flags, err := r.readByte("connect acknowledge flags")
	if err != nil {
		return err
	}
	if flags&^0x01 != 0 || v == V31 && flags != 0 {
		return malformed("reserved connect acknowledge flags set") // [MQTT-3.2.2-1]; 3.1 reserves the whole byte
	}
	p.SessionPresent = flags&0x01 != 0
	if p.ReasonCode, err = r.readByte("connect reason code"); err != nil {
		return err
	}
	if v == V5 {
		if !connackReasons.has(p.ReasonCode) {
			return protocolError("invalid CONNACK reason code")
		}
	} else if p.ReasonCode > ConnRefusedNotAuthorized {
		return protocolError("invalid CONNACK return code")
	}
	if p.SessionPresent && p.ReasonCode != 0 {
		return protocolError("session present on a refused connection") // [MQTT-3.2.2-4] [MQTT-3.2.2-6]
	}
	if v == V5 {
		return decodeProps(r, &p.Properties, kConnack)
	}
	return nil
}

func decodePublish(p *Packet, r *reader, v Version) error {
	p.Dup = p.Flags&0x08 != 0
	p.QoS = p.Flags >> 1 & 3
	p.Retain = p.Flags&0x01 != 0
	topic, err := r.readString("topic name")
	if err != nil {
		return err
	}
	if bytes.IndexByte(topic, '+') >= 0 || bytes.IndexByte(topic, '#') >= 0 {
		return &Error{Code: TopicNameInvalid, Msg: "wildcard in topic name"} // [MQTT-3.3.2-2]
	}
	p.Topic = topic
	if p.QoS > 0 {
		if p.PacketID, err = r.readUint16("packet identifier"); err != nil {
			return err
		}
		if p.PacketID == 0 {
			return protocolError("packet identifier 0") // [MQTT-2.3.1-1] strict, see doc.go
		}
	}
	if v == V5 {
		if err := decodeProps(r, &p.Properties, kPublish); err != nil {
			return err
		}
		if len(topic) == 0 && !p.Properties.HasTopicAlias {
			return protocolError("empty topic name without a topic alias") // [MQTT 5 3.3.2.1]
		}
	} else if len(topic) == 0 {
		return protocolError("empty topic name") // [MQTT-4.7.3-1]
	}
	p.Payload = r.rest()
	if p.Properties.PayloadFormat == 1 && !utf8.Valid(p.Payload) {
		// [MQTT-3.3.2-4] the receiver may check the payload it was promised.
		return &Error{Code: PayloadFormatInvalid, Msg: "payload is not valid UTF-8"}
	}
	return nil
}

// decodeAck decodes PUBACK, PUBREC, PUBREL and PUBCOMP.
func decodeAck(p *Packet, r *reader, v Version, reasons *reasonSet) error {
	if err := readPacketID(p, r); err != nil {
		return err
	}
	if v != V5 || r.left() == 0 {
		return nil // v5: [MQTT-3.4.2.1] no reason code means Success
	}
	return decodeReasonAndProps(p, r, reasons, kindOfType(p.Type))
}

// decodeReasonAndProps reads an optional reason code and an optional
// property block, as in v5 acks, DISCONNECT and AUTH.
func decodeReasonAndProps(p *Packet, r *reader, reasons *reasonSet, kind uint32) error {
	if r.left() == 0 {
		return nil // Success / Normal disconnection
	}
	p.ReasonCode, _ = r.readByte("reason code")
	if !reasons.has(p.ReasonCode) {
		return protocolError("reason code 0x" + hex2(int(p.ReasonCode)) + " not allowed in this packet")
	}
	if r.left() == 0 {
		return nil // property length omitted: no properties
	}
	return decodeProps(r, &p.Properties, kind)
}

func kindOfType(t Type) uint32 { return 1 << t }

func readPacketID(p *Packet, r *reader) error {
	var err error
	if p.PacketID, err = r.readUint16("packet identifier"); err != nil {
		return err
	}
	if p.PacketID == 0 {
		return protocolError("packet identifier 0") // [MQTT-2.3.1-1] strict, see doc.go
	}
	return nil
}

func decodeSubscribe(p *Packet, r *reader, v Version) error {
	if err := readPacketID(p, r); err != nil {
		return err
	}
	v5 := v == V5
	if v5 {
		if err := decodeProps(r, &p.Properties, kSubscribe); err != nil {
			return err
		}
	}
	for r.left() > 0 {
		f, err := r.readStringCopy("topic filter")
		if err != nil {
			return err
		}
		o, err := r.readByte("subscription options")
		if err != nil {
			return err
		}
		s := Subscription{Filter: f, QoS: o & 3}
		if s.QoS == 3 {
			return malformed("subscription QoS 3") // [MQTT-3.8.3-4]
		}
		if v5 {
			if o&0xC0 != 0 {
				return malformed("reserved subscription option bits set") // [MQTT-3.8.3-5]
			}
			s.NoLocal = o&0x04 != 0
			s.RetainAsPublished = o&0x08 != 0
			s.RetainHandling = o >> 4 & 3
			if s.RetainHandling == 3 {
				return protocolError("retain handling 3") // [MQTT 5 3.8.3.1]
			}
		} else if o&0xFC != 0 {
			return malformed("reserved subscription option bits set") // [MQTT-3-8.3-4]
		}
		p.Subscriptions = append(p.Subscriptions, s)
	}
	if len(p.Subscriptions) == 0 {
		return protocolError("SUBSCRIBE without a topic filter") // [MQTT-3.8.3-3]
	}
	return nil
}

func decodeSuback(p *Packet, r *reader, v Version) error {
	if err := readPacketID(p, r); err != nil {
		return err
	}
	reasons := &subackReasonsV3
	if v == V5 {
		reasons = &subackReasons
		if err := decodeProps(r, &p.Properties, kSuback); err != nil {
			return err
		}
	}
	return readReasonCodes(p, r, reasons)
}

func readReasonCodes(p *Packet, r *reader, reasons *reasonSet) error {
	if r.left() == 0 {
		return protocolError("no reason codes") // [MQTT-3.9.3-1] [MQTT-3.11.3-1]
	}
	for _, c := range r.rest() {
		if !reasons.has(c) {
			return protocolError("reason code 0x" + hex2(int(c)) + " not allowed in this packet")
		}
		p.ReasonCodes = append(p.ReasonCodes, c)
	}
	return nil
}

func decodeUnsubscribe(p *Packet, r *reader, v Version) error {
	if err := readPacketID(p, r); err != nil {
		return err
	}
	if v == V5 {
		if err := decodeProps(r, &p.Properties, kUnsubscribe); err != nil {
			return err
		}
	}
	for r.left() > 0 {
		f, err := r.readStringCopy("topic filter")
		if err != nil {
			return err
		}
		p.Filters = append(p.Filters, f)
	}
	if len(p.Filters) == 0 {
		return protocolError("UNSUBSCRIBE without a topic filter") // [MQTT-3.10.3-2]
	}
	return nil
}

func decodeUnsuback(p *Packet, r *reader, v Version) error {
	if err := readPacketID(p, r); err != nil {
		return err
	}
	if v != V5 {
		return nil
	}
	if err := decodeProps(r, &p.Properties, kUnsuback); err != nil {
		return err
	}
	return readReasonCodes(p, r, &unsubackReasons)
}
