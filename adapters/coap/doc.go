// Package coap is mqgate's CoAP gateway (RFC 7252, RFC 7641): it serves
// CoAP clients over UDP and DTLS with EMQX's /ps resource scheme and makes
// each of them a client of the core.
//
// # Resources
//
// POST /ps/{topic...} publishes, GET /ps/{topic...} reads the retained
// message, GET with Observe 0 subscribes (the Uri-Path segments after "ps"
// are the filter's levels), Observe 1 cancels and DELETE clears the
// retained message. Each Uri-Path segment is percent-decoded once and
// becomes one topic level; a segment that decodes to '/', NUL, "." or ".."
// is refused, so no two segment lists map to one topic (uri.go).
//
// # Datagrams
//
// The adapter owns its datagram loop and its request parser (wire.go)
// instead of go-coap's server, and encodes with go-coap's message coder:
// a malformed datagram is answered or dropped on its own and never ends
// the state of its source address, unknown critical options get 4.02
// before any side effect, and all per-peer state is bounded (clients,
// observations, the duplicate cache). See the checklist notes in
// README.md's CoAP section.
//
// # Goroutines and locks
//
// Each UDP listener has one reader goroutine, each DTLS association one.
// One service goroutine pulls notifications for the clients the core
// notified and runs the retransmission and heartbeat timers. client.mu is
// taken before Gateway.mu; core.Conn.Notify and Kick touch only atomics
// and the work queue's lock, a leaf lock (adapters/internal/workqueue).
//
// # Identity
//
// A request names its client with the clientid query parameter; without
// one, it belongs to the client its source address is bound to, or to the
// stable id "coap-" + the source address (ip:port). Datagrams are routed
// by client id, so a device whose NAT port changed keeps its session when
// it sends its client id and the credentials it opened the session with.
package coap
