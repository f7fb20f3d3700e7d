package packet

import (
	"errors"
	"fmt"
)

// Type is an MQTT-SN message type [MQTT-SN 5.2.2].
type Type byte

// Message types.
const (
	ADVERTISE     Type = 0x00
	SEARCHGW      Type = 0x01
	GWINFO        Type = 0x02
	CONNECT       Type = 0x04
	CONNACK       Type = 0x05
	WILLTOPICREQ  Type = 0x06
	WILLTOPIC     Type = 0x07
	WILLMSGREQ    Type = 0x08
	WILLMSG       Type = 0x09
	REGISTER      Type = 0x0A
	REGACK        Type = 0x0B
	PUBLISH       Type = 0x0C
	PUBACK        Type = 0x0D
	PUBCOMP       Type = 0x0E
	PUBREC        Type = 0x0F
	PUBREL        Type = 0x10
	SUBSCRIBE     Type = 0x12
	SUBACK        Type = 0x13
	UNSUBSCRIBE   Type = 0x14
	UNSUBACK      Type = 0x15
	PINGREQ       Type = 0x16
	PINGRESP      Type = 0x17
	DISCONNECT    Type = 0x18
	WILLTOPICUPD  Type = 0x1A
	WILLTOPICRESP Type = 0x1B
	WILLMSGUPD    Type = 0x1C
	WILLMSGRESP   Type = 0x1D
	ENCAPSULATED  Type = 0xFE
)

var typeNames = map[Type]string{
	ADVERTISE: "ADVERTISE", SEARCHGW: "SEARCHGW", GWINFO: "GWINFO", CONNECT: "CONNECT",
	CONNACK: "CONNACK", WILLTOPICREQ: "WILLTOPICREQ", WILLTOPIC: "WILLTOPIC",
	WILLMSGREQ: "WILLMSGREQ", WILLMSG: "WILLMSG", REGISTER: "REGISTER", REGACK: "REGACK",
	PUBLISH: "PUBLISH", PUBACK: "PUBACK", PUBCOMP: "PUBCOMP", PUBREC: "PUBREC",
	PUBREL: "PUBREL", SUBSCRIBE: "SUBSCRIBE", SUBACK: "SUBACK", UNSUBSCRIBE: "UNSUBSCRIBE",
	UNSUBACK: "UNSUBACK", PINGREQ: "PINGREQ", PINGRESP: "PINGRESP", DISCONNECT: "DISCONNECT",
	WILLTOPICUPD: "WILLTOPICUPD", WILLTOPICRESP: "WILLTOPICRESP", WILLMSGUPD: "WILLMSGUPD",
	WILLMSGRESP: "WILLMSGRESP", ENCAPSULATED: "ENCAPSULATED",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("Type(0x%02X)", byte(t))
}

// Types lists every message type the codec knows, forwarder encapsulation
// excepted.
func Types() []Type {
	return []Type{ADVERTISE, SEARCHGW, GWINFO, CONNECT, CONNACK, WILLTOPICREQ, WILLTOPIC,
		WILLMSGREQ, WILLMSG, REGISTER, REGACK, PUBLISH, PUBACK, PUBCOMP, PUBREC, PUBREL,
		SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT,
		WILLTOPICUPD, WILLTOPICRESP, WILLMSGUPD, WILLMSGRESP}
}

// ReturnCode is the outcome carried by CONNACK, REGACK, PUBACK, SUBACK,
// WILLTOPICRESP and WILLMSGRESP [MQTT-SN 5.3.10].
type ReturnCode byte

// Return codes.
const (
	Accepted               ReturnCode = 0x00
	RejectedCongestion     ReturnCode = 0x01
	RejectedInvalidTopicID ReturnCode = 0x02
	RejectedNotSupported   ReturnCode = 0x03
)

// Topic id types, the two low bits of the flags [MQTT-SN 5.3.4].
const (
	TopicNormal     byte = 0 // a normal topic id, or a topic name in SUBSCRIBE/UNSUBSCRIBE
	TopicPredefined byte = 1
	TopicShort      byte = 2
)

// ProtocolID is the only protocol id of MQTT-SN 1.2 [MQTT-SN 5.3.7].
const ProtocolID = 0x01

// Flag bits [MQTT-SN 5.3.4].
const (
	flagDup          = 0x80
	flagQoSMask      = 0x60
	flagRetain       = 0x10
	flagWill         = 0x08
	flagCleanSession = 0x04
	flagTopicMask    = 0x03
)

// Packet is one decoded MQTT-SN message. Only the fields its Type uses are
// meaningful; byte slices alias the decoded datagram.
type Packet struct {
	Type Type

	// Flags.
	Dup          bool
	QoS          int8 // -1, 0, 1, 2
	Retain       bool
	Will         bool
	CleanSession bool
	TopicIDType  byte

	GatewayID   byte   // ADVERTISE, GWINFO
	Duration    uint16 // ADVERTISE, CONNECT (keep alive), DISCONNECT (sleep)
	HasDuration bool   // DISCONNECT carries a duration
	Radius      byte   // SEARCHGW
	GatewayAddr []byte // GWINFO sent by a client on behalf of a gateway
	ProtocolID  byte   // CONNECT
	ClientID    []byte // CONNECT, PINGREQ (optional)
	ReturnCode  ReturnCode
	TopicID     uint16 // REGISTER, REGACK, PUBLISH, PUBACK, SUBSCRIBE/UNSUBSCRIBE (predefined, short), SUBACK
	MsgID       uint16
	TopicName   []byte // REGISTER, SUBSCRIBE/UNSUBSCRIBE (normal), WILLTOPIC, WILLTOPICUPD
	Data        []byte // PUBLISH, WILLMSG, WILLMSGUPD
}

// Reset clears p for reuse.
func (p *Packet) Reset() { *p = Packet{} }

// Forward is a forwarder encapsulation header [MQTT-SN 5.5].
type Forward struct {
	Ctrl   byte   // bits 0-1: broadcast radius
	NodeID []byte // wireless node id, aliasing the datagram
}

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed MQTT-SN message")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// ShortTopic returns the topic id of a two-character short topic name.
func ShortTopic(name string) uint16 { return uint16(name[0])<<8 | uint16(name[1]) }

// ShortTopicName returns the two-character name of a short topic id.
func ShortTopicName(id uint16) string { return string([]byte{byte(id >> 8), byte(id)}) }
