package mqttsn

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/adapters/mqttsn/packet"
	"github.com/mqgate/mqgate/core"
)

// decodeNext reads and decodes the next datagram.
func (r *rawClient) decodeNext() packet.Packet {
	r.t.Helper()
	b := r.readRaw(10 * time.Second)
	if b == nil {
		r.t.Fatal("nothing arrived")
	}
	var p packet.Packet
	if err := packet.Decode(b, &p); err != nil {
		r.t.Fatalf("decode %x: %v", b, err)
	}
	return p
}

// drainUntilPingresp acknowledges REGISTERs and QoS 1 PUBLISHes up to the
// PINGRESP that ends a wake-up and returns the payloads in arrival order.
func (r *rawClient) drainUntilPingresp() []string {
	r.t.Helper()
	var got []string
	for {
		p := r.decodeNext()
		switch p.Type {
		case packet.PINGRESP:
			return got
		case packet.REGISTER:
			r.send(packet.Packet{Type: packet.REGACK, TopicID: p.TopicID, MsgID: p.MsgID})
		case packet.PUBLISH:
			got = append(got, string(p.Data))
			if p.QoS == 1 {
				r.send(packet.Packet{Type: packet.PUBACK, TopicID: p.TopicID, MsgID: p.MsgID})
			}
		default:
			r.t.Fatalf("unexpected %v", p.Type)
		}
	}
}

func TestMaxSleepQueue(t *testing.T) {
	tests := []struct {
		name   string
		policy core.DropPolicy
		want   string
	}{
		{"drop newest keeps the first", core.DropNewest, "m0,m1,m2"},
		{"drop oldest keeps the newest", core.DropOldest, "m2,m3,m4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEnv(t, func(b *core.Config, c *Config) {
				b.DropPolicy = tt.policy
				c.MaxSleepQueue = 3
			})
			pub := e.mqttClient("paho-pub")
			r := e.raw()
			r.connect("sleeper", false, 60)
			r.send(packet.Packet{Type: packet.SUBSCRIBE, QoS: 1, MsgID: 1, TopicName: []byte("nap/#")})
			r.expect(packet.SUBACK)
			r.send(packet.Packet{Type: packet.DISCONNECT, HasDuration: true, Duration: 30})
			r.expect(packet.DISCONNECT)
			waitFor(t, "asleep", func() bool { return e.clientState("sleeper") == stateAsleep })
			dropped := e.broker.Stats().MessagesDropped.Load()
			for i := range 5 {
				e.mqttPublish(pub, fmt.Sprintf("nap/%d", i), 1, false, fmt.Sprintf("m%d", i))
			}
			if n := e.broker.Stats().MessagesDropped.Load() - dropped; n != 2 {
				t.Fatalf("%d messages dropped while asleep, want 2", n)
			}
			r.send(packet.Packet{Type: packet.PINGREQ, ClientID: []byte("sleeper")})
			if got := strings.Join(r.drainUntilPingresp(), ","); got != tt.want {
				t.Fatalf("woke to %s, want %s", got, tt.want)
			}
			// Awake and active again, the broker's limits apply.
			r.connect("sleeper", false, 60)
			for i := range 5 {
				e.mqttPublish(pub, "nap/x", 1, false, fmt.Sprintf("a%d", i))
			}
			for i := range 5 {
				p := r.decodeNext()
				if p.Type == packet.REGISTER {
					r.send(packet.Packet{Type: packet.REGACK, TopicID: p.TopicID, MsgID: p.MsgID})
					p = r.decodeNext()
				}
				if p.Type != packet.PUBLISH || string(p.Data) != fmt.Sprintf("a%d", i) {
					t.Fatalf("got %v %q, want PUBLISH a%d", p.Type, p.Data, i)
				}
				r.send(packet.Packet{Type: packet.PUBACK, TopicID: p.TopicID, MsgID: p.MsgID})
			}
		})
	}
}

func TestMaxMessageSize(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) { c.MaxMessageSize = 64 })
	sub := e.mqttSubscribe("paho-sub", "big/#", 1)
	r := e.raw()
	r.connect("sized", true, 60)
	r.send(packet.Packet{Type: packet.REGISTER, MsgID: 1, TopicName: []byte("big/up")})
	id := r.expect(packet.REGACK).TopicID
	for i, n := range []int{100, 5000} {
		// 100 bytes fit the read buffer and are refused by length; 5000
		// are truncated by it and refused as malformed.
		r.send(packet.Packet{Type: packet.PUBLISH, QoS: 1, MsgID: uint16(10 + i), TopicID: id, Data: make([]byte, n)})
	}
	waitFor(t, "oversized datagrams counted", func() bool { return e.gw.Stats().Malformed.Load() == 2 })
	r.send(packet.Packet{Type: packet.PUBLISH, QoS: 1, MsgID: 20, TopicID: id, Data: []byte("small")})
	if p := r.expect(packet.PUBACK); p.MsgID != 20 || p.ReturnCode != packet.Accepted {
		t.Fatalf("PUBACK %+v", p)
	}
	if m := recv(t, sub, "the small publish"); m.payload != "small" {
		t.Fatalf("got %+v: an oversized publish went through", m)
	}
	// A delivery larger than the limit is dropped and counted; the next
	// one arrives.
	r.send(packet.Packet{Type: packet.SUBSCRIBE, QoS: 0, MsgID: 2, TopicName: []byte("big/down")})
	r.expect(packet.SUBACK)
	pub := e.mqttClient("paho-pub")
	dropped := e.broker.Stats().MessagesDropped.Load()
	e.mqttPublish(pub, "big/down", 0, false, strings.Repeat("x", 100))
	e.mqttPublish(pub, "big/down", 0, false, "fits")
	if p := r.expect(packet.PUBLISH); string(p.Data) != "fits" {
		t.Fatalf("got %q", p.Data)
	}
	if n := e.broker.Stats().MessagesDropped.Load() - dropped; n != 1 {
		t.Fatalf("%d deliveries dropped, want 1", n)
	}
	if e.clientState("sized") != stateActive {
		t.Fatal("client disturbed by oversized messages")
	}
}

func TestMaxRegisteredTopics(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) { c.MaxRegisteredTopics = 2 })
	r := e.raw()
	r.connect("registrar", true, 60)
	register := func(msgID uint16, name string) packet.Packet {
		r.send(packet.Packet{Type: packet.REGISTER, MsgID: msgID, TopicName: []byte(name)})
		p := r.expect(packet.REGACK)
		if p.MsgID != msgID {
			t.Fatalf("REGACK for %d, want %d", p.MsgID, msgID)
		}
		return p
	}
	first := register(1, "reg/1")
	if p := register(2, "reg/2"); p.ReturnCode != packet.Accepted {
		t.Fatalf("second REGISTER: return code %d", p.ReturnCode)
	}
	// [MQTT-SN 5.4.11] no topic id left for this client: congestion.
	if p := register(3, "reg/3"); p.ReturnCode != packet.RejectedCongestion || p.TopicID != 0 {
		t.Fatalf("third REGISTER: %+v, want return code %d and topic id 0", p, packet.RejectedCongestion)
	}
	// A topic already registered keeps its id.
	if p := register(4, "reg/1"); p.ReturnCode != packet.Accepted || p.TopicID != first.TopicID {
		t.Fatalf("REGISTER again: %+v, want id %d", p, first.TopicID)
	}
	// A SUBSCRIBE by topic name needs an id too.
	r.send(packet.Packet{Type: packet.SUBSCRIBE, QoS: 1, MsgID: 5, TopicName: []byte("reg/4")})
	if p := r.expect(packet.SUBACK); p.ReturnCode != packet.RejectedCongestion {
		t.Fatalf("SUBACK %+v, want congestion", p)
	}
}

func TestMaxInflight(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) {
		c.MaxInflight = 2
		c.RetryInterval = time.Minute // no retransmission during the test
	})
	r := e.raw()
	r.connect("slow", true, 60)
	r.send(packet.Packet{Type: packet.SUBSCRIBE, QoS: 1, MsgID: 1, TopicName: []byte("in/flight")})
	r.expect(packet.SUBACK)
	pub := e.mqttClient("paho-pub")
	for i := range 5 {
		e.mqttPublish(pub, "in/flight", 1, false, fmt.Sprintf("f%d", i))
	}
	var unacked []packet.Packet
	next := 0
	take := func(n int) {
		t.Helper()
		for range n {
			p := r.expect(packet.PUBLISH)
			if string(p.Data) != fmt.Sprintf("f%d", next) {
				t.Fatalf("got %q, want f%d", p.Data, next)
			}
			next++
			unacked = append(unacked, p)
		}
		// No PUBLISH beyond the window while nothing is acknowledged.
		if b := r.readRaw(300 * time.Millisecond); b != nil {
			t.Fatalf("%d PUBLISH unacknowledged and more arrived: %x", len(unacked), b)
		}
	}
	take(2)
	ack := func() {
		p := unacked[0]
		unacked = unacked[1:]
		r.send(packet.Packet{Type: packet.PUBACK, TopicID: p.TopicID, MsgID: p.MsgID})
	}
	ack()
	take(1)
	ack()
	ack()
	take(2)
	if next != 5 {
		t.Fatalf("%d delivered", next)
	}
}
