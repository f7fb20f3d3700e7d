package core

// Code is the outcome of a core operation. Its values are MQTT 5 reason
// codes, the richest vocabulary of the protocols mqgate speaks; adapters
// map them to their own wire (an MQTT-SN return code, a STOMP ERROR, a CoAP
// response code).
type Code byte

// Codes returned by the core.
const (
	Success                  Code = 0x00
	GrantedQoS1              Code = 0x01
	GrantedQoS2              Code = 0x02
	NoMatchingSubscribers    Code = 0x10
	NoSubscriptionExisted    Code = 0x11
	UnspecifiedError         Code = 0x80
	ProtocolError            Code = 0x82
	ImplementationError      Code = 0x83
	ClientIDNotValid         Code = 0x85
	BadUsernameOrPassword    Code = 0x86
	NotAuthorized            Code = 0x87
	ServerUnavailable        Code = 0x88
	ServerShuttingDown       Code = 0x8B
	SessionTakenOver         Code = 0x8E
	TopicFilterInvalid       Code = 0x8F
	TopicNameInvalid         Code = 0x90
	ReceiveMaximumExceeded   Code = 0x93
	PacketTooLarge           Code = 0x95
	QuotaExceeded            Code = 0x97
	AdministrativeAction     Code = 0x98
	PayloadFormatInvalid     Code = 0x99
	SharedSubsNotSupported   Code = 0x9E
	WildcardSubsNotSupported Code = 0xA2
)

// Failed reports whether c is a failure (0x80 or above).
func (c Code) Failed() bool { return c >= 0x80 }

// CodeError is an error that carries a Code.
type CodeError struct {
	Code Code
	Msg  string
}

func (e *CodeError) Error() string { return e.Msg }
