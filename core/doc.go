// Package core is mqgate's wire-agnostic heart: the message model, client
// identity, sessions and their registry, the broker that routes messages
// between sessions, retained messages, authentication and authorization
// hooks and the $SYS topics. It imports no adapter and knows no wire
// format; every protocol adapter uses the same public API: Broker.Connect
// returns a *Client, the per-connection handle through which the adapter
// publishes, subscribes, acknowledges and pulls deliveries.
//
// Lock order: Broker.regMu (session registry, connect/disconnect only) is
// taken before session.mu. The publish path takes no broker-wide lock: the
// router (core/topic) is read-mostly, and each target session's mu is held
// only while a delivery is queued. session.mu is never held while calling
// into the router or into an adapter's Conn, except Conn.Notify and
// Conn.Kick, which must not block.
//
// With Config.Store set, persistent sessions are written to the store
// (persist.go) under their session.mu, unsynced; the one device flush a
// QoS 1/2 publish needs before its acknowledgement (Store.Sync) is made
// after every lock is released, so concurrent publishers share it.
package core
