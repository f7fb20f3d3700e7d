package core

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/topic"
)

func TestSubscribeResults(t *testing.T) {
	b := newBroker(t, Config{Authorizer: denyPrefix("secret")})
	c := connectID(t, b, "s")
	tests := []struct {
		name string
		req  SubscribeRequest
		want Code
	}{
		{"QoS 0 granted", SubscribeRequest{Filter: "a/b"}, Success},
		{"QoS 1 granted", SubscribeRequest{Filter: "a/+", Options: topic.Options{QoS: 1}}, Success},
		{"QoS 2 granted", SubscribeRequest{Filter: "a/#", Options: topic.Options{QoS: 2}}, Success},
		{"shared granted", SubscribeRequest{Filter: "$share/g/a", Options: topic.Options{QoS: 1}}, Success},
		{"queue granted", SubscribeRequest{Filter: "$queue/a", Options: topic.Options{QoS: 1}}, Success},
		{"misplaced # is an invalid filter", SubscribeRequest{Filter: "a/#/b"}, TopicFilterInvalid},
		{"empty filter is invalid", SubscribeRequest{Filter: ""}, TopicFilterInvalid},
		{"malformed shared filter is invalid", SubscribeRequest{Filter: "$share/g"}, TopicFilterInvalid},
		{"No Local on a shared subscription is a protocol error", SubscribeRequest{Filter: "$share/g/b", Options: topic.Options{NoLocal: true}}, ProtocolError},
		{"authorizer deny", SubscribeRequest{Filter: "secret/#"}, NotAuthorized},
	}
	reqs := make([]SubscribeRequest, len(tests))
	for i, tt := range tests {
		reqs[i] = tt.req
	}
	res := c.Subscribe(context.Background(), reqs, nil)
	if len(res) != len(tests) {
		t.Fatalf("%d results for %d requests", len(res), len(tests))
	}
	for i, tt := range tests {
		if res[i].Code != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, res[i].Code, tt.want)
		}
		if !res[i].Code.Failed() && res[i].QoS != tt.req.Options.QoS {
			t.Errorf("%s: granted QoS %d, want %d", tt.name, res[i].QoS, tt.req.Options.QoS)
		}
	}
	if n := b.Stats().SubscribeDenied.Load(); n != 1 {
		t.Fatalf("SubscribeDenied = %d, want 1", n)
	}
	if n := b.SubscriptionCount(); n != 5 {
		t.Fatalf("SubscriptionCount = %d, want 5", n)
	}
}

func TestSubscribeMaxSubscriptions(t *testing.T) {
	b := newBroker(t, Config{MaxSubscriptions: 2})
	c := connectID(t, b, "s")
	res := c.Subscribe(context.Background(), []SubscribeRequest{{Filter: "a"}, {Filter: "b"}, {Filter: "c"}, {Filter: "a", Options: topic.Options{QoS: 1}}}, nil)
	want := []Code{Success, Success, QuotaExceeded, Success}
	for i, w := range want {
		if res[i].Code != w {
			t.Fatalf("result %d = %v, want %v", i, res[i].Code, w)
		}
	}
}

func TestResubscribeReplacesOptions(t *testing.T) {
	b := newBroker(t, Config{})
	c := connectID(t, b, "s")
	res := c.Subscribe(context.Background(), []SubscribeRequest{{Filter: "a"}}, nil)
	if res[0].existed {
		t.Fatal("a new subscription existed")
	}
	res = c.Subscribe(context.Background(), []SubscribeRequest{{Filter: "a", Options: topic.Options{QoS: 2, SubscriptionID: 9}}}, nil)
	if !res[0].existed || res[0].Code != Success || res[0].QoS != 2 {
		t.Fatalf("re-subscribe = %+v", res[0])
	}
	if n := b.SubscriptionCount(); n != 1 {
		t.Fatalf("SubscriptionCount = %d, want 1", n)
	}
	b.inject(&Message{Topic: "a", QoS: 2})
	ds := c.pull()
	if len(ds) != 1 || ds[0].QoS != 2 || !slices.Equal(ds[0].SubIDs, []uint32{9}) {
		t.Fatalf("pulled %+v, want one QoS 2 delivery with id 9", ds)
	}
}

func TestUnsubscribeResults(t *testing.T) {
	b := newBroker(t, Config{})
	c := connectID(t, b, "s")
	c.sub(t, "a/+", topic.Options{})
	c.sub(t, "$share/g/a", topic.Options{})
	res := c.Unsubscribe([]string{"a/+", "a/+", "nope", "a/#/x", "a", "$share/g/a"}, nil)
	want := []Code{Success, NoSubscriptionExisted, NoSubscriptionExisted, TopicFilterInvalid, NoSubscriptionExisted, Success}
	if !slices.Equal(res, want) {
		t.Fatalf("results %v, want %v", res, want)
	}
	if n := b.SubscriptionCount(); n != 0 {
		t.Fatalf("SubscriptionCount = %d, want 0", n)
	}
	if code := c.pub(t, "a/b", 0, ""); code != NoMatchingSubscribers {
		t.Fatalf("publish after unsubscribe = %v", code)
	}
}

func TestSendRetainedFollowsRetainHandling(t *testing.T) {
	tests := []struct {
		name     string
		filter   string
		rh       byte
		existing bool
		want     int
	}{
		{"handling 0 sends on a new subscription", "r/#", 0, false, 1},
		{"handling 0 sends on an existing subscription", "r/#", 0, true, 1},
		{"handling 1 sends on a new subscription", "r/#", 1, false, 1},
		{"handling 1 does not send on an existing subscription", "r/#", 1, true, 0},
		{"handling 2 never sends", "r/#", 2, false, 0},
		{"shared subscriptions get none", "$share/g/r/#", 0, false, 0},
		{"queue subscriptions get none", "$queue/r/#", 0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t, Config{})
			b.inject(&Message{Topic: "r/1", QoS: 1, Retain: true, Payload: []byte("kept")})
			c := connectID(t, b, "s")
			reqs := []SubscribeRequest{{Filter: tt.filter, Options: topic.Options{QoS: 1, RetainHandling: tt.rh, SubscriptionID: 3}}}
			if tt.existing {
				c.Subscribe(context.Background(), reqs, nil)
			}
			res := c.Subscribe(context.Background(), reqs, nil)
			c.SendRetained(reqs, res)
			ds := c.pull()
			if len(ds) != tt.want {
				t.Fatalf("pulled %d retained, want %d", len(ds), tt.want)
			}
			if tt.want == 1 {
				d := ds[0]
				if !d.Retain || d.Topic != "r/1" || !slices.Equal(d.SubIDs, []uint32{3}) {
					t.Fatalf("retained delivery %+v: want Retain, topic r/1, id 3", d)
				}
			}
		})
	}
}

func TestSendRetainedDeliveryQoSIsMinimum(t *testing.T) {
	tests := []struct {
		name           string
		msgQoS, subQoS byte
		want           byte
	}{
		{"message QoS below subscription", 1, 2, 1},
		{"subscription QoS below message", 2, 0, 0},
		{"equal", 1, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t, Config{})
			b.inject(&Message{Topic: "r", QoS: tt.msgQoS, Retain: true, Payload: []byte("x")})
			c := connectID(t, b, "s")
			c.sub(t, "r", topic.Options{QoS: tt.subQoS})
			ds := c.pull()
			if len(ds) != 1 || ds[0].QoS != tt.want {
				t.Fatalf("pulled %+v, want QoS %d", ds, tt.want)
			}
		})
	}
}

func TestLiveDeliveryQoSIsMinimum(t *testing.T) {
	b := newBroker(t, Config{})
	c := connectID(t, b, "s")
	c.sub(t, "q0", topic.Options{QoS: 0})
	c.sub(t, "q2", topic.Options{QoS: 2})
	b.inject(&Message{Topic: "q0", QoS: 2})
	b.inject(&Message{Topic: "q2", QoS: 1})
	ds := c.pull()
	if len(ds) != 2 || ds[0].QoS != 0 || ds[0].Tag != 0 || ds[1].QoS != 1 {
		t.Fatalf("pulled %+v", ds)
	}
}

func TestOverlappingSubscriptionsDeliverOnceAtMaxQoS(t *testing.T) {
	b := newBroker(t, Config{})
	c := connectID(t, b, "s")
	c.sub(t, "a/#", topic.Options{QoS: 0, SubscriptionID: 1})
	c.sub(t, "a/+", topic.Options{QoS: 2, SubscriptionID: 2})
	c.sub(t, "a/b", topic.Options{QoS: 1, SubscriptionID: 3})
	b.inject(&Message{Topic: "a/b", QoS: 2})
	ds := c.pull()
	if len(ds) != 1 {
		t.Fatalf("pulled %d deliveries, want 1", len(ds))
	}
	ids := slices.Clone(ds[0].SubIDs)
	slices.Sort(ids)
	if ds[0].QoS != 2 || !slices.Equal(ids, []uint32{1, 2, 3}) {
		t.Fatalf("delivery QoS %d ids %v, want 2 and [1 2 3]", ds[0].QoS, ids)
	}
}

func TestNoLocalSkipsPublisher(t *testing.T) {
	b := newBroker(t, Config{})
	p := connectID(t, b, "p")
	p.sub(t, "t", topic.Options{NoLocal: true})
	o := connectID(t, b, "o")
	o.sub(t, "t", topic.Options{NoLocal: true})
	if code := p.pub(t, "t", 0, "x"); code != Success {
		t.Fatalf("publish = %v", code)
	}
	if ds := p.pull(); len(ds) != 0 {
		t.Fatalf("publisher got its own message with No Local")
	}
	if got := payloads(o.pull()); got != "x" {
		t.Fatalf("other subscriber got %q", got)
	}
}

func TestRetainFlagOnLiveDelivery(t *testing.T) {
	tests := []struct {
		name     string
		rap      bool
		retain   bool
		wantFlag bool
	}{
		{"retain as published keeps the flag", true, true, true},
		{"without retain as published the flag is cleared", false, true, false},
		{"a non-retained message has no flag", true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t, Config{})
			c := connectID(t, b, "s")
			c.sub(t, "t", topic.Options{RetainAsPublished: tt.rap})
			b.inject(&Message{Topic: "t", Retain: tt.retain, Payload: []byte("x")})
			ds := c.pull()
			if len(ds) != 1 || ds[0].Retain != tt.wantFlag {
				t.Fatalf("pulled %+v, want Retain=%v", ds, tt.wantFlag)
			}
		})
	}
}

func TestRetainedStore(t *testing.T) {
	b := newBroker(t, Config{RetainedMax: 2, RetainedMaxPayload: 4})
	set := func(tp, payload string) {
		b.inject(&Message{Topic: tp, Retain: true, Payload: []byte(payload)})
	}
	steps := []struct {
		name        string
		topic, data string
		wantCount   int
		wantDropped int64
	}{
		{"first is stored", "r/1", "a", 1, 0},
		{"second is stored", "r/2", "b", 2, 0},
		{"a third topic beyond RetainedMax is refused", "r/3", "c", 2, 1},
		{"replacing an existing topic is allowed at the limit", "r/1", "aa", 2, 1},
		{"a payload beyond RetainedMaxPayload is refused", "r/2", "12345", 2, 2},
		{"an empty payload deletes", "r/2", "", 1, 2},
		{"deleting frees room", "r/3", "c", 2, 2},
	}
	for _, st := range steps {
		set(st.topic, st.data)
		if n := b.RetainedCount(); n != st.wantCount {
			t.Fatalf("%s: RetainedCount = %d, want %d", st.name, n, st.wantCount)
		}
		if n := b.Stats().MessagesDropped.Load(); n != st.wantDropped {
			t.Fatalf("%s: MessagesDropped = %d, want %d", st.name, n, st.wantDropped)
		}
	}
	c := connectID(t, b, "s")
	c.sub(t, "r/#", topic.Options{})
	ds := c.pull()
	slices.SortFunc(ds, func(x, y Delivery) int { return cmp.Compare(x.Topic, y.Topic) })
	if got := payloads(ds); got != "aa,c" {
		t.Fatalf("retained %q, want aa,c", got)
	}
}

func TestExpiredRetainedNotSent(t *testing.T) {
	b := newBroker(t, Config{})
	b.inject(&Message{Topic: "r/old", Retain: true, Payload: []byte("old"), Expiry: time.Now().Add(-time.Second)})
	b.inject(&Message{Topic: "r/new", Retain: true, Payload: []byte("new"), Expiry: time.Now().Add(time.Hour)})
	c := connectID(t, b, "s")
	c.sub(t, "r/#", topic.Options{})
	if got := payloads(c.pull()); got != "new" {
		t.Fatalf("retained %q, want new", got)
	}
}

func TestRetainDisabled(t *testing.T) {
	b := newBroker(t, Config{RetainDisabled: true})
	c := connectID(t, b, "s")
	if code := c.Publish(context.Background(), &Message{Topic: "r", Retain: true, Payload: []byte("x")}); code != QuotaExceeded {
		t.Fatalf("retained publish = %v, want QuotaExceeded", code)
	}
	b.inject(&Message{Topic: "r", Retain: true, Payload: []byte("x")})
	if n := b.RetainedCount(); n != 0 {
		t.Fatalf("RetainedCount = %d", n)
	}
}

func TestPublishCodes(t *testing.T) {
	b := newBroker(t, Config{Authorizer: denyPrefix("secret")})
	c := connectID(t, b, "p")
	o := connectID(t, b, "o")
	o.sub(t, "t", topic.Options{})
	tests := []struct {
		name, topic string
		want        Code
	}{
		{"$SYS topic is reserved", "$SYS/broker/x", NotAuthorized},
		{"$SYS itself is reserved", "$SYS", NotAuthorized},
		{"a shared-subscription name is reserved", "$share/g/t", NotAuthorized},
		{"a queue-subscription name is reserved", "$queue/t", NotAuthorized},
		{"authorizer deny", "secret", NotAuthorized},
		{"wildcards are invalid in a topic name", "t/+", TopicNameInvalid},
		{"nobody subscribed", "nobody", NoMatchingSubscribers},
		{"delivered", "t", Success},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := c.pub(t, tt.topic, 0, "x"); code != tt.want {
				t.Fatalf("publish %q = %v, want %v", tt.topic, code, tt.want)
			}
		})
	}
	if n := b.Stats().PublishDenied.Load(); n != 5 {
		t.Fatalf("PublishDenied = %d, want 5", n)
	}
	if got := payloads(o.pull()); got != "x" {
		t.Fatalf("subscriber got %q, want one x", got)
	}
}

func TestMountpoint(t *testing.T) {
	b := newBroker(t, Config{})
	mounted := func(id, mp string) *tclient {
		c, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: id, Mountpoint: mp}, SessionExpiry: time.Hour})
		return c
	}
	p := mounted("p", "m/")
	same := mounted("same", "m/")
	same.sub(t, "t/+", topic.Options{})
	shared := mounted("shared", "m/")
	shared.sub(t, "$share/g/t/+", topic.Options{})
	other := mounted("other", "n/")
	other.sub(t, "t/+", topic.Options{})
	plain := connectID(t, b, "plain")
	plain.sub(t, "m/t/+", topic.Options{})

	if code := p.pub(t, "t/1", 0, "x"); code != Success {
		t.Fatalf("publish = %v", code)
	}
	for _, tc := range []struct {
		name      string
		c         *tclient
		wantTopic string
	}{
		{"same mountpoint sees the topic without it", same, "t/1"},
		{"shared subscription under the mountpoint", shared, "t/1"},
		{"no mountpoint sees the full topic", plain, "m/t/1"},
	} {
		ds := tc.c.pull()
		if len(ds) != 1 || ds[0].Topic != tc.wantTopic || ds[0].Msg.Topic != "m/t/1" {
			t.Fatalf("%s: pulled %+v", tc.name, ds)
		}
	}
	if ds := other.pull(); len(ds) != 0 {
		t.Fatalf("another mountpoint received %+v", ds)
	}
	// Retained messages are stripped too.
	b.inject(&Message{Topic: "m/r", Retain: true, Payload: []byte("r")})
	same.sub(t, "r", topic.Options{})
	if ds := same.pull(); len(ds) != 1 || ds[0].Topic != "r" {
		t.Fatalf("retained under mountpoint: %+v", ds)
	}
	if res := same.Unsubscribe([]string{"t/+"}, nil); res[0] != Success {
		t.Fatalf("unsubscribe under mountpoint = %v", res[0])
	}
}
