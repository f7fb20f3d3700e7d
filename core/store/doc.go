// Package store defines how mqgate keeps broker state that must outlive a
// connection or a process: sessions with their subscriptions, will and
// expiry; each session's queue of outbound messages and its inflight
// window; inbound QoS 2 packet ids awaiting PUBREL; retained messages; and
// the outbox of each upstream bridge.
//
// The package knows no wire format and does not import the core: it has its
// own record types (Message, Session, QueueEntry, ...) that the core converts
// to and from. Implementations live in sub-packages: store/memory (maps under
// a mutex, for tests and for users who want no disk) and store/pebble (the
// durable default). store/storetest is the one conformance suite both pass.
//
// # Durability contract
//
// A write flagged sync is on stable storage when the call returns; the core
// uses it for the write that makes a QoS 1/2 message durable, before it
// sends PUBACK or PUBREC. Other writes (acknowledgements, state changes,
// deletes) may be unsynced: losing one after a power cut only causes a
// redelivery, which QoS 1 allows, and for QoS 2 the inbound packet id is
// written before the PUBREC that depends on it. A durable store's log is
// ordered, so a synced write also makes every write that returned before it
// durable. Store.Sync makes everything written so far durable.
//
// Synced writes from many goroutines share device flushes: the pebble store
// relies on Pebble's write-ahead-log group commit, so N connections
// publishing QoS 1 at once cost about one fsync per batch, not N.
//
// The pebble store can be opened in "batch" sync mode with an interval:
// sync-flagged writes then return before they are flushed, and a background
// flush runs at most every interval while there are unsynced writes.
// Messages acknowledged within the last interval may be lost on a power cut
// and on a process crash (kill -9) too: Pebble keeps unsynced log writes in
// the process until it flushes them (measured: a NoSync write does not
// reach the log file within 50ms).
//
// # Ordering and sequence numbers
//
// Queue and outbox entries get increasing sequence numbers from the store;
// reading returns them in that order. Numbers are not dense and keep
// increasing across reopen.
//
// # Expiry
//
// Expire(now) removes disconnected sessions past their expiry with
// everything they own, and retained messages past their deadline. The
// caller runs it periodically so the data directory does not grow without
// bound. Queued messages past their expiry are removed by the core when it
// meets them (Queues.Remove).
package store
