package packet

import (
	"encoding/binary"
	"fmt"
)

func (p *Packet) flags() byte {
	var f byte
	if p.Dup {
		f |= flagDup
	}
	switch p.QoS {
	case -1:
		f |= 3 << 5
	default:
		f |= byte(p.QoS&3) << 5
	}
	if p.Retain {
		f |= flagRetain
	}
	if p.Will {
		f |= flagWill
	}
	if p.CleanSession {
		f |= flagCleanSession
	}
	return f | p.TopicIDType&flagTopicMask
}

// bodyLen is the size of p's body (everything after the message type).
func (p *Packet) bodyLen() (int, error) {
	switch p.Type {
	case ADVERTISE:
		return 3, nil
	case SEARCHGW, CONNACK, WILLTOPICRESP, WILLMSGRESP:
		return 1, nil
	case GWINFO:
		return 1 + len(p.GatewayAddr), nil
	case CONNECT:
		return 4 + len(p.ClientID), nil
	case WILLTOPICREQ, WILLMSGREQ, PINGRESP:
		return 0, nil
	case WILLTOPIC, WILLTOPICUPD:
		if len(p.TopicName) == 0 {
			return 0, nil
		}
		return 1 + len(p.TopicName), nil
	case WILLMSG, WILLMSGUPD:
		return len(p.Data), nil
	case REGISTER:
		return 4 + len(p.TopicName), nil
	case REGACK, PUBACK:
		return 5, nil
	case PUBLISH:
		return 5 + len(p.Data), nil
	case PUBCOMP, PUBREC, PUBREL, UNSUBACK:
		return 2, nil
	case SUBSCRIBE, UNSUBSCRIBE:
		if p.TopicIDType == TopicNormal {
			return 3 + len(p.TopicName), nil
		}
		return 5, nil
	case SUBACK:
		return 6, nil
	case PINGREQ:
		return len(p.ClientID), nil
	case DISCONNECT:
		if p.HasDuration {
			return 2, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("mqttsn: cannot encode message type %v", p.Type)
}

// Size returns the encoded length of p.
func Size(p *Packet) (int, error) {
	n, err := p.bodyLen()
	if err != nil {
		return 0, err
	}
	if n+2 <= 255 {
		return n + 2, nil
	}
	return n + 4, nil
}

// MaxLen is the longest MQTT-SN message: the 3-octet length form's limit.
const MaxLen = 65535

// Append encodes p and appends it to dst. The 1-octet length form is used
// up to 255 bytes, the 3-octet form above [MQTT-SN 5.2.1].
func Append(dst []byte, p *Packet) ([]byte, error) {
	n, err := p.bodyLen()
	if err != nil {
		return dst, err
	}
	switch {
	case n+2 <= 255:
		dst = append(dst, byte(n+2), byte(p.Type))
	case n+4 <= MaxLen:
		dst = append(dst, 0x01, byte((n+4)>>8), byte(n+4), byte(p.Type))
	default:
		return dst, fmt.Errorf("mqttsn: %v of %d bytes exceeds %d", p.Type, n+4, MaxLen)
	}
	be := binary.BigEndian
	switch p.Type {
	case ADVERTISE:
		dst = be.AppendUint16(append(dst, p.GatewayID), p.Duration)
	case SEARCHGW:
		dst = append(dst, p.Radius)
	case GWINFO:
		dst = append(append(dst, p.GatewayID), p.GatewayAddr...)
	case CONNECT:
		dst = append(dst, p.flags(), p.ProtocolID)
		dst = append(be.AppendUint16(dst, p.Duration), p.ClientID...)
	case CONNACK, WILLTOPICRESP, WILLMSGRESP:
		dst = append(dst, byte(p.ReturnCode))
	case WILLTOPIC, WILLTOPICUPD:
		if len(p.TopicName) > 0 {
			dst = append(append(dst, p.flags()), p.TopicName...)
		}
	case WILLMSG, WILLMSGUPD:
		dst = append(dst, p.Data...)
	case REGISTER:
		dst = append(be.AppendUint16(be.AppendUint16(dst, p.TopicID), p.MsgID), p.TopicName...)
	case REGACK, PUBACK:
		dst = append(be.AppendUint16(be.AppendUint16(dst, p.TopicID), p.MsgID), byte(p.ReturnCode))
	case PUBLISH:
		dst = append(dst, p.flags())
		dst = append(be.AppendUint16(be.AppendUint16(dst, p.TopicID), p.MsgID), p.Data...)
	case PUBCOMP, PUBREC, PUBREL, UNSUBACK:
		dst = be.AppendUint16(dst, p.MsgID)
	case SUBSCRIBE, UNSUBSCRIBE:
		dst = be.AppendUint16(append(dst, p.flags()), p.MsgID)
		if p.TopicIDType == TopicNormal {
			dst = append(dst, p.TopicName...)
		} else {
			dst = be.AppendUint16(dst, p.TopicID)
		}
	case SUBACK:
		dst = append(dst, p.flags())
		dst = append(be.AppendUint16(be.AppendUint16(dst, p.TopicID), p.MsgID), byte(p.ReturnCode))
	case PINGREQ:
		dst = append(dst, p.ClientID...)
	case DISCONNECT:
		if p.HasDuration {
			dst = be.AppendUint16(dst, p.Duration)
		}
	}
	return dst, nil
}

// AppendForward appends a forwarder encapsulation header for fw followed
// by the already encoded message msg [MQTT-SN 5.5].
func AppendForward(dst []byte, fw *Forward, msg []byte) ([]byte, error) {
	n := 3 + len(fw.NodeID)
	if n > 255 {
		return dst, fmt.Errorf("mqttsn: wireless node id of %d bytes is too long", len(fw.NodeID))
	}
	dst = append(dst, byte(n), byte(ENCAPSULATED), fw.Ctrl)
	dst = append(dst, fw.NodeID...)
	return append(dst, msg...), nil
}
