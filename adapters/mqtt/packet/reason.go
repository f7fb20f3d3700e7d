package packet

import (
	"errors"
	"strconv"
)

// MQTT 5 reason codes. Several share a value; the name says the context.
const (
	Success                             byte = 0x00
	NormalDisconnection                 byte = 0x00
	GrantedQoS0                         byte = 0x00
	GrantedQoS1                         byte = 0x01
	GrantedQoS2                         byte = 0x02
	DisconnectWithWill                  byte = 0x04
	NoMatchingSubscribers               byte = 0x10
	NoSubscriptionExisted               byte = 0x11
	ContinueAuthentication              byte = 0x18
	ReAuthenticate                      byte = 0x19
	UnspecifiedError                    byte = 0x80
	MalformedPacket                     byte = 0x81
	ProtocolError                       byte = 0x82
	ImplementationSpecificError         byte = 0x83
	UnsupportedProtocolVersion          byte = 0x84
	ClientIdentifierNotValid            byte = 0x85
	BadUserNameOrPassword               byte = 0x86
	NotAuthorized                       byte = 0x87
	ServerUnavailable                   byte = 0x88
	ServerBusy                          byte = 0x89
	Banned                              byte = 0x8A
	ServerShuttingDown                  byte = 0x8B
	BadAuthenticationMethod             byte = 0x8C
	KeepAliveTimeout                    byte = 0x8D
	SessionTakenOver                    byte = 0x8E
	TopicFilterInvalid                  byte = 0x8F
	TopicNameInvalid                    byte = 0x90
	PacketIdentifierInUse               byte = 0x91
	PacketIdentifierNotFound            byte = 0x92
	ReceiveMaximumExceeded              byte = 0x93
	TopicAliasInvalid                   byte = 0x94
	PacketTooLarge                      byte = 0x95
	MessageRateTooHigh                  byte = 0x96
	QuotaExceeded                       byte = 0x97
	AdministrativeAction                byte = 0x98
	PayloadFormatInvalid                byte = 0x99
	RetainNotSupported                  byte = 0x9A
	QoSNotSupported                     byte = 0x9B
	UseAnotherServer                    byte = 0x9C
	ServerMoved                         byte = 0x9D
	SharedSubscriptionsNotSupported     byte = 0x9E
	ConnectionRateExceeded              byte = 0x9F
	MaximumConnectTime                  byte = 0xA0
	SubscriptionIdentifiersNotSupported byte = 0xA1
	WildcardSubscriptionsNotSupported   byte = 0xA2
)

// MQTT 3.1 and 3.1.1 CONNACK return codes.
const (
	ConnAccepted                   byte = 0
	ConnRefusedProtocolVersion     byte = 1
	ConnRefusedIdentifierRejected  byte = 2
	ConnRefusedServerUnavailable   byte = 3
	ConnRefusedBadUsernamePassword byte = 4
	ConnRefusedNotAuthorized       byte = 5
)

// Error is a decoding error carrying the v5 reason code to send before
// closing the connection (in CONNACK before CONNECT completed, in DISCONNECT
// after). v3 peers get no reason; the connection is simply closed, except
// that UnsupportedProtocolVersion maps to CONNACK return code 1.
type Error struct {
	Code byte
	Msg  string
}

func (e *Error) Error() string {
	return "mqtt packet: " + e.Msg + " (reason 0x" + strconv.FormatUint(uint64(e.Code), 16) + ")"
}

// ErrIncomplete is returned by ReadHeader when the buffer does not hold the
// whole fixed header yet; the caller reads more bytes and tries again.
var ErrIncomplete = errors.New("mqtt packet: incomplete fixed header")

func malformed(msg string) error     { return &Error{Code: MalformedPacket, Msg: msg} }
func protocolError(msg string) error { return &Error{Code: ProtocolError, Msg: msg} }

// reasonSet is a 256-bit set of allowed reason codes.
type reasonSet [4]uint64

func newReasonSet(codes ...byte) reasonSet {
	var s reasonSet
	for _, c := range codes {
		s[c>>6] |= 1 << (c & 63)
	}
	return s
}

func (s *reasonSet) has(c byte) bool { return s[c>>6]&(1<<(c&63)) != 0 }

// Reason codes each packet type may carry in MQTT 5 (section 2.4 and the
// per-packet tables of chapter 3).
var (
	connackReasons = newReasonSet(Success, UnspecifiedError, MalformedPacket, ProtocolError,
		ImplementationSpecificError, UnsupportedProtocolVersion, ClientIdentifierNotValid,
		BadUserNameOrPassword, NotAuthorized, ServerUnavailable, ServerBusy, Banned,
		BadAuthenticationMethod, TopicNameInvalid, PacketTooLarge, QuotaExceeded,
		PayloadFormatInvalid, RetainNotSupported, QoSNotSupported, UseAnotherServer,
		ServerMoved, ConnectionRateExceeded)
	pubackReasons = newReasonSet(Success, NoMatchingSubscribers, UnspecifiedError,
		ImplementationSpecificError, NotAuthorized, TopicNameInvalid, PacketIdentifierInUse,
		QuotaExceeded, PayloadFormatInvalid)
	pubrelReasons = newReasonSet(Success, PacketIdentifierNotFound)
	subackReasons = newReasonSet(GrantedQoS0, GrantedQoS1, GrantedQoS2, UnspecifiedError,
		ImplementationSpecificError, NotAuthorized, TopicFilterInvalid, PacketIdentifierInUse,
		QuotaExceeded, SharedSubscriptionsNotSupported, SubscriptionIdentifiersNotSupported,
		WildcardSubscriptionsNotSupported)
	subackReasonsV3 = newReasonSet(GrantedQoS0, GrantedQoS1, GrantedQoS2, UnspecifiedError)
	unsubackReasons = newReasonSet(Success, NoSubscriptionExisted, UnspecifiedError,
		ImplementationSpecificError, NotAuthorized, TopicFilterInvalid, PacketIdentifierInUse)
	disconnectReasons = newReasonSet(NormalDisconnection, DisconnectWithWill, UnspecifiedError,
		MalformedPacket, ProtocolError, ImplementationSpecificError, NotAuthorized, ServerBusy,
		ServerShuttingDown, KeepAliveTimeout, SessionTakenOver, TopicFilterInvalid,
		TopicNameInvalid, ReceiveMaximumExceeded, TopicAliasInvalid, PacketTooLarge,
		MessageRateTooHigh, QuotaExceeded, AdministrativeAction, PayloadFormatInvalid,
		RetainNotSupported, QoSNotSupported, UseAnotherServer, ServerMoved,
		SharedSubscriptionsNotSupported, ConnectionRateExceeded, MaximumConnectTime,
		SubscriptionIdentifiersNotSupported, WildcardSubscriptionsNotSupported)
	authReasons = newReasonSet(Success, ContinueAuthentication, ReAuthenticate)
)
