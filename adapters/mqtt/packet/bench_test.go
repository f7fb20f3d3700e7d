package packet

import (
	"bytes"
	"testing"
)

func benchPublish(v Version) Packet {
	p := Packet{Type: PUBLISH, QoS: 1, PacketID: 42, Topic: []byte("sensors/building-1/room-7/temperature"),
		Payload: bytes.Repeat([]byte{'x'}, 64)}
	if v == V5 {
		p.Properties = Properties{HasMessageExpiry: true, MessageExpiry: 60, HasTopicAlias: true, TopicAlias: 3,
			HasPayloadFormat: true, PayloadFormat: 1, SubscriptionIDs: []uint32{7}}
	}
	return p
}

var benchVersions = []struct {
	name string
	v    Version
}{{"v311", V311}, {"v5", V5}}

func BenchmarkDecodePublish(b *testing.B) {
	for _, bv := range benchVersions {
		b.Run(bv.name, func(b *testing.B) {
			src := benchPublish(bv.v)
			buf, err := Append(nil, &src, bv.v)
			if err != nil {
				b.Fatal(err)
			}
			var p Packet
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				h, err := ReadHeader(buf, 0)
				if err != nil {
					b.Fatal(err)
				}
				if err := Decode(&p, h, buf[h.Len:], bv.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncodePublish(b *testing.B) {
	for _, bv := range benchVersions {
		b.Run(bv.name, func(b *testing.B) {
			p := benchPublish(bv.v)
			buf := make([]byte, 0, 256)
			b.ReportAllocs()
			b.SetBytes(int64(Size(&p, bv.v)))
			for b.Loop() {
				var err error
				buf, err = Append(buf[:0], &p, bv.v)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestNoAllocs keeps the zero-allocation promise of the hot path under
// plain go test, not only in benchmarks.
func TestNoAllocs(t *testing.T) {
	for _, bv := range benchVersions {
		src := benchPublish(bv.v)
		buf, err := Append(nil, &src, bv.v)
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		out := make([]byte, 0, 256)
		tests := []struct {
			name string
			fn   func()
		}{
			{"ReadHeader", func() { _, _ = ReadHeader(buf, 1024) }},
			{"Decode", func() {
				h, _ := ReadHeader(buf, 0)
				if err := Decode(&p, h, buf[h.Len:], bv.v); err != nil {
					t.Fatal(err)
				}
			}},
			{"Append", func() { out, _ = Append(out[:0], &src, bv.v) }},
			{"Size", func() { _ = Size(&src, bv.v) }},
		}
		for _, tc := range tests {
			if n := testing.AllocsPerRun(100, tc.fn); n != 0 {
				t.Errorf("%s %s: %v allocs, want 0", bv.name, tc.name, n)
			}
		}
	}
}
