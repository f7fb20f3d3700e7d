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
