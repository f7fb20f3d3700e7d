package core

import "sync/atomic"

// Refusal says why the core refused a client's connection at Open. The
// first ones are authentication's; refusals an adapter makes before it
// calls Open (a listener's max_connections, a protocol version it does
// not speak) are not the core's and are not among them.
type Refusal byte

// Refusals.
const (
	RefusedBadCredentials  Refusal = iota // a wrong password, or a username no source knows
	RefusedNotAuthorized                  // no credentials while anonymous access is off
	RefusedAuthSourceError                // an authentication source failed to answer
	RefusedBanned                         // a ban matched the client
	RefusedClientIDInvalid                // an empty client id
	RefusedShuttingDown                   // the broker is closing

	// LastRefusal is the highest Refusal, for tables indexed by one.
	LastRefusal = RefusedShuttingDown
)

var refusalNames = [...]string{
	RefusedBadCredentials:  "bad_credentials",
	RefusedNotAuthorized:   "not_authorized",
	RefusedAuthSourceError: "auth_source_error",
	RefusedBanned:          "banned",
	RefusedClientIDInvalid: "client_id_invalid",
	RefusedShuttingDown:    "shutting_down",
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

// RefusalCount is the connections of one protocol refused for one reason.
type RefusalCount struct {
	Protocol string
	Reason   Refusal
	N        int64
}

// RefusalCounts returns the connections the core refused at Open, by
// protocol (see CountedProtocols) and reason; pairs with none are left
// out.
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
