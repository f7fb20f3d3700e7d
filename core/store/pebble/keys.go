package pebble

import (
	"encoding/binary"
	"strings"

	"github.com/mqgate/mqgate/core/store"
)

// Key layout. Every key starts with one byte naming the record kind, so
// each kind is one contiguous key range. A session key (namespace, client
// id) is encoded as two length-prefixed strings: the encoding is
// prefix-free, so "all keys of session K" is a plain prefix and sessions
// (a, bc) and (ab, c) never mix. Sequence numbers and packet ids are
// big-endian so byte order is numeric order and iteration returns queues
// and outboxes in order.
//
//	'M' name                          -> meta: "format" (uvarint version), "seq" (8-byte limit)
//	's' session                       -> session record
//	'u' session filter                -> subscription options
//	'q' session seq(8)                -> queue entry (message and delivery)
//	'f' session seq(8)                -> inflight state of that entry (packet id, state)
//	'i' session packetID(2)           -> nothing: inbound QoS 2 id awaiting PUBREL
//	'r' topic                         -> retained message
//	'e' deadline(8) topic             -> nothing: expiry index of retained messages
//	'o' bridge seq(8)                 -> outbox message
//	'd' bridge seq(8)                 -> QoS 2 state of that entry (packet id, state)
//
// Inflight state lives beside the queue entry, not inside it, so marking a
// message inflight or PUBREC-received writes three bytes instead of
// rewriting the message: fewer bytes on the SD card.
const (
	kindMeta         = 'M'
	kindSession      = 's'
	kindSubscription = 'u'
	kindQueue        = 'q'
	kindInflight     = 'f'
	kindInbound      = 'i'
	kindRetained     = 'r'
	kindRetainExpiry = 'e'
	kindOutbox       = 'o'
	kindOutboxState  = 'd'
	kindBan          = 'b'
)

var (
	keyFormat = []byte{kindMeta, 'f', 'o', 'r', 'm', 'a', 't'}
	keySeq    = []byte{kindMeta, 's', 'e', 'q'}
)

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// sessionPrefix returns kind followed by k's encoding.
func sessionPrefix(kind byte, k store.Key) []byte {
	b := make([]byte, 0, 1+2+len(k.Namespace)+len(k.ClientID)+8)
	b = append(b, kind)
	b = appendString(b, k.Namespace)
	return appendString(b, k.ClientID)
}

// parseSessionKey decodes the session key encoded after the kind byte of
// key and returns it with the length of its encoding.
func parseSessionKey(key []byte) (store.Key, int, bool) {
	d := decoder{buf: key[1:]}
	ns := d.string()
	cid := d.string()
	if d.bad {
		return store.Key{}, 0, false
	}
	// The decoder's strings share key's memory, which the iterator reuses.
	return store.Key{Namespace: strings.Clone(ns), ClientID: strings.Clone(cid)}, len(key) - 1 - len(d.buf), true
}

func appendSeq(b []byte, seq uint64) []byte { return binary.BigEndian.AppendUint64(b, seq) }

func seqKey(kind byte, k store.Key, seq uint64) []byte {
	return appendSeq(sessionPrefix(kind, k), seq)
}

func outboxPrefix(bridge string) []byte {
	return appendString([]byte{kindOutbox}, bridge)
}

func outboxStatePrefix(bridge string) []byte {
	return appendString([]byte{kindOutboxState}, bridge)
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil // no upper bound
}
