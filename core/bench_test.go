package core

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/topic"
)

// drainEvery is how many publishes a benchmark lets queue up before it
// pulls the subscribers dry, as an adapter's writer would.
const drainEvery = 64

func benchSubscribers(b *testing.B, br *Broker, n int, filter func(i int) string, qos byte) []*Client {
	b.Helper()
	cs := make([]*Client, n)
	for i := range cs {
		c, _, err := br.open(&OpenRequest{Info: ClientInfo{ClientID: fmt.Sprint("sub-", i)}, Conn: nullConn{}})
		if err != nil {
			b.Fatal(err)
		}
		res := c.Subscribe(context.Background(), []SubscribeRequest{{Filter: filter(i), Options: topic.Options{QoS: qos}}}, nil)
		if res[0].Code.Failed() {
			b.Fatalf("subscribe: %v", res[0].Code)
		}
		cs[i] = c
	}
	return cs
}

func drain(cs []*Client, ds []Delivery) []Delivery {
	for _, c := range cs {
		ds = c.Pull(ds[:0], 1<<20)
		for i := range ds {
			if ds[i].Tag != 0 {
				c.Settle(ds[i].Tag, Accepted)
			}
			ds[i] = Delivery{}
		}
	}
	return ds
}

// BenchmarkPublishFanout publishes one message to N subscriber sessions.
// msgs/s counts published messages, deliveries/s the copies queued.
func BenchmarkPublishFanout(b *testing.B) {
	for _, n := range []int{1, 1000} {
		for _, qos := range []byte{0, 1} {
			b.Run(fmt.Sprintf("subs=%d/qos=%d", n, qos), func(b *testing.B) {
				br := NewBroker(Config{AllowAnonymous: true, MaxInflight: 65535, MaxQueued: 4 * drainEvery})
				defer br.Close()
				cs := benchSubscribers(b, br, n, func(int) string { return "bench/fanout/+" }, qos)
				m := &Message{Topic: "bench/fanout/t", QoS: qos, Payload: make([]byte, 64)}
				var ds []Delivery
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i++ {
					if got := br.inject(m); got != n {
						b.Fatalf("delivered to %d, want %d", got, n)
					}
					if i%drainEvery == drainEvery-1 {
						ds = drain(cs, ds)
					}
				}
				el := time.Since(start).Seconds()
				b.ReportMetric(float64(b.N)/el, "msgs/s")
				b.ReportMetric(float64(b.N)*float64(n)/el, "deliveries/s")
			})
		}
	}
}

// BenchmarkPublishParallel publishes from many goroutines, each to its own
// subscriber's topic, with that subscriber drained by the same goroutine.
// Run with -cpu 1,2,4 to see the publish path scale: there is no broker-wide
// lock on it.
func BenchmarkPublishParallel(b *testing.B) {
	const sessions = 64
	br := NewBroker(Config{AllowAnonymous: true, MaxQueued: 4 * drainEvery})
	defer br.Close()
	cs := benchSubscribers(b, br, sessions, func(i int) string { return fmt.Sprintf("bench/par/%d/+", i) }, 0)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)-1) % sessions
		m := &Message{Topic: fmt.Sprintf("bench/par/%d/t", i), Payload: make([]byte, 64)}
		own := cs[i : i+1]
		var ds []Delivery
		for n := 0; pb.Next(); n++ {
			br.inject(m)
			if n%drainEvery == drainEvery-1 {
				ds = drain(own, ds)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
