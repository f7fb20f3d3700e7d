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

// messageCounts counts messages and their payload bytes by protocol and
// QoS. They replace one broker-wide counter each way: the publish path adds
// to one entry as it did, and the totals are summed when read.
type messageCounts [nProtocols][3]messageCount

// messageCount is one protocol and QoS's messages and the bytes of their
// payloads. The publish path adds to both, so they share a cache line: 16
// bytes at a 16-byte offset in a messageCounts, which the Broker allocates
// on its own because Go starts an object of that size with no pointers on
// a 16-byte boundary (TestMessageCountAndBytesShareACacheLine).
type messageCount struct{ n, bytes atomic.Int64 }

func (c *messageCounts) add(proto uint32, qos byte, n, bytes int64) {
	e := &c[proto][min(qos, 2)]
	e.n.Add(n)
	e.bytes.Add(bytes)
}

// MessageTotal is a sum of message counters, read with Load like the
// other Stats counters.
type MessageTotal struct{ c *messageCounts }

// Load returns the sum.
func (t MessageTotal) Load() int64 {
	var n int64
	for i := range t.c {
		for q := range t.c[i] {
			n += t.c[i][q].n.Load()
		}
	}
	return n
}

// MessageCount is the messages of one protocol and QoS, and the bytes of
// their payloads (not the protocol's framing: Traffic counts that).
type MessageCount struct {
	Protocol                 string
	QoS                      byte
	Received, Sent           int64
	ReceivedBytes, SentBytes int64
}

// MessageCounts returns the messages received from and sent to clients of
// each protocol, by QoS (received: at the QoS published; sent: at the
// QoS delivered), with their payload bytes. Protocols with nothing either
// way are left out.
//
// The bytes of a QoS 2 delivery count when the client holds it (Hold),
// the message when it completes; a QoS 0 delivery rejected with Settle
// leaves its bytes counted, as Settle has no payload to take back (Reject
// has).
func (b *Broker) MessageCounts() []MessageCount {
	var out []MessageCount
	for i, p := range CountedProtocols {
		for q := range 3 {
			in, sent := &b.msgIn[i][q], &b.msgOut[i][q]
			c := MessageCount{Protocol: p, QoS: byte(q), Received: in.n.Load(), Sent: sent.n.Load(),
				ReceivedBytes: in.bytes.Load(), SentBytes: sent.bytes.Load()}
			if c.Received != 0 || c.Sent != 0 || c.ReceivedBytes != 0 || c.SentBytes != 0 {
				out = append(out, c)
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
