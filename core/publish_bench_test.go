package core

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkClientPublish publishes through Client.Publish, the path an
// adapter takes, with its checks and the received counts that inject
// skips, to one subscriber.
func BenchmarkClientPublish(b *testing.B) {
	for _, qos := range []byte{0, 1} {
		b.Run(fmt.Sprintf("qos=%d", qos), func(b *testing.B) {
			br := NewBroker(Config{AllowAnonymous: true, MaxInflight: 65535, MaxQueued: 4 * drainEvery})
			defer br.Close()
			cs := benchSubscribers(b, br, 1, func(int) string { return "bench/pub/+" }, qos)
			pub, _, err := br.open(&OpenRequest{Info: ClientInfo{ClientID: "pub", Protocol: "mqtt"}, Conn: nullConn{}})
			if err != nil {
				b.Fatal(err)
			}
			m := &Message{Topic: "bench/pub/t", QoS: qos, Payload: make([]byte, 64)}
			ctx := context.Background()
			var ds []Delivery
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if code := pub.Publish(ctx, m); code.Failed() {
					b.Fatal(code)
				}
				if i%drainEvery == drainEvery-1 {
					ds = drain(cs, ds)
				}
			}
		})
	}
}
