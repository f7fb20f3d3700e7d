package packet

import "testing"

func BenchmarkDecodePublish(b *testing.B) {
	buf, _ := Append(nil, &Packet{Type: PUBLISH, QoS: 1, TopicID: 1, MsgID: 2, Data: make([]byte, 64)})
	var p Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if err := Decode(buf, &p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodePublish(b *testing.B) {
	p := Packet{Type: PUBLISH, QoS: 1, TopicID: 1, MsgID: 2, Data: make([]byte, 64)}
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = Append(buf[:0], &p)
	}
}
