// Package mqtt is mqgate's MQTT adapter: it serves MQTT 3.1, 3.1.1 and 5.0
// over TCP, TLS, WebSocket and secure WebSocket, and makes each connection
// a client of the core. It owns the MQTT wire format (package packet), the
// connection state machine (CONNECT, keep alive, topic aliases, Maximum
// Packet Size, Receive Maximum) and the mapping of core outcomes to reason
// codes; subscriptions, queues, inflight windows, retained messages and
// wills are the core's.
//
// # Connections
//
// Listeners, sockets, the poller, the workers and WebSocket framing are
// the shared transport's (adapters/internal/netserve); conn is its Stream.
// An idle plain TCP connection holds no goroutine and no buffers: on Linux
// it waits in netserve's poller, and a worker runs its burst when input
// arrives, which lingers briefly for more before arming it again. TLS and
// WebSocket connections, and every connection elsewhere, keep a reading
// goroutine. Writes go through one writer at a time per
// connection: control packets the reader produces are appended to
// pending, and the writer drains them before pulling deliveries from the
// core, so a SUBACK precedes the retained messages it caused
// [MQTT-3.8.4-4]. A write blocked past WriteTimeout ends the connection.
//
// # Bad input
//
// A packet's declared length is checked against the Maximum Packet Size
// before its body is read, and the first packet, before authentication,
// against a smaller cap. A malformed packet closes its connection with the
// reason code the specification names (v5) or without one (3.x); it never
// affects another connection.
package mqtt
