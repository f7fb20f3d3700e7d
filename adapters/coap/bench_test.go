package coap

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// BenchmarkEndToEndPublishToMQTT measures CoAP NON publishes (16-byte
// payload) from one UDP client delivered to one MQTT subscriber at QoS 0,
// in bursts that wait for delivery so UDP loss cannot hide.
func BenchmarkEndToEndPublishToMQTT(b *testing.B) {
	e := startEnv(b)
	var got atomic.Int64
	c := e.mqttClient("bench-sub")
	if tok := c.Subscribe("bm", 0, func(paho.Client, paho.Message) { got.Add(1) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	r := e.raw()
	const burst = 64
	sent, lost := int64(0), int64(0)
	b.ResetTimer()
	start := time.Now()
	for sent < int64(b.N) {
		n := min(int64(burst), int64(b.N)-sent)
		for i := range n {
			r.send(rawRequest(message.NonConfirmable, codes.POST, uint16(sent+i), nil, pathOpts("ps", "bm"), make([]byte, 16)))
		}
		sent += n
		deadline := time.Now().Add(time.Second)
		for got.Load()+lost < sent && time.Now().Before(deadline) {
			time.Sleep(20 * time.Microsecond)
		}
		if d := sent - lost - got.Load(); d > 0 {
			lost += d
		}
	}
	el := time.Since(start)
	b.ReportMetric(float64(got.Load())/el.Seconds(), "msgs/s")
	b.ReportMetric(float64(lost), "lost")
}

// BenchmarkNotificationsTo1000Observers measures NON notifications (QoS 0,
// 16-byte payload) from MQTT publishes to 1,000 observers of one topic,
// each on its own UDP socket, counting the notifications that arrive.
func BenchmarkNotificationsTo1000Observers(b *testing.B) {
	e := startEnv(b)
	const observers = 1000
	var got atomic.Int64
	ua, _ := net.ResolveUDPAddr("udp", e.addr)
	for i := range observers {
		conn, err := net.DialUDP("udp", nil, ua)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close() })
		conn.Write(rawRequest(message.Confirmable, codes.GET, uint16(i), []byte{1}, append(message.Options{{ID: message.Observe}}, pathOpts("ps", "fan")...), nil))
		buf := make([]byte, 256)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Read(buf); err != nil {
			b.Fatalf("observer %d: %v", i, err)
		}
		conn.SetReadDeadline(time.Time{})
		go func() {
			buf := make([]byte, 256)
			for {
				if _, err := conn.Read(buf); err != nil {
					return
				}
				got.Add(1)
			}
		}()
	}
	pub := e.mqttClient("bench-pub")
	payload := make([]byte, 16)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if tok := pub.Publish("fan", 0, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			b.Fatal(tok.Error())
		}
		want := int64(i+1) * observers
		deadline := time.Now().Add(time.Second)
		for got.Load() < want && time.Now().Before(deadline) {
			time.Sleep(50 * time.Microsecond)
		}
	}
	el := time.Since(start)
	b.ReportMetric(float64(got.Load())/el.Seconds(), "notifications/s")
	b.ReportMetric(float64(int64(b.N)*observers-got.Load()), "lost")
}
