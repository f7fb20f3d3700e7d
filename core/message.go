package core

import (
	"strings"
	"time"
	"unsafe"
)

// UserProperty is one key/value pair carried with a message.
type UserProperty struct {
	Key, Value string
}

// Origin says where a message entered mqgate.
type Origin struct {
	Protocol  string
	Namespace string
	ClientID  string
}

// Message is one application message. The MQTT 5 property set is the
// superset every protocol maps into. A Message is immutable once published:
// all deliveries share it and nothing copies it per subscriber.
type Message struct {
	Topic           string
	Payload         []byte
	QoS             byte
	Retain          bool
	PayloadFormat   byte // 0: unspecified bytes, 1: UTF-8 text
	ContentType     string
	ResponseTopic   string
	CorrelationData []byte
	UserProperties  []UserProperty
	Expiry          time.Time // zero: never expires
	Origin          Origin
}

// NewMessage returns a message with copies of topic and payload. For a
// message of up to 824 bytes of topic and payload together, the message
// and both copies are one allocation instead of three: a small message on
// its way through costs one allocation. The block lives as long as any
// reference to the message, its topic or its payload, so code that keeps
// a message's topic beyond the message (a map key, a cache) keeps a
// strings.Clone of it. A larger message has its topic on its own.
func NewMessage(topic string, payload []byte) *Message {
	n := len(topic) + len(payload)
	var m *Message
	var buf []byte
	switch {
	case n <= 56: // the block sizes fill the allocator's size classes
		m, buf = newMessageBlock[[56]byte](n)
	case n <= 120:
		m, buf = newMessageBlock[[120]byte](n)
	case n <= 184:
		m, buf = newMessageBlock[[184]byte](n)
	case n <= 312:
		m, buf = newMessageBlock[[312]byte](n)
	case n <= 568:
		m, buf = newMessageBlock[[568]byte](n)
	case n <= 824:
		m, buf = newMessageBlock[[824]byte](n)
	default:
		// A kept topic must not keep a large payload alive.
		m = &Message{Topic: strings.Clone(topic)}
		if len(payload) > 0 {
			m.Payload = make([]byte, len(payload))
			copy(m.Payload, payload)
		}
		return m
	}
	copy(buf, topic)
	copy(buf[len(topic):], payload)
	if len(topic) > 0 {
		m.Topic = unsafe.String(&buf[0], len(topic))
	}
	if len(payload) > 0 {
		m.Payload = buf[len(topic):n:n]
	}
	return m
}

// messageBlock is a Message followed by room for its topic and payload.
// The room holds no pointers, so the collector does not scan it.
type messageBlock[B any] struct {
	m   Message
	buf B
}

// newMessageBlock allocates a message block and returns the message and
// the first n bytes of its room; B is a byte array of at least n bytes.
func newMessageBlock[B any](n int) (*Message, []byte) {
	b := new(messageBlock[B])
	return &b.m, unsafe.Slice((*byte)(unsafe.Pointer(&b.buf)), n)
}

// Expired reports whether the message expiry deadline has passed.
func (m *Message) Expired(now time.Time) bool {
	return !m.Expiry.IsZero() && !now.Before(m.Expiry)
}

// RemainingExpiry returns the whole seconds left before the message
// expires, rounded up, and whether it has an expiry at all. It is what an
// MQTT 5 delivery carries as its Message Expiry Interval [MQTT-3.3.2-6].
func (m *Message) RemainingExpiry(now time.Time) (uint32, bool) {
	if m.Expiry.IsZero() {
		return 0, false
	}
	d := m.Expiry.Sub(now)
	if d <= 0 {
		return 0, true
	}
	return uint32((d + time.Second - 1) / time.Second), true
}

// size is the memory a queued message is charged against a session's
// queue byte limit.
func (m *Message) size() int {
	n := len(m.Topic) + len(m.Payload) + len(m.ContentType) + len(m.ResponseTopic) + len(m.CorrelationData) + 64
	for _, u := range m.UserProperties {
		n += len(u.Key) + len(u.Value)
	}
	return n
}
