package mqtt_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/mqgate/mqgate/adapters/mqtt"
	"github.com/mqgate/mqgate/adapters/mqtt/packet"
	"github.com/mqgate/mqgate/core"
)

// BenchmarkEndToEndPublish measures QoS 0 publishes over TCP from one
// publisher to 1 and to 1000 subscribers, through the whole broker. One op
// is one message delivered to every subscriber.
func BenchmarkEndToEndPublish(b *testing.B) {
	for _, subs := range []int{1, 1000} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			benchFanout(b, subs)
		})
	}
}

func benchFanout(b *testing.B, nsubs int) {
	ts := startBenchServer(b)
	payload := make([]byte, 64)
	pubPkt, _ := packet.Append(nil, &packet.Packet{Type: packet.PUBLISH, Topic: []byte("bench/x"), Payload: payload}, packet.V311)

	var wg sync.WaitGroup
	conns := make([]net.Conn, nsubs)
	for i := range conns {
		nc := benchConnect(b, ts, fmt.Sprintf("s%d", i))
		sub, _ := packet.Append(nil, &packet.Packet{Type: packet.SUBSCRIBE, Flags: 2, PacketID: 1,
			Subscriptions: []packet.Subscription{{Filter: "bench/+"}}}, packet.V311)
		nc.Write(sub)
		readPackets(b, nc, 1) // SUBACK
		conns[i] = nc
	}
	pub := benchConnect(b, ts, "pub")
	b.SetBytes(int64(len(pubPkt)))
	b.ReportAllocs()
	b.ResetTimer()
	for _, nc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			readPackets(b, nc, b.N)
		}()
	}
	w := bufio.NewWriterSize(pub, 64*1024)
	for range b.N {
		w.Write(pubPkt)
	}
	w.Flush()
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N*nsubs)/b.Elapsed().Seconds(), "deliveries/s")
	for _, nc := range conns {
		nc.Close()
	}
	pub.Close()
}

func startBenchServer(b *testing.B) *testServer {
	return startServer(b, func(bc *core.Config, _ *mqtt.Config) {
		bc.MaxQueued, bc.MaxQueuedBytes = 1<<20, 1<<30
	})
}

func benchConnect(b *testing.B, ts *testServer, id string) net.Conn {
	nc, err := net.Dial("tcp", ts.tcp())
	if err != nil {
		b.Fatal(err)
	}
	c, _ := packet.Append(nil, &packet.Packet{Type: packet.CONNECT, ProtocolName: "MQTT", Version: 4, CleanStart: true, ClientID: id}, packet.V311)
	nc.Write(c)
	readPackets(b, nc, 1)
	return nc
}

// readPackets reads n whole packets from nc without decoding their bodies.
func readPackets(b *testing.B, nc net.Conn, n int) {
	r := bufio.NewReaderSize(nc, 64*1024)
	var hdr [5]byte
	for i := 0; i < n; i++ {
		if _, err := io.ReadFull(r, hdr[:2]); err != nil {
			b.Errorf("read: %v", err)
			return
		}
		l, mult, k := int(hdr[1]&0x7f), 128, 1
		for hdr[k]&0x80 != 0 {
			k++
			c, err := r.ReadByte()
			if err != nil {
				b.Errorf("read: %v", err)
				return
			}
			hdr[k] = c
			l += int(c&0x7f) * mult
			mult *= 128
		}
		if _, err := r.Discard(l); err != nil {
			b.Errorf("read: %v", err)
			return
		}
	}
}
