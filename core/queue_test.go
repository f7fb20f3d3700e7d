package core

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/topic"
)

// offline connects id with a persistent session subscribed to filter at
// qos and disconnects it.
func offline(t *testing.T, b *Broker, id, filter string, qos byte) {
	t.Helper()
	c := connectID(t, b, id)
	c.sub(t, filter, topic.Options{QoS: qos})
	c.Disconnect(DisconnectNormal, "")
}

func resume(t *testing.T, b *Broker, id string, receiveMax int) *tclient {
	t.Helper()
	c, present := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: id}, SessionExpiry: time.Hour, ReceiveMaximum: receiveMax})
	if !present {
		t.Fatalf("session %q not present", id)
	}
	return c
}

func publishN(b *Broker, tp string, qos byte, n int) {
	for i := 0; i < n; i++ {
		b.inject(&Message{Topic: tp, QoS: qos, Payload: []byte(strconv.Itoa(i))})
	}
}

func TestOfflineQueue(t *testing.T) {
	tests := []struct {
		name      string
		queueQoS0 bool
		want      string
	}{
		{"keeps QoS 1 and drops QoS 0", false, "q1"},
		{"keeps QoS 0 with QueueQoS0", true, "q0,q1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t, Config{QueueQoS0: tt.queueQoS0})
			offline(t, b, "s", "q", 1)
			b.inject(&Message{Topic: "q", QoS: 0, Payload: []byte("q0")})
			b.inject(&Message{Topic: "q", QoS: 1, Payload: []byte("q1")})
			if got := payloads(resume(t, b, "s", 0).pull()); got != tt.want {
				t.Fatalf("pulled %q, want %q", got, tt.want)
			}
		})
	}
}

func TestQueueLimits(t *testing.T) {
	// Each message is charged len(topic)+len(payload)+64 = 66 bytes.
	tests := []struct {
		name        string
		cfg         Config
		publish     int
		want        string
		wantDropped int64
	}{
		{"MaxQueued with DropNewest keeps the first", Config{MaxQueued: 3, DropPolicy: DropNewest}, 5, "0,1,2", 2},
		{"MaxQueued with DropOldest keeps the last", Config{MaxQueued: 3, DropPolicy: DropOldest}, 5, "2,3,4", 2},
		{"MaxQueuedBytes with DropNewest keeps the first", Config{MaxQueuedBytes: 3 * 66, DropPolicy: DropNewest}, 5, "0,1,2", 2},
		{"MaxQueuedBytes with DropOldest keeps the last", Config{MaxQueuedBytes: 3 * 66, DropPolicy: DropOldest}, 5, "2,3,4", 2},
		{"order is preserved below the limits", Config{}, 5, "0,1,2,3,4", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t, tt.cfg)
			offline(t, b, "s", "q", 1)
			publishN(b, "q", 1, tt.publish)
			if n := b.Stats().MessagesDropped.Load(); n != tt.wantDropped {
				t.Fatalf("MessagesDropped = %d, want %d", n, tt.wantDropped)
			}
			if got := payloads(resume(t, b, "s", 0).pull()); got != tt.want {
				t.Fatalf("pulled %q, want %q", got, tt.want)
			}
		})
	}
}

// TestQueueOversizedMessageDoesNotFlushQueue: a message larger than
// MaxQueuedBytes can never be queued; under DropOldest it must not evict
// the messages already queued on its way to being dropped.
func TestQueueOversizedMessageDoesNotFlushQueue(t *testing.T) {
	b := newBroker(t, Config{MaxQueuedBytes: 200, DropPolicy: DropOldest})
	offline(t, b, "s", "q", 1)
	publishN(b, "q", 1, 2)
	b.inject(&Message{Topic: "q", QoS: 1, Payload: make([]byte, 300)})
	if n := b.Stats().MessagesDropped.Load(); n != 1 {
		t.Fatalf("MessagesDropped = %d, want 1", n)
	}
	if got := payloads(resume(t, b, "s", 0).pull()); got != "0,1" {
		t.Fatalf("pulled %q, want 0,1", got)
	}
}

func TestQueueOrderPreservedAcrossWindow(t *testing.T) {
	b := newBroker(t, Config{MaxInflight: 7})
	offline(t, b, "s", "q", 2)
	const n = 200
	for i := 0; i < n; i++ {
		b.inject(&Message{Topic: "q", QoS: byte(i%2 + 1), Payload: []byte(strconv.Itoa(i))})
	}
	c := resume(t, b, "s", 0)
	for next := 0; next < n; {
		ds := c.Pull(nil, 5)
		if len(ds) == 0 {
			t.Fatalf("Pull returned nothing at message %d", next)
		}
		for _, d := range ds {
			if string(d.Msg.Payload) != strconv.Itoa(next) {
				t.Fatalf("got message %s, want %d", d.Msg.Payload, next)
			}
			next++
			if d.QoS == 1 {
				c.Settle(d.Tag, Accepted)
			} else {
				c.Hold(d.Tag)
				c.Complete(d.Tag)
			}
		}
	}
}

func TestPullDropsExpiredMessages(t *testing.T) {
	b := newBroker(t, Config{})
	offline(t, b, "s", "q", 1)
	past := time.Now().Add(-time.Second)
	b.inject(&Message{Topic: "q", QoS: 1, Payload: []byte("old"), Expiry: past})
	b.inject(&Message{Topic: "q", QoS: 1, Payload: []byte("live"), Expiry: time.Now().Add(time.Hour)})
	b.inject(&Message{Topic: "q", QoS: 1, Payload: []byte("forever")})
	if got := payloads(resume(t, b, "s", 0).pull()); got != "live,forever" {
		t.Fatalf("pulled %q", got)
	}
	if n := b.Stats().MessagesDropped.Load(); n != 1 {
		t.Fatalf("MessagesDropped = %d, want 1", n)
	}
}

// TestPullSkipsExpiredWithoutEndingTheBatch: expired messages at the head
// of the queue must not use up a Pull's max, or an adapter that pulls until
// a Pull comes back empty would stop with live messages queued.
func TestPullSkipsExpiredWithoutEndingTheBatch(t *testing.T) {
	b := newBroker(t, Config{})
	offline(t, b, "s", "q", 1)
	past := time.Now().Add(-time.Second)
	for i := 0; i < 10; i++ {
		b.inject(&Message{Topic: "q", QoS: 1, Payload: []byte("old"), Expiry: past})
	}
	b.inject(&Message{Topic: "q", QoS: 1, Payload: []byte("live")})
	if got := payloads(resume(t, b, "s", 0).Pull(nil, 4)); got != "live" {
		t.Fatalf("pulled %q, want live", got)
	}
}

func TestPullRespectsInflightWindow(t *testing.T) {
	tests := []struct {
		name        string
		maxInflight int
		receiveMax  int
		want        int
	}{
		{"client receive maximum", 32, 2, 2},
		{"server MaxInflight", 3, 0, 3},
		{"server MaxInflight caps the client", 3, 10, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t, Config{MaxInflight: tt.maxInflight})
			offline(t, b, "s", "q", 1)
			publishN(b, "q", 1, 10)
			c := resume(t, b, "s", tt.receiveMax)
			ds := c.pull()
			if len(ds) != tt.want {
				t.Fatalf("pulled %d, want %d", len(ds), tt.want)
			}
			if more := c.pull(); len(more) != 0 {
				t.Fatalf("pulled %d more with a full window", len(more))
			}
			c.conn.drainNotes()
			if !c.Settle(ds[0].Tag, Accepted) {
				t.Fatal("Ack failed")
			}
			if !c.conn.notified(waitLimit) {
				t.Fatal("no Notify after an Ack freed the window")
			}
			if got := c.pull(); len(got) != 1 || got[0].Msg == nil || string(got[0].Msg.Payload) != strconv.Itoa(tt.want) {
				t.Fatalf("after Ack pulled %q, want %d", payloads(got), tt.want)
			}
		})
	}
}

// TestPacketIDsUniqueAcrossWraparound fills the window, keeps some ids in
// flight for the whole test and cycles the rest past 65535: an id is never
// 0 and never one still in flight [MQTT-2.2.1-4].
func TestPacketIDsUniqueAcrossWraparound(t *testing.T) {
	const window = 8
	b := newBroker(t, Config{MaxInflight: window})
	c := connectID(t, b, "s")
	c.sub(t, "q", topic.Options{QoS: 1})
	inflight := map[uint16]bool{}
	take := func(n int) []Delivery {
		publishN(b, "q", 1, n)
		ds := c.pull()
		if len(ds) != n {
			t.Fatalf("pulled %d, want %d", len(ds), n)
		}
		for _, d := range ds {
			if d.Tag == 0 {
				t.Fatal("packet id 0")
			}
			if inflight[d.Tag] {
				t.Fatalf("packet id %d reused while in flight", d.Tag)
			}
			inflight[d.Tag] = true
		}
		return ds
	}
	// Ids 1-3 stay in flight throughout.
	held := take(3)
	wrapped := false
	var last uint16
	for issued := 0; issued < 2*65536; {
		ds := take(window - 3)
		for _, d := range ds {
			if d.Tag < last {
				wrapped = true
			}
			last = d.Tag
			if !c.Settle(d.Tag, Accepted) {
				t.Fatalf("Ack %d failed", d.Tag)
			}
			delete(inflight, d.Tag)
		}
		issued += len(ds)
	}
	if !wrapped {
		t.Fatal("packet ids never wrapped")
	}
	for _, d := range held {
		if !c.Settle(d.Tag, Accepted) {
			t.Fatalf("held id %d no longer in flight", d.Tag)
		}
	}
}

func TestAckStateMachine(t *testing.T) {
	b := newBroker(t, Config{})
	c := connectID(t, b, "s")
	c.sub(t, "q1", topic.Options{QoS: 1})
	c.sub(t, "q2", topic.Options{QoS: 2})
	b.inject(&Message{Topic: "q1", QoS: 1})
	b.inject(&Message{Topic: "q2", QoS: 2})
	ds := c.pull()
	if len(ds) != 2 || ds[0].QoS != 1 || ds[1].QoS != 2 {
		t.Fatalf("pulled %+v", ds)
	}
	q1, q2 := ds[0].Tag, ds[1].Tag
	steps := []struct {
		name string
		do   func() bool
		want bool
	}{
		{"PUBCOMP for a QoS 1 message is refused", func() bool { return c.Complete(q1) }, false},
		{"PUBREC for a QoS 1 message is refused", func() bool { return c.Hold(q1) }, false},
		{"PUBACK for a QoS 2 message is refused", func() bool { return c.Settle(q2, Accepted) }, false},
		{"PUBCOMP before PUBREC is refused", func() bool { return c.Complete(q2) }, false},
		{"PUBACK for an unknown id is refused", func() bool { return c.Settle(999, Accepted) }, false},
		{"PUBREC for an unknown id is refused", func() bool { return c.Hold(999) }, false},
		{"PUBACK for a QoS 1 message is accepted", func() bool { return c.Settle(q1, Accepted) }, true},
		{"a second PUBACK is refused", func() bool { return c.Settle(q1, Accepted) }, false},
		{"PUBREC for a QoS 2 message is accepted", func() bool { return c.Hold(q2) }, true},
		{"a repeated PUBREC is answered again", func() bool { return c.Hold(q2) }, true},
		{"PUBACK for a released QoS 2 message is refused", func() bool { return c.Settle(q2, Accepted) }, false},
		{"PUBCOMP for a released message is accepted", func() bool { return c.Complete(q2) }, true},
		{"a second PUBCOMP is refused", func() bool { return c.Complete(q2) }, false},
	}
	for _, st := range steps {
		if got := st.do(); got != st.want {
			t.Fatalf("%s: got %v", st.name, got)
		}
	}
	if n := b.Stats().MessagesSent.Load(); n != 2 {
		t.Fatalf("MessagesSent = %d, want 2", n)
	}
}

func TestReceivedFailureFreesInflight(t *testing.T) {
	b := newBroker(t, Config{MaxInflight: 1})
	c := connectID(t, b, "s")
	c.sub(t, "q", topic.Options{QoS: 2})
	publishN(b, "q", 2, 2)
	ds := c.pull()
	if len(ds) != 1 {
		t.Fatalf("pulled %d, want 1", len(ds))
	}
	c.conn.drainNotes()
	if !c.Settle(ds[0].Tag, Rejected) {
		t.Fatal("failed PUBREC refused")
	}
	if !c.conn.notified(waitLimit) {
		t.Fatal("no Notify after the window freed")
	}
	if c.Complete(ds[0].Tag) {
		t.Fatal("PUBCOMP accepted after a failed PUBREC")
	}
	if got := payloads(c.pull()); got != "1" {
		t.Fatalf("pulled %q, want 1", got)
	}
}

func TestResendAfterReconnect(t *testing.T) {
	b := newBroker(t, Config{})
	c := connectID(t, b, "s")
	c.sub(t, "q", topic.Options{QoS: 2, SubscriptionID: 5})
	for i, qos := range []byte{2, 2, 1, 2} {
		b.inject(&Message{Topic: "q", QoS: qos, Payload: []byte(strconv.Itoa(i))})
	}
	ds := c.pull()
	if len(ds) != 4 {
		t.Fatalf("pulled %d", len(ds))
	}
	// 0: acknowledged; 1: released (PUBREC received); 2, 3: unanswered.
	c.Hold(ds[0].Tag)
	c.Complete(ds[0].Tag)
	c.Hold(ds[1].Tag)
	c.Disconnect(DisconnectWithWill, "")
	b.inject(&Message{Topic: "q", QoS: 1, Payload: []byte("new")})

	c2 := resume(t, b, "s", 0)
	got := c2.pull()
	type want struct {
		id      uint16
		pubrel  bool
		dup     bool
		payload string
	}
	wants := []want{
		{ds[1].Tag, true, false, ""},
		{ds[2].Tag, false, true, "2"},
		{ds[3].Tag, false, true, "3"},
		{0, false, false, "new"},
	}
	if len(got) != len(wants) {
		t.Fatalf("pulled %d deliveries %q, want %d", len(got), payloads(got), len(wants))
	}
	for i, w := range wants {
		d := got[i]
		if w.id != 0 && d.Tag != w.id || d.Held != w.pubrel || !w.pubrel && (d.Redelivered > 0) != w.dup {
			t.Fatalf("delivery %d = %+v, want %+v", i, d, w)
		}
		if !w.pubrel {
			if string(d.Msg.Payload) != w.payload {
				t.Fatalf("delivery %d payload %q, want %q", i, d.Msg.Payload, w.payload)
			}
			if w.dup && (len(d.SubIDs) != 1 || d.SubIDs[0] != 5) {
				t.Fatalf("resent delivery %d lost its subscription id: %v", i, d.SubIDs)
			}
		}
	}
	if more := c2.pull(); len(more) != 0 {
		t.Fatalf("resent twice: %+v", more)
	}
	if !c2.Complete(ds[1].Tag) || !c2.Settle(ds[2].Tag, Accepted) || !c2.Hold(ds[3].Tag) {
		t.Fatal("acks on the new connection refused")
	}
}

func TestRejectedFreesInflight(t *testing.T) {
	b := newBroker(t, Config{MaxInflight: 1})
	c := connectID(t, b, "s")
	c.sub(t, "q", topic.Options{QoS: 1})
	publishN(b, "q", 1, 2)
	ds := c.pull()
	if len(ds) != 1 {
		t.Fatalf("pulled %d", len(ds))
	}
	c.conn.drainNotes()
	c.Settle(ds[0].Tag, Rejected)
	// The adapter must learn that the freed window lets the next one go.
	if !c.conn.notified(waitLimit) {
		t.Fatal("no Notify after Rejected freed the window")
	}
	if c.Settle(ds[0].Tag, Accepted) {
		t.Fatal("Ack accepted for a dropped delivery")
	}
	if got := payloads(c.pull()); got != "1" {
		t.Fatalf("pulled %q, want 1", got)
	}
	st := b.Stats()
	if st.MessagesDropped.Load() != 1 || st.MessagesSent.Load() != 0 {
		t.Fatalf("dropped %d sent %d, want 1 and 0", st.MessagesDropped.Load(), st.MessagesSent.Load())
	}
}

func TestDroppedQoS0IsNotCountedSent(t *testing.T) {
	b := newBroker(t, Config{})
	c := connectID(t, b, "s")
	c.sub(t, "q", topic.Options{})
	publishN(b, "q", 0, 1)
	ds := c.pull()
	c.Settle(ds[0].Tag, Rejected)
	st := b.Stats()
	if st.MessagesDropped.Load() != 1 || st.MessagesSent.Load() != 0 {
		t.Fatalf("dropped %d sent %d, want 1 and 0", st.MessagesDropped.Load(), st.MessagesSent.Load())
	}
}

func TestInboundQoS2(t *testing.T) {
	ctx := context.Background()
	b := newBroker(t, Config{MaxInboundQoS2: 2})
	obs := connectID(t, b, "obs")
	obs.sub(t, "in", topic.Options{QoS: 2})
	p := connectID(t, b, "pub")
	msg := func(s string) *Message { return &Message{Topic: "in", QoS: 2, Payload: []byte(s)} }

	if code, dup := p.PublishQoS2(ctx, 1, msg("a")); code != Success || dup {
		t.Fatalf("first PublishQoS2 = %v dup=%v", code, dup)
	}
	if code, dup := p.PublishQoS2(ctx, 1, msg("a")); code != Success || !dup {
		t.Fatalf("duplicate PublishQoS2 = %v dup=%v, want dup", code, dup)
	}
	if got := payloads(obs.pull()); got != "a" {
		t.Fatalf("observer got %q, want one a", got)
	}
	if code, _ := p.PublishQoS2(ctx, 2, msg("b")); code != Success {
		t.Fatalf("second id = %v", code)
	}
	if code, _ := p.PublishQoS2(ctx, 3, msg("c")); code != ReceiveMaximumExceeded {
		t.Fatalf("third id = %v, want ReceiveMaximumExceeded", code)
	}
	if !p.Release(1) {
		t.Fatal("Release(1) = false")
	}
	if p.Release(1) {
		t.Fatal("second Release(1) = true")
	}
	if code, _ := p.PublishQoS2(ctx, 3, msg("c")); code != Success {
		t.Fatalf("third id after a release = %v", code)
	}
	// A released id starts a new message.
	if code, dup := p.PublishQoS2(ctx, 1, msg("d")); code != ReceiveMaximumExceeded || dup {
		t.Fatalf("id 1 reused with the window full = %v dup=%v", code, dup)
	}
	p.Release(3)
	if code, dup := p.PublishQoS2(ctx, 1, msg("d")); code != Success || dup {
		t.Fatalf("id 1 reused = %v dup=%v", code, dup)
	}
	if got := payloads(obs.pull()); got != "b,c,d" {
		t.Fatalf("observer got %q, want b,c,d", got)
	}
}

func TestInboundQoS2RefusedPublishIsNotRemembered(t *testing.T) {
	ctx := context.Background()
	b := newBroker(t, Config{Authorizer: denyPrefix("secret")})
	p := connectID(t, b, "pub")
	if code, _ := p.PublishQoS2(ctx, 1, &Message{Topic: "secret", QoS: 2}); code != NotAuthorized {
		t.Fatalf("code = %v", code)
	}
	if p.Release(1) {
		t.Fatal("a refused publish awaits PUBREL")
	}
}

func TestInboundQoS2SurvivesReconnect(t *testing.T) {
	tests := []struct {
		name       string
		cleanStart bool
		want       bool
	}{
		{"PUBREL on a resumed session releases", false, true},
		{"clean start forgets inbound state", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t, Config{})
			obs := connectID(t, b, "obs")
			obs.sub(t, "in", topic.Options{QoS: 2})
			p := connectID(t, b, "pub")
			p.PublishQoS2(context.Background(), 7, &Message{Topic: "in", QoS: 2, Payload: []byte("x")})
			p.Disconnect(DisconnectWithWill, "")
			p2, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "pub"}, CleanStart: tt.cleanStart, SessionExpiry: time.Hour})
			if _, dup := p2.PublishQoS2(context.Background(), 7, &Message{Topic: "in", QoS: 2, Payload: []byte("x")}); dup != tt.want {
				t.Fatalf("retransmission after reconnect dup=%v, want %v", dup, tt.want)
			}
			if got := p2.Release(7); !got {
				t.Fatal("Release after reconnect = false")
			}
			want := "x"
			if !tt.want {
				want = "x,x"
			}
			if got := payloads(obs.pull()); got != want {
				t.Fatalf("observer got %q, want %q", got, want)
			}
		})
	}
}

func ExampleClient_Pull() {
	b := NewBroker(Config{AllowAnonymous: true})
	defer b.Close()
	c, _, _ := b.open(&OpenRequest{Info: ClientInfo{ClientID: "a"}, Conn: nullConn{}})
	c.Subscribe(context.Background(), []SubscribeRequest{{Filter: "t", Options: topic.Options{QoS: 1}}}, nil)
	b.inject(&Message{Topic: "t", QoS: 1, Payload: []byte("hi")})
	for _, d := range c.Pull(nil, 16) {
		fmt.Println(d.Topic, string(d.Msg.Payload), d.QoS, d.Tag)
		c.Settle(d.Tag, Accepted)
	}
	// Output: t hi 1 1
}
