package core

import "sync/atomic"

// Refusal says why a client's connection was refused: by the core at Open,
// or by an adapter before it asked the core (CountRefused). The first
// three are authentication's; the last four only adapters make, and an
// adapter that refuses a client id its protocol does not allow counts
// client_id_invalid as Open would.
type Refusal byte

// Refusals.
const (
	RefusedBadCredentials  Refusal = iota // a wrong password, or a username no source knows
	RefusedNotAuthorized                  // no credentials while anonymous access is off
	RefusedAuthSourceError                // an authentication source failed to answer
	RefusedBanned                         // a ban matched the client
	RefusedClientIDInvalid                // an empty client id, or one the protocol refuses (too long)
	RefusedShuttingDown                   // the broker is closing

	// Refusals an adapter makes before it calls Open.
	RefusedServerBusy          // a listener at max_connections, a datagram gateway at max_clients
	RefusedUnsupportedProtocol // a protocol version, or a feature of one, the adapter does not speak
	RefusedMalformedConnect    // a first packet or frame that is not a CONNECT the adapter accepts
	RefusedConnectTimeout      // no CONNECT (or no end to it) within the connect timeout

	// LastRefusal is the highest Refusal, for tables indexed by one.
	LastRefusal = RefusedConnectTimeout
)

var refusalNames = [...]string{
	RefusedBadCredentials:  "bad_credentials",
	RefusedNotAuthorized:   "not_authorized",
	RefusedAuthSourceError: "auth_source_error",
	RefusedBanned:          "banned",
	RefusedClientIDInvalid: "client_id_invalid",
	RefusedShuttingDown:    "shutting_down",

	RefusedServerBusy:          "server_busy",
	RefusedUnsupportedProtocol: "unsupported_protocol",
	RefusedMalformedConnect:    "malformed_connect",
	RefusedConnectTimeout:      "connect_timeout",
}

func (r Refusal) String() string {
	if int(r) < len(refusalNames) {
		return refusalNames[r]
	}
	return "unknown"
}

// Authentication reports whether r is a refusal by authentication.
func (r Refusal) Authentication() bool { return r <= RefusedAuthSourceError }

// refusalCounts counts refused connections by protocol and Refusal. A
// connection is refused once, so the counters cost the message path
// nothing.
type refusalCounts [nProtocols][LastRefusal + 1]atomic.Int64

// refuse counts info's connection refused for r.
func (b *Broker) refuse(info *ClientInfo, r Refusal) {
	b.refusals[protoIndex(info.Protocol)][r].Add(1)
}

// CountRefused counts a connection of protocol (a ClientInfo.Protocol)
// that its adapter refused for r before it asked the core: the core
// counts the ones Open refuses itself, so an adapter counts only the
// connections it never hands to Open. It allocates nothing.
func (b *Broker) CountRefused(protocol string, r Refusal) {
	b.refusals[protoIndex(protocol)][r].Add(1)
}

// RefusalCount is the connections of one protocol refused for one reason.
type RefusalCount struct {
	Protocol string
	Reason   Refusal
	N        int64
}

// RefusalCounts returns the connections refused, by the core at Open
// or by an adapter (CountRefused), by protocol (see CountedProtocols)
// and reason; pairs with none are left out.
func (b *Broker) RefusalCounts() []RefusalCount {
	var out []RefusalCount
	for i, p := range CountedProtocols {
		for r := range b.refusals[i] {
			if n := b.refusals[i][r].Load(); n != 0 {
				out = append(out, RefusalCount{Protocol: p, Reason: Refusal(r), N: n})
			}
		}
	}
	return out
}
