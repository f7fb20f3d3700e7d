package pebble

import (
	"encoding/binary"
	"strings"
	"time"
	"unsafe"

	"github.com/mqgate/mqgate/core/store"
)

// Values are a version byte followed by fields in a fixed order: strings
// and byte slices as uvarint length and bytes, integers as uvarints. A new
// field is added by bumping the version; decoders keep reading old ones.
const valueVersion = 1

// Message flags.
const (
	msgRetain    = 1 << 2 // bits 0-1 hold the QoS
	msgHasExpiry = 1 << 3
)

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	return binary.AppendVarint(b, t.UnixNano())
}

func appendMessage(b []byte, m *store.Message) []byte {
	flags := m.QoS & 3
	if m.Retain {
		flags |= msgRetain
	}
	if !m.Expiry.IsZero() {
		flags |= msgHasExpiry
	}
	b = appendString(b, m.Topic)
	b = appendBytes(b, m.Payload)
	b = append(b, flags, m.PayloadFormat)
	b = appendString(b, m.ContentType)
	b = appendString(b, m.ResponseTopic)
	b = appendBytes(b, m.CorrelationData)
	b = binary.AppendUvarint(b, uint64(len(m.UserProperties)))
	for _, u := range m.UserProperties {
		b = appendString(b, u.Key)
		b = appendString(b, u.Value)
	}
	if !m.Expiry.IsZero() {
		b = binary.AppendVarint(b, m.Expiry.UnixNano())
	}
	b = appendString(b, m.Origin.Protocol)
	b = appendString(b, m.Origin.Namespace)
	return appendString(b, m.Origin.ClientID)
}

// decoder reads fields from a buffer that the decoded record owns: byte
// slices and strings alias it instead of being copied, so one record costs
// one allocation for its bytes. The buffer must never be modified after
// decoding. A short or malformed buffer sets bad.
type decoder struct {
	buf []byte
	bad bool
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.bad, d.buf = true, nil
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.bad, d.buf = true, nil
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.buf) == 0 {
		d.bad = true
		return 0
	}
	c := d.buf[0]
	d.buf = d.buf[1:]
	return c
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.buf)) {
		d.bad, d.buf = true, nil
		return nil
	}
	if n == 0 {
		return nil
	}
	p := d.buf[:n:n]
	d.buf = d.buf[n:]
	return p
}

// string returns the next string, sharing the buffer's memory.
func (d *decoder) string() string {
	p := d.bytes()
	if len(p) == 0 {
		return ""
	}
	return unsafe.String(&p[0], len(p))
}

func (d *decoder) time() time.Time {
	if d.byte() == 0 {
		return time.Time{}
	}
	return time.Unix(0, d.varint())
}

func (d *decoder) version() {
	if v := d.byte(); v != valueVersion {
		d.bad = true
	}
}

func (d *decoder) message(m *store.Message) {
	m.Topic = d.string()
	m.Payload = d.bytes()
	flags := d.byte()
	m.QoS = flags & 3
	m.Retain = flags&msgRetain != 0
	m.PayloadFormat = d.byte()
	m.ContentType = d.string()
	m.ResponseTopic = d.string()
	m.CorrelationData = d.bytes()
	if n := d.uvarint(); n > 0 && n <= uint64(len(d.buf)) {
		m.UserProperties = make([]store.UserProperty, n)
		for i := range m.UserProperties {
			m.UserProperties[i].Key = d.string()
			m.UserProperties[i].Value = d.string()
		}
	} else if n > 0 {
		d.bad = true
	}
	if flags&msgHasExpiry != 0 {
		m.Expiry = time.Unix(0, d.varint())
	}
	m.Origin.Protocol = d.string()
	m.Origin.Namespace = d.string()
	m.Origin.ClientID = d.string()
}

// Queue entry: version, QoS, flags (1: retain, 2: has a subscription
// key, 4: latest value), subscription ids, message, and with flag 2 the
// key.
func appendEntry(b []byte, e *store.QueueEntry) []byte {
	var flags byte
	if e.Retain {
		flags |= 1
	}
	if e.Key != "" {
		flags |= 2
	}
	if e.Latest {
		flags |= 4
	}
	b = append(b, valueVersion, e.QoS, flags)
	b = binary.AppendUvarint(b, uint64(len(e.SubscriptionIDs)))
	for _, id := range e.SubscriptionIDs {
		b = binary.AppendUvarint(b, uint64(id))
	}
	b = appendMessage(b, e.Message)
	if e.Key != "" {
		b = appendBytes(b, []byte(e.Key))
	}
	return b
}

func decodeEntry(v []byte, e *store.QueueEntry) bool {
	d := decoder{buf: v}
	d.version()
	e.QoS = d.byte()
	flags := d.byte()
	e.Retain = flags&1 != 0
	e.Latest = flags&4 != 0
	if n := d.uvarint(); n > 0 && n <= uint64(len(d.buf)) {
		e.SubscriptionIDs = make([]uint32, n)
		for i := range e.SubscriptionIDs {
			e.SubscriptionIDs[i] = uint32(d.uvarint())
		}
	} else if n > 0 {
		d.bad = true
	}
	e.Message = new(store.Message)
	d.message(e.Message)
	if flags&2 != 0 {
		e.Key = d.string()
	}
	return !d.bad
}

// Inflight state: version, packet id (2 bytes), state.
func appendInflight(b []byte, packetID uint16, st store.DeliveryState) []byte {
	b = append(b, valueVersion)
	b = binary.BigEndian.AppendUint16(b, packetID)
	return append(b, byte(st))
}

func decodeInflight(v []byte) (uint16, store.DeliveryState, bool) {
	if len(v) != 4 || v[0] != valueVersion {
		return 0, 0, false
	}
	return binary.BigEndian.Uint16(v[1:]), store.DeliveryState(v[3]), true
}

// Session record: version, expiry, disconnected at, client (protocol,
// listener, username, certificate CN, mountpoint, version), will (flag,
// delay, expiry, message). The key holds the session key; subscriptions
// are records of their own.
func appendSession(b []byte, s *store.Session) []byte {
	b = append(b, valueVersion)
	b = binary.AppendVarint(b, int64(s.Expiry))
	b = appendTime(b, s.DisconnectedAt)
	c := &s.Client
	for _, f := range [...]string{c.Protocol, c.Listener, c.Username, c.CertCN, c.Mountpoint} {
		b = appendString(b, f)
	}
	b = append(b, c.Version)
	if s.Will == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, int64(s.Will.Delay))
	b = binary.AppendVarint(b, int64(s.Will.Expiry))
	return appendMessage(b, &s.Will.Message)
}

func decodeSession(v []byte, s *store.Session) bool {
	d := decoder{buf: v}
	d.version()
	s.Expiry = time.Duration(d.varint())
	s.DisconnectedAt = d.time()
	c := &s.Client
	c.Protocol, c.Listener, c.Username, c.CertCN, c.Mountpoint = d.string(), d.string(), d.string(), d.string(), d.string()
	c.Version = d.byte()
	if d.byte() == 1 {
		s.Will = new(store.Will)
		s.Will.Delay = time.Duration(d.varint())
		s.Will.Expiry = time.Duration(d.varint())
		d.message(&s.Will.Message)
	}
	return !d.bad
}

// Subscription: version, QoS, flags, retain handling, subscription id,
// and with flag subHasKey the filter. The key path holds the subscription's
// ID: its filter, or its Key when it has one.
const (
	subNoLocal  = 1
	subRAP      = 2
	subHasKey   = 4
	subSeparate = 8
	subLatest   = 16
)

func appendSubscription(b []byte, sub *store.Subscription) []byte {
	var flags byte
	if sub.NoLocal {
		flags |= subNoLocal
	}
	if sub.RetainAsPublished {
		flags |= subRAP
	}
	if sub.Key != "" {
		flags |= subHasKey
	}
	if sub.Separate {
		flags |= subSeparate
	}
	if sub.Latest {
		flags |= subLatest
	}
	b = append(b, valueVersion, sub.QoS, flags, sub.RetainHandling)
	b = binary.AppendUvarint(b, uint64(sub.SubscriptionID))
	if sub.Key != "" {
		b = appendBytes(b, []byte(sub.Filter))
	}
	return b
}

// decodeSubscription decodes v into sub, whose ID came from the key path.
func decodeSubscription(id string, v []byte, sub *store.Subscription) bool {
	d := decoder{buf: v}
	d.version()
	sub.QoS = d.byte()
	flags := d.byte()
	sub.NoLocal = flags&subNoLocal != 0
	sub.RetainAsPublished = flags&subRAP != 0
	sub.Separate = flags&subSeparate != 0
	sub.Latest = flags&subLatest != 0
	sub.RetainHandling = d.byte()
	sub.SubscriptionID = uint32(d.uvarint())
	if flags&subHasKey != 0 {
		sub.Key = id
		sub.Filter = strings.Clone(d.string()) // v may be the iterator's
	} else {
		sub.Filter = id
	}
	return !d.bad
}

// Retained and outbox messages: version, then the message. A retained
// value also starts with its expiry-index deadline (8 bytes, 0: none) so
// replacing it can find the old index key without decoding the message.
func appendRetained(b []byte, m *store.Message) []byte {
	b = append(b, valueVersion)
	b = binary.BigEndian.AppendUint64(b, deadline(m.Expiry))
	return appendMessage(b, m)
}

func retainedDeadline(v []byte) uint64 {
	if len(v) < 9 {
		return 0
	}
	return binary.BigEndian.Uint64(v[1:9])
}

func decodeRetained(v []byte) (*store.Message, bool) {
	if len(v) < 9 {
		return nil, false
	}
	d := decoder{buf: v[9:]}
	if v[0] != valueVersion {
		return nil, false
	}
	m := new(store.Message)
	d.message(m)
	return m, !d.bad
}

func appendOutbox(b []byte, m *store.Message) []byte {
	return appendMessage(append(b, valueVersion), m)
}

func decodeOutbox(v []byte) (*store.Message, bool) {
	d := decoder{buf: v}
	d.version()
	m := new(store.Message)
	d.message(m)
	return m, !d.bad
}

// deadline is an expiry as the retained index orders it: nanoseconds since
// 1970, at least 1; 0 means none.
func deadline(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	n := t.UnixNano()
	if n < 1 {
		n = 1
	}
	return uint64(n)
}
