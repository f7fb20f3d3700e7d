package bridge

import (
	"slices"
	"testing"
)

// tapEvents runs b through a readTap in pieces of the given sizes and
// returns the events it reported.
func tapEvents(b []byte, sizes []byte) []string {
	var got []string
	t := &readTap{mult: 1}
	t.onEvent = func(typ byte, body []byte) {
		got = append(got, string(append([]byte{typ}, body...)))
	}
	for i := 0; len(b) > 0; i++ {
		n := len(b)
		if len(sizes) > 0 {
			n = min(n, int(sizes[i%len(sizes)])%7+1)
		}
		if !t.lenErr {
			t.follow(b[:n])
		}
		b = b[n:]
	}
	return got
}

func TestReadTapFollowsPackets(t *testing.T) {
	stream := []byte{
		0x20, 2, 1, 0, // CONNACK, session present
		0x50, 2, 0x12, 0x34, // PUBREC 0x1234
		0x30, 5, 0, 1, 'a', 'x', 'y', // PUBLISH QoS 0
		0x62, 2, 0, 7, // PUBREL 7
		0xd0, 0, // PINGRESP
		0x50, 3, 0, 9, 0x10, // PUBREC 9, MQTT 5 reason code
	}
	want := []string{"\x02\x01\x00", "\x05\x12\x34", "\x03", "\x06\x00\x07", "\x0d", "\x05\x00\x09"}
	for _, sizes := range [][]byte{nil, {0}, {1, 2}, {3, 0, 5}} {
		if got := tapEvents(stream, sizes); !slices.Equal(got, want) {
			t.Errorf("pieces %v: events %q, want %q", sizes, got, want)
		}
	}
}

// FuzzReadTap checks that the tap never panics and that what it reports
// does not depend on how the stream is cut into reads.
func FuzzReadTap(f *testing.F) {
	f.Add([]byte{0x20, 2, 0, 0, 0x50, 2, 0, 1}, []byte{1})
	f.Add([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x7f}, []byte{2, 3})
	f.Add([]byte{0x62, 2, 0xff, 0xff, 0xd0, 0}, []byte{})
	f.Fuzz(func(t *testing.T, b, sizes []byte) {
		whole := tapEvents(b, nil)
		if cut := tapEvents(b, sizes); !slices.Equal(whole, cut) {
			t.Fatalf("events %q read whole, %q read in pieces %v", whole, cut, sizes)
		}
	})
}
