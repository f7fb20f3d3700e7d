// Package bridge connects mqgate to upstream MQTT brokers: local topics go
// out to them and remote topics come in, each through a rule that may
// remap the topic (package topicmap).
//
// The outbox is the only source of truth for what goes out. Each bridge
// has a persistent core session of its own (namespace "bridge", client id
// its name) subscribed to the local side of its out rules. A local QoS 1/2
// publisher is acknowledged only once the message is durable in that
// session's queue (the core's contract for persistent sessions); the
// bridge then appends it to its outbox in the store, syncs, and only then
// settles the delivery, so the message is always durable in one of the two.
// A message leaves the outbox only on the upstream's PUBACK (QoS 1) or
// PUBCOMP (QoS 2), whatever the client library did with it; after a
// reconnect the outbox is sent again from its oldest entry, in order, with
// a window of max_inflight messages, and newer messages queue behind it.
//
// Inbound messages are published through Broker.Publish with the bridge's
// identity and acknowledged upstream once it returned, that is once they
// are durable locally. A message that came in through a bridge is never
// sent back out through it (core.Message.Origin names the bridge). MQTT 5
// upstreams are subscribed with No Local and Retain As Published; an MQTT
// 3.1.1 upstream sends a bridge's own messages straight back, and those
// echoes are recognized and dropped (echo.go).
//
// MQTT 3.1.1 upstreams go through paho.mqtt.golang, MQTT 5 ones through
// paho.golang, both behind the upstream interface; neither library's own
// queue or session store is relied on.
package bridge
