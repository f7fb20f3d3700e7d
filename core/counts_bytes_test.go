package core

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"unsafe"

	"github.com/mqgate/mqgate/core/topic"
)

// countsOf returns b's MessageCounts keyed "protocol/qos", each as
// {received, sent, received bytes, sent bytes}.
func countsOf(b *Broker) map[string][4]int64 {
	got := map[string][4]int64{}
	for _, c := range b.MessageCounts() {
		got[c.Protocol+"/"+strconv.Itoa(int(c.QoS))] = [4]int64{c.Received, c.Sent, c.ReceivedBytes, c.SentBytes}
	}
	return got
}

func checkCounts(t *testing.T, b *Broker, want map[string][4]int64) {
	t.Helper()
	if got := countsOf(b); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("MessageCounts {received, sent, received bytes, sent bytes} = %v, want %v", got, want)
	}
}

// publishFrom publishes payload on tp as a producer of protocol proto.
func publishFrom(t *testing.T, b *Broker, proto, tp string, qos byte, retain bool, payload string) {
	t.Helper()
	m := NewMessage(tp, []byte(payload))
	m.QoS, m.Retain = qos, retain
	if _, err := b.Publish(context.Background(), &ClientInfo{Protocol: proto, ClientID: "producer"}, m); err != nil {
		t.Fatal(err)
	}
}

// TestMessageCountsCountPayloadBytes: each message counted in
// MessageCounts brings the bytes of its payload, received at the QoS
// published by the publisher's protocol and sent at the QoS delivered by
// the subscriber's.
func TestMessageCountsCountPayloadBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, b *Broker)
		want map[string][4]int64
	}{{
		name: "QoS 0 messages pulled in one batch count every payload",
		run: func(t *testing.T, b *Broker) {
			pub, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "pub"}})
			sub, _ := connect(t, b, OpenRequest{Info: ClientInfo{Protocol: "stomp", ClientID: "sub"}})
			sub.sub(t, "t", topic.Options{})
			for _, p := range []string{"abc", "defgh", "ijklmno"} {
				if code := pub.pub(t, "t", 0, p); code.Failed() {
					t.Fatal(code)
				}
			}
			if ds := sub.pull(); len(ds) != 3 {
				t.Fatalf("%d deliveries, want 3", len(ds))
			}
		},
		want: map[string][4]int64{"mqtt/0": {3, 0, 15, 0}, "stomp/0": {0, 3, 0, 15}},
	}, {
		name: "a QoS 1 delivery counts its bytes sent when accepted",
		run: func(t *testing.T, b *Broker) {
			sub, _ := connect(t, b, OpenRequest{Info: ClientInfo{Protocol: "mqtt-sn", ClientID: "sub"}})
			sub.sub(t, "t", topic.Options{QoS: 1})
			publishFrom(t, b, "coap", "t", 1, false, "hello world")
			ds := sub.pull()
			checkCounts(t, b, map[string][4]int64{"coap/1": {1, 0, 11, 0}})
			sub.Settle(ds[0].Tag, Accepted)
		},
		want: map[string][4]int64{"coap/1": {1, 0, 11, 0}, "mqtt-sn/1": {0, 1, 0, 11}},
	}, {
		name: "a QoS 1 delivery rejected counts nothing sent",
		run: func(t *testing.T, b *Broker) {
			sub, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "sub"}})
			sub.sub(t, "t", topic.Options{QoS: 1})
			publishFrom(t, b, "coap", "t", 1, false, "hello world")
			sub.Reject(&sub.pull()[0])
		},
		want: map[string][4]int64{"coap/1": {1, 0, 11, 0}},
	}, {
		name: "a QoS 2 delivery counts its bytes when held and the message when completed",
		run: func(t *testing.T, b *Broker) {
			sub, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "sub"}})
			sub.sub(t, "t", topic.Options{QoS: 2})
			publishFrom(t, b, "stomp", "t", 2, false, "thirteen byte")
			d := sub.pull()[0]
			if !sub.Hold(d.Tag) || !sub.Hold(d.Tag) {
				t.Fatal("not held")
			}
			// Held twice, counted once.
			checkCounts(t, b, map[string][4]int64{"stomp/2": {1, 0, 13, 0}, "mqtt/2": {0, 0, 0, 13}})
			if !sub.Complete(d.Tag) {
				t.Fatal("not completed")
			}
		},
		want: map[string][4]int64{"stomp/2": {1, 0, 13, 0}, "mqtt/2": {0, 1, 0, 13}},
	}, {
		name: "a message published at QoS 1 to a QoS 0 subscription counts sent at QoS 0",
		run: func(t *testing.T, b *Broker) {
			sub, _ := connect(t, b, OpenRequest{Info: ClientInfo{Protocol: "coap", ClientID: "sub"}})
			sub.sub(t, "t", topic.Options{})
			publishFrom(t, b, "http", "t", 1, false, "1234")
			sub.pull()
		},
		want: map[string][4]int64{"http/1": {1, 0, 4, 0}, "coap/0": {0, 1, 0, 4}},
	}, {
		name: "a retained message counts received when published and sent to each later subscriber",
		run: func(t *testing.T, b *Broker) {
			publishFrom(t, b, "http", "r", 1, true, "retained")
			for _, id := range []string{"a", "b"} {
				sub, _ := connect(t, b, OpenRequest{Info: ClientInfo{Protocol: "coap", ClientID: id}})
				sub.sub(t, "r", topic.Options{QoS: 1})
				ds := sub.pull()
				if len(ds) != 1 || !ds[0].Retain {
					t.Fatalf("deliveries %+v, want the retained message", ds)
				}
				sub.Settle(ds[0].Tag, Accepted)
			}
		},
		want: map[string][4]int64{"http/1": {1, 0, 8, 0}, "coap/1": {0, 2, 0, 16}},
	}, {
		name: "a QoS 0 delivery Reject takes back is no longer counted sent, nor its bytes",
		run: func(t *testing.T, b *Broker) {
			sub, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "sub"}})
			sub.sub(t, "t", topic.Options{})
			publishFrom(t, b, "coap", "t", 0, false, "kept")
			publishFrom(t, b, "coap", "t", 0, false, "too large")
			ds := sub.pull()
			if !sub.Reject(&ds[1]) {
				t.Fatal("Reject of a QoS 0 delivery reported false")
			}
		},
		want: map[string][4]int64{"coap/0": {2, 0, 13, 0}, "mqtt/0": {0, 1, 0, 4}},
	}, {
		// The tag alone does not say which message it was.
		name: "a QoS 0 delivery Settle rejects is no longer counted sent, its bytes still are",
		run: func(t *testing.T, b *Broker) {
			sub, _ := connect(t, b, OpenRequest{Info: ClientInfo{ClientID: "sub"}})
			sub.sub(t, "t", topic.Options{})
			publishFrom(t, b, "coap", "t", 0, false, "kept")
			publishFrom(t, b, "coap", "t", 0, false, "too large")
			ds := sub.pull()
			sub.Settle(ds[1].Tag, Rejected)
		},
		want: map[string][4]int64{"coap/0": {2, 0, 13, 0}, "mqtt/0": {0, 1, 0, 13}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBroker(t, Config{})
			tc.run(t, b)
			checkCounts(t, b, tc.want)
			var in, out int64
			for _, c := range tc.want {
				in, out = in+c[0], out+c[1]
			}
			if gin, gout := b.Stats().MessagesReceived.Load(), b.Stats().MessagesSent.Load(); gin != in || gout != out {
				t.Fatalf("message totals %d received, %d sent; want %d and %d: bytes must not count as messages", gin, gout, in, out)
			}
		})
	}
}

// TestMessageCountAndBytesShareACacheLine: the publish path adds to a
// message count and then to its bytes; the second add must not have to
// take a second cache line.
func TestMessageCountAndBytesShareACacheLine(t *testing.T) {
	const line = 64
	b := newBroker(t, Config{})
	for _, counts := range []*messageCounts{b.msgIn, b.msgOut} {
		for p := range counts {
			for q := range counts[p] {
				e := &counts[p][q]
				first, last := uintptr(unsafe.Pointer(&e.n)), uintptr(unsafe.Pointer(&e.bytes))+unsafe.Sizeof(e.bytes)-1
				if first/line != last/line {
					t.Fatalf("%s QoS %d: the count at %#x and its bytes end at %#x, in two cache lines", CountedProtocols[p], q, first, last)
				}
			}
		}
	}
}
