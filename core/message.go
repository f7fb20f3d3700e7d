package core

import "time"

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
