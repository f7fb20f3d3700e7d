package core

import (
	"context"
	"strings"
	"time"

	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/topic"
)

// Client is one connection's handle on its session. Adapters call its
// methods from the connection's goroutines; once the session is taken over
// or the connection has disconnected, every method is a harmless no-op.
type Client struct {
	b    *Broker
	s    *session
	gen  uint64
	Info ClientInfo
}

// Delivery is one message for the adapter to send, or, with Held set, a
// held delivery whose settlement the adapter finishes after a reconnect
// (MQTT resends PUBREL).
type Delivery struct {
	Msg    *Message // nil when Held
	Topic  string   // Msg.Topic without the client's mountpoint
	QoS    byte
	Retain bool
	// Tag names the delivery until it is settled: a number from 1 to
	// 65535, unique among the session's unsettled deliveries and the same
	// when the delivery is handed out again after a reconnect or a
	// restart (MQTT uses it as the packet identifier [MQTT-4.4.0-1]). 0
	// for QoS 0, which is not settled.
	Tag uint16
	// Redelivered counts the earlier times this message was handed out to
	// the session (a reconnect, a restart, a Requeued settlement); MQTT
	// sets DUP when it is not 0.
	Redelivered int
	// Held: the client has the message and its tag awaits Settle.
	Held   bool
	SubIDs []uint32
	// Key is the subscription key of a delivery to a Separate
	// subscription; empty for a merged delivery.
	Key string
}

// lock locks the session and reports whether this handle is still current.
// On false the session is already unlocked.
func (c *Client) lock() bool {
	c.s.mu.Lock()
	if c.s.gen != c.gen {
		c.s.mu.Unlock()
		return false
	}
	return true
}

// ValidateTopic checks a topic name against the broker's rules.
func (c *Client) ValidateTopic(name string) error {
	return topic.ValidateName(name, c.b.cfg.MaxTopicLevels)
}

// Publish authorizes and routes a message from this client. m.Topic is
// the topic as the client sent it; the mountpoint is added here. QoS 2
// publishes go through PublishQoS2 instead so duplicates are caught. When
// it returns, a QoS 1/2 message is durable in the store for every
// persistent session it was queued for, so the adapter may acknowledge it.
func (c *Client) Publish(ctx context.Context, m *Message) Code {
	d := durable{wake: wakeupsFrom(ctx)}
	code := c.publish(ctx, m, &d)
	if err := c.b.settle(&d); err != nil && !code.Failed() {
		return UnspecifiedError
	}
	return code
}

func (c *Client) publish(ctx context.Context, m *Message, d *durable) Code {
	if !c.lock() {
		// Taken over or disconnected: the connection is going away and
		// its session is no longer its own to publish from.
		return UnspecifiedError
	}
	c.s.mu.Unlock()
	code, _ := c.b.checkedPublish(ctx, &c.Info, c.s, m, d)
	return code
}

// PublishQoS2 handles an inbound QoS 2 PUBLISH with packet id id. The
// message is routed on first receipt and the id remembered until PUBREL, so
// a retransmission (DUP) is acknowledged again but never delivered twice
// [MQTT-4.3.3-10]. dup reports such a retransmission. ReceiveMaximumExceeded
// means the client exceeded the server's Receive Maximum [MQTT-3.3.4-7].
func (c *Client) PublishQoS2(ctx context.Context, id uint16, m *Message) (code Code, dup bool) {
	if !c.lock() {
		return ImplementationError, false
	}
	if _, ok := c.s.inbound[id]; ok {
		c.s.mu.Unlock()
		return Success, true
	}
	if len(c.s.inbound) >= c.b.cfg.MaxInboundQoS2 {
		c.s.mu.Unlock()
		return ReceiveMaximumExceeded, false
	}
	d := durable{wake: wakeupsFrom(ctx)}
	persist := c.s.persist
	if persist {
		// The id is written before the message is routed, and synced with
		// it before PUBREC, so a PUBLISH retransmitted after a restart is
		// not delivered twice.
		if err := c.b.store.Inbound().Add(c.s.key.store(), id, false); err != nil {
			c.s.storeErr("inbound add", err)
			c.s.mu.Unlock()
			return UnspecifiedError, false
		}
		d.dirty = true
	}
	c.s.mu.Unlock()
	code = c.publish(ctx, m, &d)
	if err := c.b.settle(&d); err != nil && !code.Failed() {
		code = UnspecifiedError
	}
	if code.Failed() {
		// A refused QoS 2 publish ends its exchange with the PUBREC.
		if persist && c.lock() {
			if c.s.persist {
				c.s.storeErr("inbound remove", c.b.store.Inbound().Remove(c.s.key.store(), id))
			}
			c.s.mu.Unlock()
		}
		return code, false
	}
	if c.lock() {
		c.s.addInboundLocked(id)
		c.s.mu.Unlock()
	}
	return code, false
}

// Release handles PUBREL for an inbound QoS 2 message. It reports whether
// the id was known; the adapter answers PUBCOMP either way (0x92 when not).
func (c *Client) Release(id uint16) bool {
	if !c.lock() {
		return false
	}
	_, ok := c.s.inbound[id]
	delete(c.s.inbound, id)
	if len(c.s.inbound) == 0 {
		c.s.closeInboundLocked()
	}
	if ok && c.s.persist {
		c.s.storeErr("inbound remove", c.b.store.Inbound().Remove(c.s.key.store(), id))
	}
	c.s.mu.Unlock()
	return ok
}

// Outcome is how a delivery was settled.
type Outcome byte

// Settlement outcomes.
const (
	// Accepted: the client has the message; the delivery is done.
	Accepted Outcome = iota
	// Rejected: the client refused the message or it could not be sent
	// to it; it is dropped and counted.
	Rejected
	// Requeued: the message goes back to the front of the session's
	// queue, to be handed out again with Redelivered incremented (STOMP
	// NACK, a CoAP reset, an upstream that refused a bridged message).
	Requeued
)

// Settle ends the delivery tagged tag with outcome o and frees the tag. A
// QoS 2 delivery is accepted in two steps instead, Hold and then
// Complete, so its tag stays reserved in between; it can still be
// rejected or requeued until it is held. Settling tag 0 (a QoS 0
// delivery) counts a Rejected one dropped and not sent, and does nothing
// else; its payload bytes stay counted sent, as the tag does not say which
// message it was (Reject takes them back). It reports whether the tag
// named a delivery that could be settled so; the adapter answers a false
// report as its protocol says (MQTT ignores it).
func (c *Client) Settle(tag uint16, o Outcome) bool {
	if tag == 0 {
		if o == Rejected {
			c.unsend(nil)
		}
		return o != Requeued
	}
	if !c.lock() {
		return false
	}
	s := c.s
	om, ok := s.inflight[tag]
	if !ok {
		s.mu.Unlock()
		return false
	}
	if om.state == outReleased || o == Accepted && om.qos == 2 {
		s.mu.Unlock()
		return false
	}
	if o == Requeued {
		s.requeueAndUnlock(om)
		return true
	}
	if o == Rejected {
		s.drop(om.msg, DropRejected)
	}
	s.freeAndUnlock(om, o == Accepted)
	return true
}

// Reject settles d Rejected, as Settle(d.Tag, Rejected) does; for a QoS 0
// delivery it also takes the payload bytes Pull counted sent back out of
// MessageCounts, which Settle, given only the tag 0, cannot.
func (c *Client) Reject(d *Delivery) bool {
	if d.Tag != 0 {
		return c.Settle(d.Tag, Rejected)
	}
	c.unsend(d.Msg)
	return true
}

// unsend counts dropped a QoS 0 delivery that Pull counted sent and the
// connection did not send, and takes it out of the sent counts, with m's
// payload bytes when m is known.
func (c *Client) unsend(m *Message) {
	var bytes int64
	if m != nil {
		bytes = int64(len(m.Payload))
	}
	c.b.msgOut.add(c.s.proto.Load(), 0, -1, -bytes)
	c.s.drop(m, DropRejected)
}

// Hold records that the client has the QoS 2 delivery tag (MQTT PUBREC):
// the message is no longer needed, and the tag stays reserved until
// Complete. After a reconnect or restart a held delivery is handed out
// again with Held set. It reports whether tag names a QoS 2 delivery,
// held before or not.
func (c *Client) Hold(tag uint16) bool {
	if !c.lock() {
		return false
	}
	s := c.s
	om, ok := s.inflight[tag]
	if !ok || om.qos != 2 {
		s.mu.Unlock()
		return false
	}
	if s.stamp {
		om.handedAt = time.Now().UnixNano()
	}
	if om.state != outReleased {
		om.state = outReleased
		// The message is no longer needed, so its payload bytes count
		// sent now; the message counts at Complete.
		s.b.msgOut.add(s.proto.Load(), 2, 0, int64(len(om.msg.Payload)))
		om.msg = nil
		if s.persist && om.seq != 0 {
			s.storeErr("queue state", s.b.store.Queues().SetState(s.key.store(), om.seq, store.Released))
		}
	}
	s.mu.Unlock()
	return true
}

// Complete accepts a held delivery (MQTT PUBCOMP) and frees its tag. It
// reports whether tag named a held delivery.
func (c *Client) Complete(tag uint16) bool {
	if !c.lock() {
		return false
	}
	s := c.s
	om, ok := s.inflight[tag]
	if !ok || om.state != outReleased {
		s.mu.Unlock()
		return false
	}
	s.freeAndUnlock(om, true)
	return true
}

// Redeliver marks the unsettled deliveries last handed out (or held) at
// or before olderThan due again, for a session opened with Retransmit;
// the next Pull hands them out again with the same tags and Redelivered
// raised, held ones with Held set. It returns how many it marked.
func (c *Client) Redeliver(olderThan time.Time) int {
	if !c.lock() {
		return 0
	}
	s := c.s
	n := 0
	for _, om := range s.order {
		if om.done || om.due || om.handedAt > olderThan.UnixNano() {
			continue
		}
		om.due = true
		n++
	}
	s.due += n
	s.mu.Unlock()
	return n
}

// Unsettled returns the number of deliveries handed out and not yet
// settled.
func (c *Client) Unsettled() int {
	if !c.lock() {
		return 0
	}
	n := len(c.s.inflight)
	c.s.mu.Unlock()
	return n
}

// freeAndUnlock frees an inflight entry, unlocks the session and, if
// messages wait for the window slot just freed, notifies the connection.
// sent counts the message delivered, with its payload bytes unless Hold
// counted them.
func (s *session) freeAndUnlock(om *outMsg, sent bool) {
	qos := om.qos
	var bytes int64
	if om.msg != nil {
		bytes = int64(len(om.msg.Payload))
	}
	s.freeLocked(om)
	if sent {
		s.b.msgOut.add(s.proto.Load(), qos, 1, bytes)
	}
	s.unlockNotify()
}

// unlockNotify unlocks the session and notifies the connection if
// messages wait.
func (s *session) unlockNotify() {
	more := s.queue.len() > 0
	conn := s.conn
	s.mu.Unlock()
	if more && conn != nil {
		conn.Notify()
	}
}

func (s *session) freeLocked(om *outMsg) {
	s.removeLocked(om.seq)
	s.releaseLocked(om)
}

// releaseLocked takes om out of the inflight window; its store entry is
// the caller's.
func (s *session) releaseLocked(om *outMsg) {
	delete(s.inflight, om.id)
	om.done = true
	s.pruneOrderLocked()
	if len(s.inflight) == 0 && len(s.order) == 0 {
		// An idle session keeps no inflight memory.
		s.closeInflightLocked()
	}
}

// requeueAndUnlock puts an inflight message back at the front of the
// queue, to be handed out again under a new tag.
func (s *session) requeueAndUnlock(om *outMsg) {
	q := om.queued
	s.releaseLocked(om)
	if q.seq != 0 && s.persist {
		s.storeErr("queue state", s.b.store.Queues().SetState(s.key.store(), q.seq, store.Queued))
	}
	if sub := q.sub; sub != nil {
		switch {
		case sub.gone:
			// Its subscription went while the client had it.
			s.removeLocked(q.seq)
			s.drop(q.msg, DropUnsubscribed)
			s.unlockNotify()
			return
		case sub.queue == QueueLatest && sub.waiting:
			// A newer value waits already: the requeued one is stale.
			s.removeLocked(q.seq)
			s.drop(q.msg, DropSuperseded)
			s.unlockNotify()
			return
		case sub.queue == QueueLatest:
			// It is the subscription's latest value again.
			sub.latest, sub.waiting = q, true
			s.queue.pushFront(queued{sub: sub, marker: true})
			s.queuedBytes += q.msg.size()
			s.unlockNotify()
			return
		}
	}
	s.queue.pushFront(q)
	s.queuedBytes += q.msg.size()
	s.unlockNotify()
}

// Pull appends to out the packets to write next: after a reconnect the
// unsettled deliveries again, in the order first handed out (a message
// with Redelivered raised, or a held delivery) [MQTT-4.4.0-1], and those
// Redeliver marked due; then queued messages while the inflight window
// has room. It appends at most max queued messages; redeliveries are
// appended whole. Expired messages it discards do not count against max.
func (c *Client) Pull(out []Delivery, max int) []Delivery {
	if !c.lock() {
		return out
	}
	s := c.s
	mp := c.Info.Mountpoint
	start := len(out)
	var stamp int64
	if s.stamp {
		stamp = time.Now().UnixNano()
	}
	if s.resend || s.due > 0 {
		all := s.resend
		s.resend, s.due = false, 0
		for _, om := range s.order {
			if om.done || !all && !om.due {
				continue
			}
			om.due = false
			d := Delivery{Tag: om.id, QoS: om.qos, Key: om.key(), Redelivered: int(om.handedOut)}
			om.handedOut++
			om.handedAt = stamp
			if om.state == outReleased {
				d.Held = true
			} else {
				d.Msg, d.Topic, d.Retain, d.SubIDs = om.msg, strings.TrimPrefix(om.msg.Topic, mp), om.retain, om.subIDs
			}
			out = append(out, d)
		}
	}
	now := time.Time{}
	// QoS 0 deliveries and their payload bytes, counted once per Pull: the
	// shared counters are contended.
	sent, sentBytes := 0, 0
	for n := 0; n < max && s.queue.len() > 0; {
		q := s.queue.peek()
		if q.marker {
			if !q.sub.waiting {
				s.queue.pop() // its subscription is gone
				continue
			}
			q = &q.sub.latest
		}
		if !q.msg.Expiry.IsZero() {
			if now.IsZero() {
				now = time.Now()
			}
			if q.msg.Expired(now) {
				// [MQTT-3.3.2-5] an expired message is not delivered.
				m := q.msg // q may be a marker's, which resolving clears
				s.queuedBytes -= m.size()
				s.removeLocked(q.seq)
				resolveLocked(s.queue.pop())
				s.drop(m, DropExpired)
				continue
			}
		}
		if q.qos > 0 && len(s.inflight) >= s.window {
			break
		}
		e := s.queue.pop()
		if e.marker {
			e, _ = resolveLocked(e)
		}
		s.queuedBytes -= e.msg.size()
		d := Delivery{Msg: e.msg, Topic: e.msg.Topic, QoS: e.qos, Retain: e.retain, SubIDs: e.subIDs}
		if mp != "" {
			d.Topic = strings.TrimPrefix(d.Topic, mp)
		}
		if e.sub != nil || e.handedOut != 0 {
			d.Key, d.Redelivered = e.key(), int(e.handedOut)
		}
		e.handedOut++
		if e.qos > 0 {
			om := outMsgs.Get().(*outMsg)
			*om = outMsg{queued: e, id: s.allocIDLocked(), handedAt: stamp}
			s.openInflightLocked()
			s.inflight[om.id] = om
			s.order = append(s.order, om)
			d.Tag = om.id
			if s.persist && om.seq != 0 {
				s.storeErr("queue inflight", s.b.store.Queues().MarkInflight(s.key.store(), om.seq, om.id))
			}
		} else {
			// A QoS 0 message kept for an offline session leaves the
			// store once it is written out.
			s.removeLocked(e.seq)
			sent++
			sentBytes += len(e.msg.Payload)
		}
		out = append(out, d)
		n++
	}
	s.mu.Unlock()
	if sent > 0 {
		s.b.msgOut.add(s.proto.Load(), 0, int64(sent), int64(sentBytes))
	}
	if len(out) > start {
		s.b.emitDelivered(&c.Info, out[start:])
	}
	return out
}

// SubscribeResult is the outcome of one SubscribeRequest: Success with
// the granted QoS, or a failure code.
type SubscribeResult struct {
	Code    Code
	QoS     byte // granted
	existed bool
}

// Subscribe validates, authorizes and adds subscriptions, filling results
// (one per request). The adapter acknowledges them and then calls
// SendRetained, so retained messages follow the acknowledgement.
// For a persistent session the subscriptions are durable in the store when
// it returns.
func (c *Client) Subscribe(ctx context.Context, reqs []SubscribeRequest, results []SubscribeResult) []SubscribeResult {
	stored := false
	for i := range reqs {
		r, w := c.subscribe(ctx, &reqs[i])
		results = append(results, r)
		stored = stored || w
	}
	if stored {
		if err := c.b.store.Sync(); err != nil {
			c.b.log.Error("store sync failed", "err", err)
			c.b.storeFailed(err)
			for i := range results {
				if !results[i].Code.Failed() {
					results[i].Code = UnspecifiedError
				}
			}
		}
	}
	return results
}

func (c *Client) subscribe(ctx context.Context, r *SubscribeRequest) (res SubscribeResult, stored bool) {
	filter, code := c.b.checkSubscribe(ctx, &c.Info, r, true)
	if code.Failed() {
		return SubscribeResult{Code: code}, false
	}
	if !c.lock() {
		return SubscribeResult{Code: UnspecifiedError}, false
	}
	res, stored = c.s.addSubLocked(r, filter)
	c.s.mu.Unlock()
	if !res.Code.Failed() {
		o := r.Options
		o.Key = r.Key
		c.b.emitSubscribed(&c.Info, r.Key, filter, o)
	}
	return res, stored
}

// checkSubscribe validates and, with authorize, authorizes a subscription
// request of the client info, and returns its mounted filter.
func (b *Broker) checkSubscribe(ctx context.Context, info *ClientInfo, r *SubscribeRequest, authorize bool) (string, Code) {
	if err := topic.ValidateFilter(r.Filter, b.cfg.MaxTopicLevels); err != nil {
		return "", TopicFilterInvalid
	}
	if r.Options.Separate && r.Key == "" {
		// A separate delivery is named by its subscription's key.
		return "", ImplementationError
	}
	if r.Queue == QueueLatest && !r.Options.Separate {
		// A merged delivery stands for several subscriptions: there is
		// no one subscription whose latest value it would be.
		return "", ImplementationError
	}
	filter := mount(info.Mountpoint, r.Filter)
	_, _, shared := topic.ParseShared(filter)
	if shared && r.Options.NoLocal {
		// [MQTT-3.8.3-4] No Local on a shared subscription is a protocol error.
		return "", ProtocolError
	}
	if authorize && !b.Authorize(ctx, info, ActionSubscribe, filter) {
		b.stats.SubscribeDenied.Add(1)
		return "", NotAuthorized
	}
	return filter, Success
}

// addSubLocked adds or replaces the subscription r (filter mounted) in
// the session, the router and, for a persistent session, the store.
func (s *session) addSubLocked(r *SubscribeRequest, filter string) (res SubscribeResult, stored bool) {
	b := s.b
	id := r.id(filter)
	sub := s.subs[id]
	existed := sub != nil
	if !existed && b.cfg.MaxSubscriptions > 0 && len(s.subs) >= b.cfg.MaxSubscriptions {
		return SubscribeResult{Code: QuotaExceeded}, false
	}
	o := r.Options
	o.Key = r.Key
	if existed {
		if sub.filter != filter || sub.opts.Key != o.Key {
			// The key moves to another filter, or an unkeyed
			// subscription to filter id gives way to one keyed id.
			b.router.UnsubscribeKey(s, sub.opts.Key, sub.filter)
		}
	} else {
		if s.subs == nil {
			s.subs = make(map[string]*subscription)
		}
		sub = &subscription{}
		s.subs[id] = sub
	}
	sub.filter, sub.opts, sub.queue = filter, o, r.Queue
	// The router is updated under the session lock so a concurrent
	// takeover cannot leave a subscription the session no longer lists.
	b.router.Subscribe(s, s.key.ClientID, filter, o)
	if s.persist {
		if err := b.store.Sessions().SetSubscription(s.key.store(), sub.store()); err != nil {
			s.storeErr("set subscription", err)
			return SubscribeResult{Code: UnspecifiedError}, false
		}
		stored = true
	}
	return SubscribeResult{Code: Success, QoS: r.Options.QoS, existed: existed}, stored
}

func (c *Client) mount(filter string) string { return mount(c.Info.Mountpoint, filter) }

// mount prefixes a filter with a mountpoint, inside a shared
// subscription's group prefix.
func mount(mp, filter string) string {
	if mp == "" {
		return filter
	}
	if group, inner, ok := topic.ParseShared(filter); ok {
		if group == "$queue" {
			return "$queue/" + mp + inner
		}
		return "$share/" + group + "/" + mp + inner
	}
	return mp + filter
}

// SendRetained queues the retained messages for the successful
// subscriptions among reqs, following Retain Handling [MQTT-3.3.1-9..11]:
// 0 always, 1 only for a new subscription, 2 never; never for shared
// subscriptions (MQTT 5 section 4.8.2).
func (c *Client) SendRetained(reqs []SubscribeRequest, results []SubscribeResult) {
	for i := range reqs {
		c.s.sendRetained(c.gen, &reqs[i], results[i], c.mount(reqs[i].Filter))
	}
}

// sendRetained queues the retained messages matching one subscription
// (filter mounted) for the session while its generation is gen.
func (s *session) sendRetained(gen uint64, r *SubscribeRequest, res SubscribeResult, filter string) {
	b := s.b
	if b.cfg.RetainDisabled || res.Code.Failed() || r.Options.RetainHandling == 2 || r.Options.RetainHandling == 1 && res.existed {
		return
	}
	if _, _, shared := topic.ParseShared(filter); shared {
		return
	}
	var ids []uint32
	if r.Options.SubscriptionID != 0 {
		ids = []uint32{r.Options.SubscriptionID}
	}
	key := ""
	if r.Options.Separate {
		key = r.id(filter)
	}
	now := time.Now()
	b.retained.Match(filter, func(_ string, m *Message) bool {
		if m.Expired(now) {
			return true
		}
		qos := m.QoS
		if r.Options.QoS < qos {
			qos = r.Options.QoS
		}
		// [MQTT-3.3.1-8] retained messages sent on subscribe keep RETAIN=1.
		s.enqueueIfCurrent(gen, m, qos, ids, key)
		return true
	})
}

func (s *session) enqueueIfCurrent(gen uint64, m *Message, qos byte, ids []uint32, key string) {
	s.mu.Lock()
	cur := s.gen == gen
	s.mu.Unlock()
	if cur {
		// Nothing is acknowledged on these copies: their store writes
		// need no sync.
		var d durable
		s.enqueue(m, qos, true, ids, key, &d)
	}
}

// Unsubscribe removes subscriptions by filter, the key of subscriptions
// made without one (MQTT), returning Success or NoSubscriptionExisted per
// filter.
func (c *Client) Unsubscribe(filters []string, results []Code) []Code {
	for _, f := range filters {
		if topic.ValidateFilter(f, c.b.cfg.MaxTopicLevels) != nil {
			results = append(results, TopicFilterInvalid)
			continue
		}
		results = append(results, c.unsubscribe(c.mount(f)))
	}
	return results
}

// UnsubscribeKey removes the subscription made with Key key.
func (c *Client) UnsubscribeKey(key string) Code {
	return c.unsubscribe(key)
}

func (c *Client) unsubscribe(id string) Code {
	if !c.lock() {
		return UnspecifiedError
	}
	sub := c.s.removeSubLocked(id)
	c.s.mu.Unlock()
	if sub == nil {
		return NoSubscriptionExisted
	}
	c.b.emitUnsubscribed(&c.Info, sub.opts.Key, sub.filter)
	return Success
}

// removeSubLocked removes the subscription id from the session, the
// router and the store, and returns it (nil if there was none).
func (s *session) removeSubLocked(id string) *subscription {
	sub, ok := s.subs[id]
	if !ok {
		return nil
	}
	delete(s.subs, id)
	sub.gone = true
	if sub.waiting {
		s.queuedBytes -= sub.latest.msg.size()
		s.removeLocked(sub.latest.seq)
		s.drop(sub.latest.msg, DropUnsubscribed)
		sub.latest, sub.waiting = queued{}, false
	}
	if sub.opts.Separate {
		// Its deliveries wait under its key, which the client may reuse
		// for another subscription: they go with it, and so does its
		// marker. Merged deliveries (MQTT) stay: they name no subscription.
		s.purgeLocked(sub)
	}
	s.b.router.UnsubscribeKey(s, sub.opts.Key, sub.filter)
	if s.persist {
		s.storeErr("delete subscription", s.b.store.Sessions().DeleteSubscription(s.key.store(), id))
	}
	return sub
}

// DisconnectKind says how a connection ended.
type DisconnectKind int

// Disconnect kinds.
const (
	// DisconnectNormal: the client sent DISCONNECT; the will is discarded
	// [MQTT-3.1.2-10].
	DisconnectNormal DisconnectKind = iota
	// DisconnectWithWill: v5 DISCONNECT 0x04, or any connection loss,
	// keepalive timeout or protocol error; the will is published after its
	// delay.
	DisconnectWithWill
)

// SetQueueLimit bounds the session's queue to messages while this
// connection is attached, below Config.MaxQueued; 0 restores the broker's
// limit. Messages beyond it are dropped by Config.DropPolicy and counted,
// as at MaxQueued. Adapters use it for clients that are connected but not
// reading, such as sleeping MQTT-SN clients; the limit ends when the
// connection detaches.
func (c *Client) SetQueueLimit(messages int) {
	if !c.lock() {
		return
	}
	c.s.queueLimit = max(messages, 0)
	c.s.mu.Unlock()
}

// SetSessionExpiry changes the session expiry at disconnect time (MQTT 5
// DISCONNECT carries one).
func (c *Client) SetSessionExpiry(d time.Duration) {
	if !c.lock() {
		return
	}
	if c.b.cfg.MaxSessionExpiry > 0 && d > c.b.cfg.MaxSessionExpiry {
		d = c.b.cfg.MaxSessionExpiry
	}
	c.s.expiry = d
	c.s.mu.Unlock()
}

// Disconnect detaches the connection from its session. The session ends
// now if its expiry is zero, otherwise it waits offline for a resume; the
// will is published, delayed or discarded per kind and the will delay.
// reason says why, for the log.
func (c *Client) Disconnect(kind DisconnectKind, reason string) {
	if !c.lock() {
		return
	}
	s := c.s
	b := c.b
	s.detachLocked()
	if !b.cfg.QueueQoS0 {
		s.dropQoS0Locked()
	}
	gen := s.gen
	var will *Will
	if kind == DisconnectNormal {
		s.will = nil
	}
	end := s.expiry == 0
	if s.will != nil {
		if end || s.will.Delay <= 0 || s.will.Delay >= s.expiry {
			// Published now when its session ends now or it has no delay;
			// a delay beyond the session expiry fires with the expiry.
			if end || s.will.Delay <= 0 {
				will = s.takeWillLocked()
			}
		}
		if s.will != nil && s.will.Delay < s.expiry {
			s.willTimer = time.AfterFunc(s.will.Delay, func() { b.delayedWill(s, gen) })
		}
	}
	if end {
		s.ended = true
		s.deleteLocked()
	} else {
		if s.expiry != NeverExpire {
			s.expiryTimer = time.AfterFunc(s.expiry, func() { b.expire(s, gen) })
		}
		if s.persist {
			s.persistWillLocked()
			s.storeErr("set expiry", b.store.Sessions().SetExpiry(s.key.store(), s.expiry, time.Now()))
		}
	}
	info := s.info
	s.mu.Unlock()
	b.clientLeft(&info, reason)
	if will != nil {
		b.publishWill(info, will)
	}
	if end {
		b.endSession(s)
	}
}
