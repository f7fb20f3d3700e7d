package mqttsn

import (
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqgate/mqgate/adapters/mqttsn/packet"
)

// BenchmarkEndToEndPublishToMQTT measures MQTT-SN QoS 0 publishes (short
// topic, 16-byte payload) from one UDP client delivered to one MQTT
// subscriber, in bursts that wait for delivery so UDP loss cannot hide.
func BenchmarkEndToEndPublishToMQTT(b *testing.B) {
	e := startEnv(b)
	var got atomic.Int64
	c := e.mqttClient("bench-sub")
	if tok := c.Subscribe("bm", 0, func(paho.Client, paho.Message) { got.Add(1) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	r := e.raw()
	r.connect("bench-pub", true, 0)
	msg, _ := packet.Append(nil, &packet.Packet{Type: packet.PUBLISH, TopicIDType: packet.TopicShort, TopicID: packet.ShortTopic("bm"), Data: make([]byte, 16)})
	const burst = 64
	sent, lost := int64(0), int64(0)
	b.ResetTimer()
	start := time.Now()
	for sent < int64(b.N) {
		n := min(int64(burst), int64(b.N)-sent)
		for range n {
			r.sendBytes(msg)
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
