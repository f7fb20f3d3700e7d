package mqttsn

import (
	"testing"
	"time"

	"github.com/mqgate/mqgate/adapters/mqttsn/packet"
)

// unsettled returns how many deliveries the core holds unsettled for the
// gateway's client id, -1 when it has no such client.
func (e *testEnv) unsettled(id string) int {
	e.gw.mu.Lock()
	c := e.gw.byID[id]
	e.gw.mu.Unlock()
	if c == nil {
		return -1
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.core.Unsettled()
}

// subscribeShort subscribes r to a two-character topic, which needs no
// registration.
func (r *rawClient) subscribeShort(name string, qos int8) {
	r.t.Helper()
	r.send(packet.Packet{Type: packet.SUBSCRIBE, QoS: qos, MsgID: 1, TopicIDType: packet.TopicShort, TopicID: packet.ShortTopic(name)})
	if p := r.expect(packet.SUBACK); p.ReturnCode != packet.Accepted {
		r.t.Fatalf("SUBACK %+v", p)
	}
}

// expectResent reads the retransmission of first: the same type, MsgID
// and payload, DUP on a PUBLISH, and not before about Tretry after the
// previous send at prev.
func (r *rawClient) expectResent(first packet.Packet, prev time.Time, tretry time.Duration) time.Time {
	r.t.Helper()
	p := r.expect(first.Type)
	at := time.Now()
	if p.MsgID != first.MsgID || string(p.Data) != string(first.Data) || first.Type == packet.PUBLISH && !p.Dup {
		r.t.Fatalf("retransmission %+v of %+v", p, first)
	}
	// Half of Tretry: the first read may have been late on a busy machine.
	if gap := at.Sub(prev); gap < tretry/2 {
		r.t.Fatalf("resent after %v, Tretry is %v", gap, tretry)
	}
	return at
}

// TestRetransmission: unacknowledged deliveries stay in the core's
// inflight window and the gateway resends them every Tretry with their
// MsgID, DUP on a PUBLISH, until Nretry retransmissions went unanswered
// [MQTT-SN 6.13].
func TestRetransmission(t *testing.T) {
	const id = "rt-1"
	tests := []struct {
		name string
		run  func(t *testing.T, e *testEnv, r *rawClient, tretry time.Duration)
	}{
		{"an unacknowledged PUBLISH is resent with its MsgID and DUP, then the client is lost", func(t *testing.T, e *testEnv, r *rawClient, tretry time.Duration) {
			r.connect(id, true, 60)
			r.subscribeShort("rt", 1)
			e.mqttPublish(e.mqttClient("paho-pub"), "rt", 1, false, "x")
			first := r.expect(packet.PUBLISH)
			if first.Dup || string(first.Data) != "x" {
				t.Fatalf("first PUBLISH %+v", first)
			}
			at := time.Now()
			for range 3 {
				at = r.expectResent(first, at, tretry)
			}
			waitFor(t, "client lost after max_retries", func() bool { return e.clientState(id) == stateGone })
			if n := e.gw.Stats().Retransmits.Load(); n != 3 {
				t.Fatalf("%d retransmissions counted, want 3", n)
			}
			if n := e.gw.Stats().Lost.Load(); n != 1 {
				t.Fatalf("%d clients lost, want 1", n)
			}
		}},
		{"a PUBREL is resent until PUBCOMP", func(t *testing.T, e *testEnv, r *rawClient, tretry time.Duration) {
			r.connect(id, true, 60)
			r.subscribeShort("rt", 2)
			e.mqttPublish(e.mqttClient("paho-pub"), "rt", 2, false, "x")
			p := r.expect(packet.PUBLISH)
			r.send(packet.Packet{Type: packet.PUBREC, MsgID: p.MsgID})
			rel := r.expect(packet.PUBREL)
			r.expectResent(rel, time.Now(), tretry)
			r.send(packet.Packet{Type: packet.PUBCOMP, MsgID: p.MsgID})
			waitFor(t, "delivery completed", func() bool { return e.unsettled(id) == 0 })
			if b := r.readRaw(3 * tretry); b != nil {
				t.Fatalf("sent %x after PUBCOMP", b)
			}
			if e.clientState(id) != stateActive || e.gw.Stats().Retransmits.Load() != 1 {
				t.Fatalf("client %v, %d retransmissions", e.clientState(id), e.gw.Stats().Retransmits.Load())
			}
		}},
		{"PUBREL retransmissions are counted afresh after PUBREC", func(t *testing.T, e *testEnv, r *rawClient, tretry time.Duration) {
			r.connect(id, true, 60)
			r.subscribeShort("rt", 2)
			e.mqttPublish(e.mqttClient("paho-pub"), "rt", 2, false, "x")
			p := r.expect(packet.PUBLISH)
			r.expectResent(p, time.Now(), tretry) // one retry of the PUBLISH
			r.send(packet.Packet{Type: packet.PUBREC, MsgID: p.MsgID})
			rel := r.expect(packet.PUBREL)
			at := time.Now()
			for range 3 {
				at = r.expectResent(rel, at, tretry)
			}
			waitFor(t, "client lost after max_retries", func() bool { return e.clientState(id) == stateGone })
		}},
		{"PUBACK congestion: the PUBLISH is resent after Tretry", func(t *testing.T, e *testEnv, r *rawClient, tretry time.Duration) {
			r.connect(id, true, 60)
			r.subscribeShort("rt", 1)
			e.mqttPublish(e.mqttClient("paho-pub"), "rt", 1, false, "x")
			p := r.expect(packet.PUBLISH)
			at := time.Now()
			r.send(packet.Packet{Type: packet.PUBACK, TopicID: p.TopicID, MsgID: p.MsgID, ReturnCode: packet.RejectedCongestion})
			r.expectResent(p, at, tretry)
			r.send(packet.Packet{Type: packet.PUBACK, TopicID: p.TopicID, MsgID: p.MsgID})
			waitFor(t, "delivery settled", func() bool { return e.unsettled(id) == 0 })
			if sent := e.broker.Stats().MessagesSent.Load(); sent != 1 {
				t.Fatalf("%d messages counted sent, want 1", sent)
			}
		}},
		{"PUBACK invalid topic id: the message is dropped and the topic registered again", func(t *testing.T, e *testEnv, r *rawClient, tretry time.Duration) {
			r.connect(id, true, 60)
			r.send(packet.Packet{Type: packet.SUBSCRIBE, QoS: 1, MsgID: 1, TopicName: []byte("rt/x")})
			sack := r.expect(packet.SUBACK)
			pub := e.mqttClient("paho-pub")
			e.mqttPublish(pub, "rt/x", 1, false, "a")
			p := r.expect(packet.PUBLISH)
			if p.TopicID != sack.TopicID {
				t.Fatalf("PUBLISH topic id %d, SUBACK gave %d", p.TopicID, sack.TopicID)
			}
			dropped := e.broker.Stats().MessagesDropped.Load()
			r.send(packet.Packet{Type: packet.PUBACK, TopicID: p.TopicID, MsgID: p.MsgID, ReturnCode: packet.RejectedInvalidTopicID})
			waitFor(t, "delivery rejected", func() bool { return e.unsettled(id) == 0 })
			if n := e.broker.Stats().MessagesDropped.Load() - dropped; n != 1 {
				t.Fatalf("%d dropped, want 1", n)
			}
			e.mqttPublish(pub, "rt/x", 1, false, "b")
			reg := r.expect(packet.REGISTER)
			if string(reg.TopicName) != "rt/x" {
				t.Fatalf("REGISTER %q", reg.TopicName)
			}
			r.send(packet.Packet{Type: packet.REGACK, TopicID: reg.TopicID, MsgID: reg.MsgID})
			if p := r.expect(packet.PUBLISH); p.Dup || p.TopicID != reg.TopicID || string(p.Data) != "b" {
				t.Fatalf("PUBLISH %+v after registering again", p)
			}
		}},
		{"a PUBLISH that waited for its registration is resent Tretry after it went out", func(t *testing.T, e *testEnv, r *rawClient, tretry time.Duration) {
			r.connect(id, true, 60)
			r.send(packet.Packet{Type: packet.SUBSCRIBE, QoS: 1, MsgID: 1, TopicName: []byte("rt/#")})
			r.expect(packet.SUBACK)
			e.mqttPublish(e.mqttClient("paho-pub"), "rt/late", 1, false, "x")
			r.expect(packet.REGISTER)
			// Unanswered, the REGISTER is resent after Tretry: the
			// delivery the core handed out waits that long unsent.
			reg := r.expect(packet.REGISTER)
			r.send(packet.Packet{Type: packet.REGACK, TopicID: reg.TopicID, MsgID: reg.MsgID})
			p := r.expect(packet.PUBLISH)
			if p.Dup {
				t.Fatalf("first PUBLISH %+v has DUP", p)
			}
			r.expectResent(p, time.Now(), tretry)
			r.send(packet.Packet{Type: packet.PUBACK, TopicID: p.TopicID, MsgID: p.MsgID})
			waitFor(t, "delivery settled", func() bool { return e.unsettled(id) == 0 })
		}},
		{"a session resumed after a loss starts its retries afresh", func(t *testing.T, e *testEnv, r *rawClient, tretry time.Duration) {
			r.connect(id, false, 60)
			r.subscribeShort("rt", 1)
			e.mqttPublish(e.mqttClient("paho-pub"), "rt", 1, false, "x")
			first := r.expect(packet.PUBLISH)
			for range 3 {
				r.expect(packet.PUBLISH)
			}
			waitFor(t, "client lost after max_retries", func() bool { return e.clientState(id) == stateGone })
			r2 := e.raw()
			r2.connect(id, false, 60)
			// [MQTT-SN 6.13] and the core's [MQTT-4.4.0-1]: the
			// unacknowledged message again, with its MsgID and DUP, and
			// retransmitted on the new connection, not counted lost.
			again := r2.expect(packet.PUBLISH)
			if !again.Dup || again.MsgID != first.MsgID || string(again.Data) != "x" {
				t.Fatalf("resumed PUBLISH %+v", again)
			}
			r2.expectResent(again, time.Now(), tretry)
			r2.send(packet.Packet{Type: packet.PUBACK, TopicID: again.TopicID, MsgID: again.MsgID})
			waitFor(t, "delivery settled", func() bool { return e.unsettled(id) == 0 })
			if e.clientState(id) != stateActive {
				t.Fatalf("resumed client %v", e.clientState(id))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEnv(t)
			tt.run(t, e, e.raw(), e.gw.cfg.RetryInterval)
		})
	}
}
