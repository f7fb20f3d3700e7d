package packet

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// samePacket compares two packets treating nil and empty slices alike.
func samePacket(a, b *Packet) bool {
	norm := func(p Packet) Packet {
		for _, s := range []*[]byte{&p.GatewayAddr, &p.ClientID, &p.TopicName, &p.Data} {
			if len(*s) == 0 {
				*s = nil
			}
		}
		return p
	}
	return reflect.DeepEqual(norm(*a), norm(*b))
}

func TestRoundTripEveryType(t *testing.T) {
	cases := []Packet{
		{Type: ADVERTISE, GatewayID: 3, Duration: 900},
		{Type: SEARCHGW, Radius: 2},
		{Type: GWINFO, GatewayID: 3},
		{Type: GWINFO, GatewayID: 3, GatewayAddr: []byte{10, 0, 0, 1}},
		{Type: CONNECT, CleanSession: true, Will: true, ProtocolID: ProtocolID, Duration: 30, ClientID: []byte("sensor-1")},
		{Type: CONNACK, ReturnCode: RejectedCongestion},
		{Type: WILLTOPICREQ},
		{Type: WILLTOPIC, QoS: 2, Retain: true, TopicName: []byte("dead/sensor-1")},
		{Type: WILLTOPIC},
		{Type: WILLMSGREQ},
		{Type: WILLMSG, Data: []byte("gone")},
		{Type: REGISTER, TopicID: 1025, MsgID: 7, TopicName: []byte("a/b/c")},
		{Type: REGACK, TopicID: 1025, MsgID: 7, ReturnCode: RejectedInvalidTopicID},
		{Type: PUBLISH, Dup: true, QoS: 2, Retain: true, TopicIDType: TopicNormal, TopicID: 1025, MsgID: 9, Data: []byte("21.5")},
		{Type: PUBLISH, QoS: -1, TopicIDType: TopicPredefined, TopicID: 1, Data: []byte("x")},
		{Type: PUBLISH, QoS: 0, TopicIDType: TopicShort, TopicID: ShortTopic("ab")},
		{Type: PUBACK, TopicID: 1025, MsgID: 9, ReturnCode: RejectedNotSupported},
		{Type: PUBCOMP, MsgID: 9},
		{Type: PUBREC, MsgID: 9},
		{Type: PUBREL, MsgID: 9},
		{Type: SUBSCRIBE, Dup: true, QoS: 1, TopicIDType: TopicNormal, MsgID: 2, TopicName: []byte("a/+/c")},
		{Type: SUBSCRIBE, QoS: 2, TopicIDType: TopicPredefined, MsgID: 3, TopicID: 5},
		{Type: SUBSCRIBE, TopicIDType: TopicShort, MsgID: 4, TopicID: ShortTopic("zz")},
		{Type: SUBACK, QoS: 1, TopicID: 1026, MsgID: 2, ReturnCode: Accepted},
		{Type: UNSUBSCRIBE, TopicIDType: TopicNormal, MsgID: 5, TopicName: []byte("a/+/c")},
		{Type: UNSUBSCRIBE, TopicIDType: TopicPredefined, MsgID: 6, TopicID: 5},
		{Type: UNSUBACK, MsgID: 6},
		{Type: PINGREQ},
		{Type: PINGREQ, ClientID: []byte("sensor-1")},
		{Type: PINGRESP},
		{Type: DISCONNECT},
		{Type: DISCONNECT, HasDuration: true, Duration: 3600},
		{Type: WILLTOPICUPD, QoS: 1, TopicName: []byte("dead/x")},
		{Type: WILLTOPICUPD},
		{Type: WILLTOPICRESP, ReturnCode: Accepted},
		{Type: WILLMSGUPD, Data: []byte("new")},
		{Type: WILLMSGRESP, ReturnCode: RejectedNotSupported},
		{Type: PUBLISH, QoS: 1, TopicID: 2, MsgID: 1, Data: bytes.Repeat([]byte{7}, 1000)},
	}
	seen := map[Type]bool{}
	for _, c := range cases {
		t.Run(c.Type.String(), func(t *testing.T) {
			b, err := Append(nil, &c)
			if err != nil {
				t.Fatal(err)
			}
			n, err := Size(&c)
			if err != nil || n != len(b) {
				t.Fatalf("Size = %d, %v; Append wrote %d", n, err, len(b))
			}
			if len(b) > 255 && b[0] != 0x01 {
				t.Fatalf("%d bytes not in the 3-octet form", len(b))
			}
			var p Packet
			if err := Decode(b, &p); err != nil {
				t.Fatalf("decode %x: %v", b, err)
			}
			if !samePacket(&p, &c) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", p, c)
			}
			seen[c.Type] = true
		})
	}
	for _, ty := range Types() {
		if !seen[ty] {
			t.Errorf("type %v has no round-trip case", ty)
		}
	}
}

func TestForwardRoundTrip(t *testing.T) {
	msg, _ := Append(nil, &Packet{Type: PUBLISH, QoS: 1, TopicID: 1, MsgID: 2, Data: []byte("hi")})
	b, err := AppendForward(nil, &Forward{Ctrl: 1, NodeID: []byte{0xde, 0xad}}, msg)
	if err != nil {
		t.Fatal(err)
	}
	var fw Forward
	inner, wrapped, err := Unwrap(b, &fw)
	if err != nil || !wrapped || fw.Ctrl != 1 || !bytes.Equal(fw.NodeID, []byte{0xde, 0xad}) || !bytes.Equal(inner, msg) {
		t.Fatalf("Unwrap = %x %v %v %+v", inner, wrapped, err, fw)
	}
	plain, wrapped, err := Unwrap(msg, &fw)
	if err != nil || wrapped || !bytes.Equal(plain, msg) {
		t.Fatalf("Unwrap(plain) = %x %v %v", plain, wrapped, err)
	}
}

func TestDecodeAllocatesNothing(t *testing.T) {
	b, _ := Append(nil, &Packet{Type: PUBLISH, QoS: 1, TopicID: 1, MsgID: 2, Data: make([]byte, 64)})
	var p Packet
	if n := testing.AllocsPerRun(100, func() { Decode(b, &p) }); n != 0 {
		t.Fatalf("Decode allocates %v times", n)
	}
}

func TestShortTopic(t *testing.T) {
	if id := ShortTopic("ab"); id != 0x6162 || ShortTopicName(id) != "ab" {
		t.Fatalf("ShortTopic(ab) = %#x, back %q", id, ShortTopicName(id))
	}
}
