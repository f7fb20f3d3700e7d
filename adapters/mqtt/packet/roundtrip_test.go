package packet

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// fullProps sets every property allowed in kind, with multi-byte values, so
// the block is longer than 127 bytes and its length needs two bytes.
func fullProps(kind uint32) Properties {
	all := Properties{
		PayloadFormat: 1, HasPayloadFormat: true,
		MessageExpiry: 3600, HasMessageExpiry: true,
		ContentType:            "application/json; charset=utf-8",
		ResponseTopic:          "replies/client-1/ünïcode",
		CorrelationData:        []byte{0, 1, 2, 0xff},
		SubscriptionIDs:        []uint32{1, 268_435_455, 16_384},
		SessionExpiry:          0xFFFFFFFF,
		HasSessionExpiry:       true,
		AssignedClientID:       "auto-4f2a",
		ServerKeepAlive:        120,
		HasServerKeepAlive:     true,
		AuthMethod:             "SCRAM-SHA-256",
		AuthData:               []byte("client-first-message"),
		RequestProblemInfo:     0,
		HasRequestProblemInfo:  true,
		WillDelay:              30,
		HasWillDelay:           true,
		RequestResponseInfo:    1,
		HasRequestResponseInfo: true,
		ResponseInfo:           "replies/",
		ServerReference:        "other.example:1883",
		ReasonString:           "because the test says so",
		ReceiveMaximum:         20, HasReceiveMaximum: true,
		TopicAliasMaximum: 10, HasTopicAliasMaximum: true,
		TopicAlias: 7, HasTopicAlias: true,
		MaximumQoS: 1, HasMaximumQoS: true,
		RetainAvailable: 1, HasRetainAvailable: true,
		User: []UserProperty{{"region", "eu-west"}, {"region", "eu-north"}, {"", ""},
			{"long", strings.Repeat("x", 100)}},
		MaximumPacketSize: 1 << 20, HasMaximumPacketSize: true,
		WildcardSubAvailable: 0, HasWildcardSubAvailable: true,
		SubIDAvailable: 1, HasSubIDAvailable: true,
		SharedSubAvailable: 1, HasSharedSubAvailable: true,
	}
	// Keep only what kind allows, as a decoder would return.
	var out Properties
	b := appendProps(nil, &all, kind)
	r := reader{b: b}
	if err := decodeProps(&r, &out, kind); err != nil {
		panic(err)
	}
	if kind == kSubscribe {
		out.SubscriptionIDs = []uint32{42}
	}
	return out
}

type roundTrip struct {
	name string
	v    Version
	p    Packet
}

func roundTrips() []roundTrip {
	connect := func(v Version) Packet {
		p := Packet{Type: CONNECT, Version: v, ProtocolName: protocolName(v), CleanStart: true,
			KeepAlive: 60, ClientID: "client-1", HasUsername: true, Username: "ünïcode user",
			HasPassword: true, Password: []byte{0, 1, 2}, HasWill: true,
			Will: Will{Topic: "clients/client-1/status", Payload: []byte("offline"), QoS: 2, Retain: true}}
		if v == V5 {
			p.Properties = fullProps(kConnect)
			p.Will.Properties = fullProps(kindWill)
		}
		return p
	}
	var out []roundTrip
	out = append(out,
		roundTrip{"connect v3.1 with will and credentials", V31, connect(V31)},
		roundTrip{"connect v3.1.1 with will and credentials", V311, connect(V311)},
		roundTrip{"connect v5 with all properties", V5, connect(V5)},
		roundTrip{"connect v3.1.1 minimal", V311, Packet{Type: CONNECT, Version: V311, ProtocolName: "MQTT"}},
		roundTrip{"connect v5 password without username", V5, Packet{Type: CONNECT, Version: V5, ProtocolName: "MQTT",
			ClientID: "c", HasPassword: true, Password: []byte("token")}},
	)
	for _, v := range []Version{V311, V5} {
		var pr func(uint32) Properties
		if v == V5 {
			pr = fullProps
		} else {
			pr = func(uint32) Properties { return Properties{} }
		}
		vn := map[Version]string{V311: "v3.1.1", V5: "v5"}[v]
		add := func(name string, p Packet) { out = append(out, roundTrip{name + " " + vn, v, p}) }
		add("connack accepted with session", Packet{Type: CONNACK, SessionPresent: true, Properties: pr(kConnack)})
		add("connack refused", Packet{Type: CONNACK, ReasonCode: map[Version]byte{V311: ConnRefusedNotAuthorized, V5: NotAuthorized}[v]})
		add("publish qos0", Packet{Type: PUBLISH, Topic: []byte("a/b"), Payload: []byte("hello"), Properties: pr(kPublish), Flags: 0})
		add("publish qos1 retain", Packet{Type: PUBLISH, QoS: 1, Retain: true, PacketID: 1, Topic: []byte("a/b"), Payload: []byte{}, Flags: 0x3})
		add("publish qos2 dup", Packet{Type: PUBLISH, QoS: 2, Dup: true, PacketID: 65535, Topic: []byte("ü/€"), Payload: bytes.Repeat([]byte{0}, 300), Flags: 0xC, Properties: pr(kPublish)})
		for _, t := range []Type{PUBACK, PUBREC, PUBREL, PUBCOMP} {
			flags := fixedFlags(&Packet{Type: t})
			add(t.String()+" plain", Packet{Type: t, Flags: flags, PacketID: 7})
			if v == V5 {
				rc := QuotaExceeded
				if t == PUBREL || t == PUBCOMP {
					rc = PacketIdentifierNotFound
				}
				add(t.String()+" with reason", Packet{Type: t, Flags: flags, PacketID: 8, ReasonCode: rc})
				add(t.String()+" with reason and properties", Packet{Type: t, Flags: flags, PacketID: 9, ReasonCode: rc, Properties: pr(kindOfType(t))})
				add(t.String()+" success with properties", Packet{Type: t, Flags: flags, PacketID: 9, Properties: pr(kindOfType(t))})
			}
		}
		subs := []Subscription{{Filter: "a/+/c", QoS: 1}, {Filter: "#", QoS: 2}, {Filter: "$share/g/x", QoS: 0}}
		if v == V5 {
			subs = append(subs, Subscription{Filter: "d/#", QoS: 2, NoLocal: true, RetainAsPublished: true, RetainHandling: 2})
		}
		add("subscribe", Packet{Type: SUBSCRIBE, Flags: 2, PacketID: 10, Subscriptions: subs, Properties: pr(kSubscribe)})
		add("suback", Packet{Type: SUBACK, PacketID: 10, ReasonCodes: []byte{GrantedQoS1, GrantedQoS2, UnspecifiedError}, Properties: pr(kSuback)})
		add("unsubscribe", Packet{Type: UNSUBSCRIBE, Flags: 2, PacketID: 11, Filters: []string{"a/+/c", "#"}, Properties: pr(kUnsubscribe)})
		if v == V5 {
			add("unsuback", Packet{Type: UNSUBACK, PacketID: 11, ReasonCodes: []byte{Success, NoSubscriptionExisted}, Properties: pr(kUnsuback)})
		} else {
			add("unsuback", Packet{Type: UNSUBACK, PacketID: 11})
		}
		add("pingreq", Packet{Type: PINGREQ})
		add("pingresp", Packet{Type: PINGRESP})
		add("disconnect", Packet{Type: DISCONNECT})
		if v == V5 {
			add("disconnect with will", Packet{Type: DISCONNECT, ReasonCode: DisconnectWithWill})
			add("disconnect with properties", Packet{Type: DISCONNECT, ReasonCode: ServerMoved, Properties: pr(kDisconnect)})
			add("auth empty", Packet{Type: AUTH})
			add("auth continue", Packet{Type: AUTH, ReasonCode: ContinueAuthentication, Properties: pr(kAuth)})
			add("publish empty topic with alias", Packet{Type: PUBLISH, Topic: []byte{}, Payload: []byte("x"),
				Properties: Properties{TopicAlias: 3, HasTopicAlias: true}})
		}
	}
	return out
}

// decodeAll reads one whole packet from b.
func decodeAll(t testing.TB, p *Packet, b []byte, v Version) error {
	t.Helper()
	h, err := ReadHeader(b, 0)
	if err != nil {
		return err
	}
	if h.Len+h.Remaining != len(b) {
		t.Fatalf("header says %d+%d bytes, have %d", h.Len, h.Remaining, len(b))
	}
	return Decode(p, h, b[h.Len:], v)
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range roundTrips() {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Append(nil, &tc.p, tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if n := Size(&tc.p, tc.v); n != len(b) {
				t.Fatalf("Size = %d, Append wrote %d", n, len(b))
			}
			var got Packet
			if err := decodeAll(t, &got, b, tc.v); err != nil {
				t.Fatalf("decode %x: %v", b, err)
			}
			want := tc.p
			want.Flags = fixedFlags(&want)
			if !samePacket(&got, &want) {
				t.Fatalf("round trip mismatch\n got %+v\nwant %+v", normalized(&got), normalized(&want))
			}
		})
	}
}

// normalized returns a copy of p where empty slices are nil, so packets
// compare by content.
func normalized(p *Packet) Packet {
	q := *p
	nilIfEmpty := func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		return b
	}
	normProps := func(pr *Properties) {
		pr.CorrelationData = nilIfEmpty(pr.CorrelationData)
		pr.AuthData = nilIfEmpty(pr.AuthData)
		if len(pr.SubscriptionIDs) == 0 {
			pr.SubscriptionIDs = nil
		}
		if len(pr.User) == 0 {
			pr.User = nil
		}
	}
	q.Topic = nilIfEmpty(q.Topic)
	q.Payload = nilIfEmpty(q.Payload)
	q.Password = nilIfEmpty(q.Password)
	q.Will.Payload = nilIfEmpty(q.Will.Payload)
	q.ReasonCodes = nilIfEmpty(q.ReasonCodes)
	if len(q.Subscriptions) == 0 {
		q.Subscriptions = nil
	}
	if len(q.Filters) == 0 {
		q.Filters = nil
	}
	normProps(&q.Properties)
	normProps(&q.Will.Properties)
	return q
}

func samePacket(a, b *Packet) bool {
	x, y := normalized(a), normalized(b)
	return reflect.DeepEqual(x, y)
}

func TestPropertyBlockNeedsTwoLengthBytes(t *testing.T) {
	pr := fullProps(kPublish)
	if n := propsLen(&pr, kPublish); n <= 127 {
		t.Fatalf("publish property block is %d bytes; the test needs > 127", n)
	}
}
