package packet

import (
	"errors"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to ReadHeader and Decode under every
// protocol version. Nothing may panic, every error must be ErrIncomplete
// or an *Error, and every packet that decodes must re-encode (with Size
// exact) to bytes that decode to the same packet.
func FuzzDecode(f *testing.F) {
	for _, fx := range allFixtures(f) {
		f.Add(fx.Bytes)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p, q Packet
		for _, v := range []Version{V31, V311, V5} {
			h, err := ReadHeader(data, 0)
			if err != nil {
				var e *Error
				if !errors.Is(err, ErrIncomplete) && !errors.As(err, &e) {
					t.Fatalf("ReadHeader error of type %T: %v", err, err)
				}
				return
			}
			if h.Len+h.Remaining > len(data) {
				return
			}
			if err := Decode(&p, h, data[h.Len:h.Len+h.Remaining], v); err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Decode error of type %T: %v", err, err)
				}
				continue
			}
			ev := v
			if p.Type == CONNECT {
				ev = p.Version
			}
			b, err := Append(nil, &p, ev)
			if err != nil {
				t.Fatalf("v%d: decoded %+v but cannot encode it: %v", v, p, err)
			}
			if n := Size(&p, ev); n != len(b) {
				t.Fatalf("v%d: Size = %d, Append wrote %d", v, n, len(b))
			}
			h2, err := ReadHeader(b, 0)
			if err != nil {
				t.Fatalf("v%d: re-encoded header: %v", v, err)
			}
			if err := Decode(&q, h2, b[h2.Len:], ev); err != nil {
				t.Fatalf("v%d: re-encoded %x does not decode: %v", v, b, err)
			}
			if !samePacket(&p, &q) {
				t.Fatalf("v%d: re-encode mismatch\n got %+v\nwant %+v", v, normalized(&q), normalized(&p))
			}
		}
	})
}
