package core

import (
	"bytes"
	"strings"
	"testing"
	"unsafe"
)

func TestNewMessageCopiesTopicAndPayload(t *testing.T) {
	for _, size := range []struct{ topic, payload int }{
		{0, 0}, {1, 0}, {0, 1}, {10, 46}, {10, 47}, {56, 64}, {100, 84}, {12, 300},
		{300, 268}, {24, 800}, {24, 801}, {65535, 1 << 20},
	} {
		topic := strings.Repeat("t", size.topic)
		payload := bytes.Repeat([]byte{'p'}, size.payload)
		m := NewMessage(topic, payload)
		if m.Topic != topic || !bytes.Equal(m.Payload, payload) {
			t.Fatalf("%d+%d bytes: got topic %d bytes, payload %d bytes", size.topic, size.payload, len(m.Topic), len(m.Payload))
		}
		if size.payload == 0 {
			if m.Payload != nil {
				t.Fatalf("empty payload is %v, want nil", m.Payload)
			}
			continue
		}
		payload[0] = 'x'
		if m.Payload[0] != 'p' {
			t.Fatalf("%d+%d bytes: the payload is not a copy", size.topic, size.payload)
		}
		// Appending to the payload must never write over a neighbour.
		if cap(m.Payload) != len(m.Payload) {
			t.Fatalf("%d+%d bytes: payload capacity %d beyond its length", size.topic, size.payload, cap(m.Payload))
		}
	}
}

func TestNewMessageIsOneAllocation(t *testing.T) {
	payload := make([]byte, 64)
	for _, topic := range []string{"a/b", strings.Repeat("t", 700)} {
		if n := testing.AllocsPerRun(100, func() { NewMessage(topic, payload) }); n != 1 {
			t.Errorf("%d-byte topic, 64-byte payload: %v allocations, want 1", len(topic), n)
		}
	}
}

// A topic kept beyond its message (an alias map, a cache) keeps its block
// alive: a large message keeps its topic apart from its payload.
func TestNewMessageLargeTopicApartFromPayload(t *testing.T) {
	m := NewMessage("a/b", make([]byte, 4096))
	topic := uintptr(unsafe.Pointer(unsafe.StringData(m.Topic)))
	start := uintptr(unsafe.Pointer(unsafe.SliceData(m.Payload)))
	if topic >= start && topic < start+uintptr(cap(m.Payload)) || topic+3 == start {
		t.Fatal("the topic of a large message shares the payload's allocation")
	}
	payload := make([]byte, 900)
	if n := testing.AllocsPerRun(100, func() { NewMessage("a/b", payload) }); n != 3 {
		t.Errorf("%v allocations for a large message, want 3 (message, topic, payload)", n)
	}
}
