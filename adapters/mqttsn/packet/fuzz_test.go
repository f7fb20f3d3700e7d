package packet

import (
	"errors"
	"testing"
)

// FuzzDecode feeds arbitrary datagrams to Unwrap and Decode. Nothing may
// panic, every error must wrap ErrMalformed, and every message that decodes
// must re-encode (Size exact) to bytes that decode to the same message.
func FuzzDecode(f *testing.F) {
	for _, fx := range tableFixtures(f) {
		f.Add(fx.b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p, q Packet
		fw, wrapped, err := decodeDatagram(data, &p)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %T does not wrap ErrMalformed: %v", err, err)
			}
			return
		}
		b, err := Append(nil, &p)
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", p, err)
		}
		if n, _ := Size(&p); n != len(b) {
			t.Fatalf("Size = %d, Append wrote %d", n, len(b))
		}
		if wrapped {
			if b, err = AppendForward(nil, &fw, b); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := decodeDatagram(b, &q); err != nil {
			t.Fatalf("re-encoded %x does not decode: %v", b, err)
		}
		if !samePacket(&p, &q) {
			t.Fatalf("re-encode mismatch\n got %+v\nwant %+v", q, p)
		}
	})
}
