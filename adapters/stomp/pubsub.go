package stomp

import (
	"context"
	"slices"
	"strconv"

	"github.com/mqgate/mqgate/adapters/stomp/frame"
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/topic"
)

// reserved are the headers a SEND cannot pass on to consumers: the
// server sets them on MESSAGE frames, or they steer the SEND itself.
// Passing a publisher's message-id, subscription or ack would let it
// make consumers acknowledge the wrong delivery.
var reserved = map[string]bool{
	"destination": true, "content-length": true, "content-type": true, "receipt": true,
	"transaction": true, "qos": true, "retain": true, "message-id": true, "subscription": true,
	"ack": true, "redelivered": true, "id": true,
}

// handleSend publishes a SEND's body to its destination's topic. QoS is
// 1 unless a qos header (0, 1 or 2) says otherwise; retain:true retains
// it; content-type is the MQTT 5 content type and every other
// application header travels as a user property. The RECEIPT follows
// the routing.
func (c *conn) handleSend(f *frame.Frame) error {
	t, err := topicFor(c.srv.cfg.Destinations, f.Get("destination"), false)
	if err != nil {
		return protoErr("%v", err)
	}
	m := core.NewMessage(t, f.Body)
	m.QoS = 1
	if q, ok := f.Value("qos"); ok {
		if len(q) != 1 || q[0] < '0' || q[0] > '2' {
			return protoErr("qos header must be 0, 1 or 2")
		}
		m.QoS = q[0] - '0'
	}
	m.Retain = f.Get("retain") == "true"
	m.ContentType = f.Get("content-type")
	for i, h := range f.Headers {
		if reserved[string(h.Name)] || firstSeenBefore(f, i) {
			continue
		}
		m.UserProperties = append(m.UserProperties, core.UserProperty{Key: string(h.Name), Value: string(h.Value)})
	}
	tx, err := c.inTx(f)
	if err != nil {
		return err
	}
	if tx != nil {
		if c.txBytes+len(m.Payload) > c.srv.cfg.MaxTransactionBytes {
			return protoErr("transactions hold too many bytes (at most %d)", c.srv.cfg.MaxTransactionBytes)
		}
		tx.ops = append(tx.ops, txOp{msg: m})
		tx.bytes += len(m.Payload)
		c.txBytes += len(m.Payload)
	} else if err := c.publish(m); err != nil {
		return err
	}
	c.receipt(valueOrNil(f, "receipt"))
	return nil
}

// firstSeenBefore says header i repeats an earlier name: the first one
// wins [STOMP 1.2 Repeated Header Entries].
func firstSeenBefore(f *frame.Frame, i int) bool {
	for j := range i {
		if string(f.Headers[j].Name) == string(f.Headers[i].Name) {
			return true
		}
	}
	return false
}

func (c *conn) publish(m *core.Message) error {
	dest := m.Topic
	if code := c.client.Publish(context.Background(), m); code.Failed() {
		return &errProtocol{msg: code.String(), detail: "SEND to " + strconv.Quote(dest) + " refused"}
	}
	return nil
}

// handleSubscribe adds a Separate subscription keyed by the STOMP id, so
// each subscription gets its own MESSAGE also when two overlap. ack:auto
// subscribes at QoS 0; client and client-individual at QoS 1, whose
// deliveries wait for ACK or NACK.
func (c *conn) handleSubscribe(f *frame.Frame) error {
	dest := f.Get("destination")
	id := f.Get("id")
	if id == "" {
		if c.version >= frame.V11 {
			return protoErr("SUBSCRIBE without an id header")
		}
		id = dest // [STOMP 1.0] the id is optional
	}
	if c.subs[id] {
		return protoErr("subscription id %q is in use", id)
	}
	if len(c.subs) >= c.srv.cfg.MaxSubscriptions {
		return protoErr("too many subscriptions (at most %d)", c.srv.cfg.MaxSubscriptions)
	}
	mode := ackAuto
	switch f.Get("ack") {
	case "", "auto":
	case "client":
		mode = ackClient
	case "client-individual":
		mode = ackIndividual
	default:
		return protoErr("unknown ack mode %q", f.Get("ack"))
	}
	prefetch := 0
	if v, ok := f.Value("prefetch-count"); ok {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 0 || n > 65535 || len(v) > 5 {
			return protoErr("prefetch-count must be a number from 0 to 65535")
		}
		prefetch = n
	}
	filter, err := topicFor(c.srv.cfg.Destinations, dest, true)
	if err != nil {
		return protoErr("%v", err)
	}
	reqs := []core.SubscribeRequest{{Key: id, Filter: filter, Options: topic.Options{
		QoS: min(byte(mode-1), 1), SubscriptionID: mode, Separate: true,
	}}}
	res := c.client.Subscribe(context.Background(), reqs, nil)
	if res[0].Code.Failed() {
		return &errProtocol{msg: res[0].Code.String(), detail: "SUBSCRIBE to " + strconv.Quote(dest) + " refused"}
	}
	if c.subs == nil {
		c.subs = map[string]bool{}
	}
	c.subs[id] = true
	if prefetch > 0 && mode != ackAuto {
		c.mu.Lock()
		if c.prefetch == nil {
			c.prefetch = map[string]int{}
		}
		c.prefetch[id] = prefetch
		c.mu.Unlock()
	}
	c.receipt(valueOrNil(f, "receipt"))
	c.client.SendRetained(reqs, res)
	return nil
}

// handleUnsubscribe ends a subscription, also one a durable session kept
// from an earlier connection; an unknown id is not an error. Its
// deliveries still waiting for ACK are rejected.
func (c *conn) handleUnsubscribe(f *frame.Frame) error {
	id := f.Get("id")
	if id == "" && c.version == frame.V10 {
		id = f.Get("destination")
	}
	if id == "" {
		return protoErr("UNSUBSCRIBE without an id header")
	}
	delete(c.subs, id)
	c.client.UnsubscribeKey(id)
	c.mu.Lock()
	var drop []uint16
	for _, d := range c.held[id] {
		drop = append(drop, d.Tag)
	}
	delete(c.held, id)
	delete(c.prefetch, id)
	c.pending = slices.DeleteFunc(c.pending, func(p pend) bool {
		if p.sub == id {
			drop = append(drop, p.tag)
			return true
		}
		return false
	})
	c.mu.Unlock()
	for _, tag := range drop {
		c.client.Settle(tag, core.Rejected)
	}
	c.receipt(valueOrNil(f, "receipt"))
	return nil
}

// handleAck serves ACK and NACK. 1.2 names the message by the id header
// (the MESSAGE's ack header); 1.0 and 1.1 by message-id.
func (c *conn) handleAck(f *frame.Frame) error {
	name := "message-id"
	if c.version >= frame.V12 {
		name = "id"
	}
	id, ok := f.Value(name)
	if !ok {
		return protoErr("%s without an %s header", f.Command, name)
	}
	nack := f.Command == frame.NACK
	tx, err := c.inTx(f)
	if err != nil {
		return err
	}
	if tx != nil {
		tx.ops = append(tx.ops, txOp{nack: nack, id: string(id)})
	} else if err := c.settle(string(id), nack); err != nil {
		return err
	}
	c.receipt(valueOrNil(f, "receipt"))
	return nil
}

// settle acknowledges (or, nack, requeues) the delivery id: with ack
// mode client, every earlier delivery of its subscription too. An id
// this connection never handed out is an error; one already settled, or
// of a delivery that needs no ACK, is ignored.
func (c *conn) settle(id string, nack bool) error {
	seq, err := strconv.ParseUint(id, 10, 64)
	c.mu.Lock()
	if err != nil || seq == 0 || seq > c.seq {
		c.mu.Unlock()
		return protoErr("no message %q was sent on this connection", id)
	}
	i, found := slices.BinarySearchFunc(c.pending, seq, func(p pend, s uint64) int {
		switch {
		case p.seq < s:
			return -1
		case p.seq > s:
			return 1
		}
		return 0
	})
	if !found {
		c.mu.Unlock()
		return nil
	}
	target := c.pending[i]
	var tags []uint16
	if target.mode == ackClient {
		c.pending = slices.DeleteFunc(c.pending, func(p pend) bool {
			if p.sub == target.sub && p.seq <= seq {
				tags = append(tags, p.tag)
				return true
			}
			return false
		})
	} else {
		tags = append(tags, target.tag)
		c.pending = slices.Delete(c.pending, i, i+1)
	}
	wake := len(c.held) > 0
	c.mu.Unlock()
	if wake {
		c.Notify() // held deliveries may have room now
	}
	o := core.Accepted
	if nack {
		o = core.Requeued
		slices.Reverse(tags) // requeued to the front: the oldest last
	}
	for _, tag := range tags {
		c.client.Settle(tag, o)
	}
	return nil
}
