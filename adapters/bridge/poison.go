package bridge

import "time"

// poison finds a message that an upstream keeps closing the connection
// over (larger than its maximum packet size, QoS 2 or retain where it
// refuses them with a disconnect) and takes it out of the outbox, so that
// the messages behind it still go (checklist #8). A connection counts as
// a strike when it ended within poisonLife without a single
// acknowledgement and with the same oldest message unacknowledged. After
// two strikes the sender goes down to one message in flight, so that the
// message in flight is the one the upstream objects to; after two more
// it is dropped, counted and logged.
type poison struct {
	seq     uint64
	strikes int
	probing bool
}

const (
	poisonLife    = 10 * time.Second
	poisonProbe   = 2
	poisonStrikes = 4
)

func (p *poison) connectionEnded(br *Bridge, res sendResult, life time.Duration) {
	if res.acked > 0 || res.head == 0 || life > poisonLife {
		*p = poison{}
		return
	}
	if res.head != p.seq {
		*p = poison{seq: res.head}
	}
	p.strikes++
	if p.strikes >= poisonProbe {
		p.probing = true
	}
	if p.strikes < poisonStrikes {
		return
	}
	if m, _, err := br.ob.peek(p.seq, 1); err == nil && len(m) == 1 && m[0].Seq == p.seq {
		br.log.Error("bridge dropped a message the upstream closed the connection over several times in a row",
			"topic", m[0].Message.Topic, "bytes", len(m[0].Message.Payload), "qos", m[0].Message.QoS, "retain", m[0].Message.Retain)
	}
	br.ob.remove(p.seq)
	br.ob.countDrop()
	*p = poison{}
}
