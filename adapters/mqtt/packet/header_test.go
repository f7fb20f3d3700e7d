package packet

import (
	"errors"
	"testing"
)

func TestReadHeader(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		maxSize int
		want    Header
		code    byte // 0: no *Error
		incompl bool
	}{
		{name: "empty buffer is incomplete", in: nil, incompl: true},
		{name: "type byte alone is incomplete", in: []byte{0x30}, incompl: true},
		{name: "one length byte", in: []byte{0x30, 0x7f}, want: Header{PUBLISH, 0, 127, 2}},
		{name: "two length bytes", in: []byte{0x82, 0x80, 0x01}, want: Header{SUBSCRIBE, 2, 128, 3}},
		{name: "four length bytes at the protocol maximum", in: []byte{0x30, 0xff, 0xff, 0xff, 0x7f}, want: Header{PUBLISH, 0, MaxRemaining, 5}},
		{name: "non-minimal length is accepted", in: []byte{0xc0, 0x80, 0x00}, want: Header{PINGREQ, 0, 0, 3}},
		{name: "fifth length byte is malformed", in: []byte{0x30, 0x80, 0x80, 0x80, 0x80, 0x01}, code: MalformedPacket},
		{name: "four continuation bytes are malformed without a fifth", in: []byte{0x30, 0x80, 0x80, 0x80, 0x80}, code: MalformedPacket},
		{name: "three continuation bytes are incomplete", in: []byte{0x30, 0x80, 0x80, 0x80}, incompl: true},
		{name: "bad flags rejected before the length arrives", in: []byte{0x80}, code: MalformedPacket},
		{name: "size at the limit is accepted", in: []byte{0x30, 0x08}, maxSize: 10, want: Header{PUBLISH, 0, 8, 2}},
		{name: "size over the limit is too large", in: []byte{0x30, 0x09}, maxSize: 10, code: PacketTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ReadHeader(tc.in, tc.maxSize)
			var e *Error
			switch {
			case tc.incompl:
				if !errors.Is(err, ErrIncomplete) {
					t.Fatalf("got %v, want ErrIncomplete", err)
				}
			case tc.code != 0:
				if !errors.As(err, &e) || e.Code != tc.code {
					t.Fatalf("got %v, want code 0x%02x", err, tc.code)
				}
			default:
				if err != nil || h != tc.want {
					t.Fatalf("got %+v, %v; want %+v", h, err, tc.want)
				}
			}
		})
	}
}

// TestReadHeaderByteByByte feeds each valid fixture one byte at a time, as
// a slow connection would: every prefix is incomplete until the header is
// whole, and then the same header comes out.
func TestReadHeaderByteByByte(t *testing.T) {
	for _, f := range allFixtures(t) {
		if !f.OK() {
			continue
		}
		full, err := ReadHeader(f.Bytes, 0)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		for i := 0; i < full.Len; i++ {
			if _, err := ReadHeader(f.Bytes[:i], 0); !errors.Is(err, ErrIncomplete) {
				t.Fatalf("%s: prefix of %d bytes: %v, want ErrIncomplete", f.Name, i, err)
			}
		}
	}
}

// TestDecodeUnsupportedVersionReportsLevel checks that a refused CONNECT
// still tells the caller which CONNACK format the client speaks.
func TestDecodeUnsupportedVersionReportsLevel(t *testing.T) {
	tests := []struct {
		name  string
		hex   string
		level Version
	}{
		{"wrong name with level 4", pkt(0x10, str("MQTX"), "04 02 003c", str("c")), V311},
		{"wrong name with level 5", pkt(0x10, str("HTTP"), "05 02 003c", str("c")), V5},
		{"unknown level 7", pkt(0x10, str("MQTT"), "07 02 003c", str("c")), 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := fixtureCase{hex: tc.hex}.fixture()
			var p Packet
			err := decodeFixture(&p, f.Bytes, 0, V5)
			var e *Error
			if !errors.As(err, &e) || e.Code != UnsupportedProtocolVersion {
				t.Fatalf("got %v, want UnsupportedProtocolVersion", err)
			}
			if p.Version != tc.level {
				t.Fatalf("Version = %d, want %d", p.Version, tc.level)
			}
		})
	}
}

func TestDecodeBodyLengthMismatch(t *testing.T) {
	var p Packet
	err := Decode(&p, Header{Type: PUBACK, Remaining: 2, Len: 2}, []byte{0, 1, 2}, V311)
	var e *Error
	if !errors.As(err, &e) || e.Code != MalformedPacket {
		t.Fatalf("got %v, want MalformedPacket", err)
	}
}

func TestAppendRejectsUnencodable(t *testing.T) {
	long := string(make([]byte, 65536))
	tests := []struct {
		name string
		p    Packet
		v    Version
	}{
		{"topic over 65535 bytes", Packet{Type: PUBLISH, Topic: []byte(long)}, V311},
		{"client id over 65535 bytes", Packet{Type: CONNECT, ClientID: long}, V311},
		{"user property over 65535 bytes", Packet{Type: PUBLISH, Topic: []byte("t"), Properties: Properties{User: []UserProperty{{long, ""}}}}, V5},
		{"filter over 65535 bytes", Packet{Type: SUBSCRIBE, PacketID: 1, Subscriptions: []Subscription{{Filter: long}}}, V311},
		{"publish QoS 3", Packet{Type: PUBLISH, QoS: 3, Topic: []byte("t")}, V311},
		{"publish QoS 0 with DUP", Packet{Type: PUBLISH, Dup: true, Topic: []byte("t")}, V311},
		{"AUTH in v3.1.1", Packet{Type: AUTH}, V311},
		{"packet type 0", Packet{}, V5},
		{"password without user name in v3.1.1", Packet{Type: CONNECT, HasPassword: true}, V311},
		{"will QoS 3", Packet{Type: CONNECT, HasWill: true, Will: Will{Topic: "t", QoS: 3}}, V5},
		{"subscription identifier over 268435455", Packet{Type: PUBLISH, Topic: []byte("t"), Properties: Properties{SubscriptionIDs: []uint32{MaxRemaining + 1}}}, V5},
		{"unknown version", Packet{Type: PINGREQ}, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte{1, 2, 3}
			out, err := Append(dst, &tc.p, tc.v)
			if err == nil {
				t.Fatal("Append succeeded")
			}
			if len(out) != len(dst) {
				t.Fatalf("Append wrote %d bytes on error", len(out)-len(dst))
			}
		})
	}
}

func TestAppendV3LeavesOutProperties(t *testing.T) {
	p := Packet{Type: PUBLISH, Topic: []byte("t"), Payload: []byte("x"), Properties: fullProps(kPublish)}
	b, err := Append(nil, &p, V311)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x30, 0x04, 0x00, 0x01, 't', 'x'}; string(b) != string(want) {
		t.Fatalf("got % x, want % x", b, want)
	}
}

func TestAppendLeavesOutPropertiesTheTypeForbids(t *testing.T) {
	p := Packet{Type: PUBACK, PacketID: 1, Properties: Properties{HasSessionExpiry: true, SessionExpiry: 5, ContentType: "x"}}
	b, err := Append(nil, &p, V5)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x40, 0x02, 0x00, 0x01}; string(b) != string(want) {
		t.Fatalf("got % x, want % x", b, want)
	}
}
