// Package mqttsn is mqgate's MQTT-SN 1.2 gateway: it serves MQTT-SN
// clients over UDP and DTLS and makes each of them a client of the core,
// with its own topic id registry, will exchange, QoS -1, sleeping state and
// retransmission timers.
//
// # Goroutines
//
// Each UDP listener has one reader goroutine; each DTLS association has one
// (pion/dtls hands out one net.Conn per peer). One service goroutine per
// Gateway pulls deliveries for the clients the core notified, retransmits
// unacknowledged ones and the gateway's own REGISTER, and runs the keep
// alive, sleep and will-exchange timers on a single ticker. No goroutine
// exists per client. Stop closes the sockets and waits for all of them.
//
// # Inflight messages
//
// Sessions are opened with Retransmit, so the core's inflight window is the
// only record of PUBLISH and PUBREL awaiting an answer: PUBACK, PUBREC and
// PUBCOMP settle, hold and complete deliveries by MsgID (the core's tag),
// and every Tretry the timers ask the core to Redeliver what is older and
// send it again, re-encoded from the delivery. The adapter keeps only what
// the core cannot know: the REGISTER in flight, the deliveries waiting for
// it, and how many retransmissions a message had on this connection.
//
// # Locks
//
// client.mu is taken before Gateway.mu (the address and client id maps).
// core.Conn.Notify and Kick touch only atomics and the work queue's leaf
// lock (adapters/internal/workqueue), because the core may call them with
// its own locks held.
//
// # Identity and addresses
//
// A datagram is matched to a client by its source (listener, address,
// forwarder node id). CONNECT and PINGREQ carry the client id, so a device
// whose NAT port changed is found again by id and its address is rebound;
// whoever held that address before is disconnected as lost, so a reused
// address never acts on someone else's session.
package mqttsn
