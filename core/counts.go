package core

import "sync/atomic"

// CountedProtocols are the protocols the core counts messages for, by
// ClientInfo.Protocol; every other one counts as "other".
var CountedProtocols = [...]string{"mqtt", "mqtt-sn", "coap", "stomp", "bridge", "http", "other"}

const nProtocols = len(CountedProtocols)

// protoIndex returns p's index in CountedProtocols.
func protoIndex(p string) uint32 {
	switch p {
	case "mqtt":
		return 0
	case "mqtt-sn":
		return 1
	case "coap":
		return 2
	case "stomp":
		return 3
	case "bridge":
		return 4
	case "http":
		return 5
	}
	return uint32(nProtocols - 1)
}

// messageCounts counts messages by protocol and QoS. They replace one
// broker-wide counter each way: the publish path adds to one counter as
// it did, and the totals are summed when read.
type messageCounts [nProtocols][3]atomic.Int64

func (c *messageCounts) add(proto uint32, qos byte, n int64) {
	c[proto][min(qos, 2)].Add(n)
}

// MessageTotal is a sum of message counters, read with Load like the
// other Stats counters.
type MessageTotal struct{ c *messageCounts }

// Load returns the sum.
func (t MessageTotal) Load() int64 {
	var n int64
	for i := range t.c {
		for q := range t.c[i] {
			n += t.c[i][q].Load()
		}
	}
	return n
}

// MessageCount is the messages of one protocol and QoS.
type MessageCount struct {
	Protocol       string
	QoS            byte
	Received, Sent int64
}

// MessageCounts returns the messages received from and sent to clients of
// each protocol, by QoS (received: at the QoS published; sent: at the
// QoS delivered). Protocols with nothing either way are left out.
func (b *Broker) MessageCounts() []MessageCount {
	var out []MessageCount
	for i, p := range CountedProtocols {
		for q := range 3 {
			in, sent := b.msgIn[i][q].Load(), b.msgOut[i][q].Load()
			if in != 0 || sent != 0 {
				out = append(out, MessageCount{Protocol: p, QoS: byte(q), Received: in, Sent: sent})
			}
		}
	}
	return out
}

// Traffic counts the bytes one protocol's adapter reads from and writes to
// its clients' connections; Broker.Traffic hands it out. Its counters are
// the protocol's own, so adapters do not share one.
type Traffic struct{ in, out *atomic.Int64 }

// Traffic returns the byte counters of protocol (see CountedProtocols).
func (b *Broker) Traffic(protocol string) Traffic {
	i := protoIndex(protocol)
	return Traffic{&b.bytesIn[i], &b.bytesOut[i]}
}

// Received counts n bytes read.
func (t Traffic) Received(n int) { t.in.Add(int64(n)) }

// Sent counts n bytes written.
func (t Traffic) Sent(n int) { t.out.Add(int64(n)) }

// ByteTotal is the sum of the protocols' byte counters, read with Load
// like the other Stats counters.
type ByteTotal struct{ c *[nProtocols]atomic.Int64 }

// Load returns the sum.
func (t ByteTotal) Load() int64 {
	var n int64
	for i := range t.c {
		n += t.c[i].Load()
	}
	return n
}

// ByteCount is the bytes of one protocol.
type ByteCount struct {
	Protocol       string
	Received, Sent int64
}

// ByteCounts returns the bytes read and written by each protocol's
// adapter; protocols with none either way are left out.
func (b *Broker) ByteCounts() []ByteCount {
	var out []ByteCount
	for i, p := range CountedProtocols {
		in, sent := b.bytesIn[i].Load(), b.bytesOut[i].Load()
		if in != 0 || sent != 0 {
			out = append(out, ByteCount{Protocol: p, Received: in, Sent: sent})
		}
	}
	return out
}
