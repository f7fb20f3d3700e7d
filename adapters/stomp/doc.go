// Package stomp is mqgate's STOMP adapter: it serves STOMP 1.0, 1.1 and
// 1.2 over TCP, TLS, WebSocket, secure WebSocket and SockJS, and makes each
// connection a client of the core. It owns the STOMP wire format
// (package frame), the connection state machine (CONNECT, heart-beats,
// receipts, transactions, acknowledgements) and the mapping of
// destinations to MQTT topics; subscriptions, queues, inflight windows
// and retained messages are the core's.
//
// # Connections
//
// Listeners, sockets and WebSocket framing are the shared transport's
// (adapters/internal/netserve); conn is its Stream. A plain TCP
// connection on Linux waits in netserve's poller between bursts of input
// with no goroutine and no read buffer (poll.go); TLS and WebSocket
// connections keep a reading goroutine. The writer runs on demand
// (writer.go). SockJS listeners (sockjs.go) run igm/sockjs-go on HTTP
// servers of their own, behind checks of origin, session ownership and
// body size; each session is a connection with a reading goroutine.
//
// # Mapping to the core
//
//   - CONNECT/STOMP: the highest common version of accept-version (none:
//     1.0); login and passcode go to the core's authentication; host is
//     accepted and not used; client-id names the session (otherwise one
//     is assigned in the namespace), and persistent:true with a client-id
//     keeps the session, its subscriptions and its unacknowledged
//     messages for the next connection.
//   - SEND: the destination's topic, the body as payload, QoS 1 unless
//     a qos header says 0, 1 or 2, retain:true to retain, content-type as
//     the MQTT 5 content type, every other header (reserved names aside)
//     as a user property. The RECEIPT follows the routing.
//   - SUBSCRIBE: a Separate core subscription keyed by the id, so each
//     subscription gets its own MESSAGE. ack:auto is QoS 0; client and
//     client-individual are QoS 1 and wait for ACK (Settle Accepted) or
//     NACK (Settle Requeued: redelivered with redelivered:true). client
//     is cumulative. The unacknowledged deliveries of a connection are
//     bounded by MaxUnacked (the core's inflight window); a
//     prefetch-count header bounds a subscription's, the writer holding
//     back the deliveries beyond it until ACKs make room.
//   - ACK/NACK name a message by id (1.2) or message-id (1.0, 1.1). An
//     id the connection never handed out is an error; one already
//     settled is ignored.
//   - BEGIN/COMMIT/ABORT: SEND, ACK and NACK inside a transaction take
//     effect at COMMIT, in order; ABORT or the end of the connection
//     discards them. A COMMIT whose SEND is refused ends the connection
//     with the frames before it applied.
//   - Any failure is an ERROR frame with a message header (the core's
//     code in words) and the connection closes [STOMP 1.2 ERROR].
//
// # Destinations
//
// In the default mode (DestMQTT) a destination is the MQTT topic after
// the mountpoint; SUBSCRIBE takes MQTT filters with +, # and
// $share/{group}/...; a SEND destination with + or # is refused. In
// DestRabbitMQ mode destinations are RabbitMQ Web-STOMP's /topic/ form:
// /topic/a.b.c is the topic a/b/c, '*' is '+', '#' is '#', and a '/' in
// the destination is a '.' in the topic (RabbitMQ's MQTT plugin swaps
// them the same way), so every topic maps back to the destination it
// came from. Other RabbitMQ prefixes (/queue/, /exchange/, /amq/queue/,
// /temp-queue/) are refused. The core validates and authorizes the
// mapped topic, so an ACL sees what MQTT clients see.
//
// # Bad input
//
// Frames are parsed by package frame under limits on line length,
// header count and body size, checked before the buffer grows; the
// CONNECT frame, before authentication, under smaller ones. A malformed
// frame gets an ERROR frame and closes its own connection only. A
// connection that sends no CONNECT within ConnectTimeout, or whose
// heart-beats stop for the negotiated interval plus half of it plus a
// second, is closed.
package stomp
