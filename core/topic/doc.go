// Package topic owns MQTT topic semantics for mqgate, independent of any
// wire format: validation of topic names and filters, filter matching, the
// subscription router with shared subscriptions, and the retained-message
// index. It imports only the standard library.
//
// # Policies
//
//   - Control characters U+0001-U+001F and U+007F-U+009F (which the spec says
//     SHOULD NOT appear) are rejected in names and filters alike, as are
//     invalid UTF-8, encoded surrogates and U+0000.
//   - `$share/{group}/{filter}` and `$queue/{filter}` are shared
//     subscriptions; the prefix is case-sensitive, so `$SHARE/g/x` is an
//     ordinary filter. A filter whose first level is exactly "$share" or
//     "$queue" must follow the shared syntax.
//   - Overlapping non-shared subscriptions of one subscriber produce one
//     delivery: highest QoS, every subscription identifier, Retain As
//     Published if any has it. Each matching shared group adds one delivery
//     of its own, so a subscriber with a shared and a non-shared matching
//     subscription gets the message twice.
//   - No Local is honoured for non-shared subscriptions only; on a shared
//     subscription it is a protocol error [MQTT-3.8.3-4] the caller rejects.
//
// # Router locking
//
// The router is a trie with one sync.RWMutex per node guarding that node's
// fields; there is no router-wide lock. Locks are only ever taken top-down
// (a parent before its child), which is the whole lock order:
//
//   - Match holds at most one node's read lock at a time: it reads a node's
//     subscriptions and child pointers, releases it, then visits the
//     children. Shared-group selection runs under the group node's read
//     lock; its mutable state (round-robin counter, sticky member) is atomic.
//   - Subscribe descends hand over hand with read locks (the parent stays
//     locked until the child is locked, so a child found attached cannot be
//     pruned meanwhile) and write-locks only the node where the filter
//     ends, or a parent while it adds a missing child.
//   - Unsubscribe does the same and then prunes empty nodes bottom-up,
//     write-locking parent then child for each step. A pruned node is
//     marked dead; a writer that finds a dead node starts again from the
//     root. A matcher that reaches a node just pruned sees it empty.
//
// Retained has a single RWMutex: it is not on the publish fan-out path, and
// its Match and Range call back without holding it.
package topic
