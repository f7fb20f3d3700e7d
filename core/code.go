package core

// Code is the outcome of a core operation, in the core's own vocabulary.
// Its values are the core's: each adapter maps them to its wire (an MQTT
// reason code, an MQTT-SN return code, a STOMP ERROR frame, a CoAP
// response code). A Code is also an error, so calls that fail return one
// as their error value; converting it to an error does not allocate.
type Code uint8

// Codes returned by the core. Success and the codes before
// UnspecifiedError are not failures.
const (
	Success               Code = iota
	NoMatchingSubscribers      // published, but no session was subscribed
	NoSubscriptionExisted      // unsubscribed from nothing

	UnspecifiedError         // failed for a reason the core does not name (a store write, for one)
	ProtocolError            // the client broke its protocol's rules
	ImplementationError      // the adapter asked for something the core does not do
	ClientIDNotValid         // an empty or unacceptable client identifier
	BadUsernameOrPassword    // the credentials are wrong
	NotAuthorized            // authentication or authorization refused it
	ServerUnavailable        // the core cannot serve it now
	ServerShuttingDown       // the broker is closing
	SessionTakenOver         // another connection took the session
	TopicFilterInvalid       // a malformed topic filter
	TopicNameInvalid         // a malformed topic name, or one reserved to the broker
	ReceiveMaximumExceeded   // more unacknowledged inbound QoS 2 messages than allowed
	PacketTooLarge           // larger than the limit
	QuotaExceeded            // a limit on subscriptions or retained messages was reached
	AdministrativeAction     // an operator closed it
	PayloadFormatInvalid     // the payload is not what its format says
	SharedSubsNotSupported   // shared subscriptions are off
	WildcardSubsNotSupported // wildcard subscriptions are off
	Banned                   // an operator banned the client
)

var codeNames = [...]string{
	Success:                  "success",
	NoMatchingSubscribers:    "no matching subscribers",
	NoSubscriptionExisted:    "no subscription existed",
	UnspecifiedError:         "unspecified error",
	ProtocolError:            "protocol error",
	ImplementationError:      "implementation error",
	ClientIDNotValid:         "client identifier not valid",
	BadUsernameOrPassword:    "bad username or password",
	NotAuthorized:            "not authorized",
	ServerUnavailable:        "server unavailable",
	ServerShuttingDown:       "server shutting down",
	SessionTakenOver:         "session taken over",
	TopicFilterInvalid:       "topic filter invalid",
	TopicNameInvalid:         "topic name invalid",
	ReceiveMaximumExceeded:   "receive maximum exceeded",
	PacketTooLarge:           "packet too large",
	QuotaExceeded:            "quota exceeded",
	AdministrativeAction:     "administrative action",
	PayloadFormatInvalid:     "payload format invalid",
	SharedSubsNotSupported:   "shared subscriptions not supported",
	WildcardSubsNotSupported: "wildcard subscriptions not supported",
	Banned:                   "banned",
}

// Failed reports whether c is a failure.
func (c Code) Failed() bool { return c >= UnspecifiedError }

func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "unknown code"
}

// Error makes a Code an error value: errors.Is(err, core.NotAuthorized).
func (c Code) Error() string { return c.String() }

// Err returns c as an error, nil for a code that is not a failure.
func (c Code) Err() error {
	if !c.Failed() {
		return nil
	}
	return c
}

// CodeError is an error that carries a Code and says more.
type CodeError struct {
	Code Code
	Msg  string
}

func (e *CodeError) Error() string { return e.Msg }

// Unwrap lets errors.Is find the Code.
func (e *CodeError) Unwrap() error { return e.Code }
