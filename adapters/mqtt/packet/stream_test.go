package packet

import (
	"errors"
	"testing"
)

// TestDecodeStream reads back-to-back packets from one buffer with one
// reused Packet, delivered in chunks of every size (packets split across
// reads, several packets in one read). Each packet must decode
// as it does alone, with nothing left over from the previous one.
func TestDecodeStream(t *testing.T) {
	for _, v := range []Version{V311, V5} {
		var stream []byte
		var want []Packet
		for _, f := range allFixtures(t) {
			if !f.OK() || Version(f.Version) != v {
				continue
			}
			var p Packet
			if err := decodeFixture(&p, f.Bytes, 0, v); err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			if p.Type == CONNECT && p.Version != v {
				continue
			}
			stream = append(stream, f.Bytes...)
			want = append(want, p)
		}
		for _, chunk := range []int{1, 2, 3, 7, 64, len(stream)} {
			var (
				p   Packet
				buf []byte // what the connection has read so far
				got int
			)
			for off := 0; off < len(stream); off += chunk {
				buf = append(buf, stream[off:min(off+chunk, len(stream))]...)
				for {
					h, err := ReadHeader(buf, 0)
					if errors.Is(err, ErrIncomplete) {
						break
					}
					if err != nil {
						t.Fatalf("v%d chunk %d: %v", v, chunk, err)
					}
					if len(buf) < h.Len+h.Remaining {
						break
					}
					if err := Decode(&p, h, buf[h.Len:h.Len+h.Remaining], v); err != nil {
						t.Fatalf("v%d chunk %d packet %d: %v", v, chunk, got, err)
					}
					if !samePacket(&p, &want[got]) {
						t.Fatalf("v%d chunk %d packet %d differs\n got %+v\nwant %+v", v, chunk, got, normalized(&p), normalized(&want[got]))
					}
					got++
					buf = buf[h.Len+h.Remaining:]
				}
			}
			if got != len(want) || len(buf) != 0 {
				t.Fatalf("v%d chunk %d: decoded %d of %d packets, %d bytes left", v, chunk, got, len(want), len(buf))
			}
		}
	}
}
