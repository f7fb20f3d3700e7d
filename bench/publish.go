package bench

import (
	"encoding/binary"
	"time"

	"github.com/mqgate/mqgate/adapters/mqtt/packet"
)

// clockBase pins the bench clock: wall time at start plus monotonic time
// since. It only moves forward, and two bench processes on one host agree on
// it closely enough to time each other's messages.
var (
	clockBase   = time.Now()
	clockBaseNs = clockBase.UnixNano()
)

func now() int64 { return clockBaseNs + int64(time.Since(clockBase)) }

const publishBatch = 64

// publishLoop publishes until stop is closed: at rate messages per second
// (0: as fast as flow control allows), in batches that the writer sends with
// one system call. QoS 1 and 2 are limited by the inflight window; with
// subscribers in this process, unthrottled publishers are also held back
// while too many deliveries are outstanding, so the bench measures the
// broker rather than the depth of its queues.
func (c *client) publishLoop(stop <-chan struct{}, rate float64) {
	r := c.r
	o := r.o
	pkt := packet.Packet{Type: packet.PUBLISH, QoS: byte(o.QoS), Topic: []byte(c.spec.topic),
		Payload: make([]byte, o.Size)}
	var id uint16
	pace := newPacer(rate)
	for {
		select {
		case <-stop:
			return
		case <-c.done:
			return
		default:
		}
		want := pace.due(stop)
		if want == 0 {
			continue
		}
		var sent int64
		blocked := blockedNot
		c.mu.Lock()
		for sent < want {
			if len(c.out) >= maxPendingOut {
				blocked = blockedWriter
				break
			}
			if pkt.QoS > 0 {
				if c.inflight.Load() >= c.window {
					blocked = blockedWindow
					break
				}
				id++
				if id == 0 {
					id = 1
				}
				pkt.PacketID = id
			}
			if rate == 0 && !r.mayPublish() {
				blocked = blockedGate
				break
			}
			if len(pkt.Payload) >= 8 {
				binary.BigEndian.PutUint64(pkt.Payload, uint64(now()))
			}
			out, err := packet.Append(c.out, &pkt, c.v)
			if err != nil {
				c.mu.Unlock()
				c.fail(err)
				return
			}
			c.out = out
			if pkt.QoS > 0 {
				c.inflight.Add(1)
			}
			sent++
			r.st.expected.Add(c.spec.fan)
		}
		c.mu.Unlock()
		if sent > 0 {
			pace.sent += sent
			r.st.sent.Add(sent)
			c.kick()
		}
		r.wait(blocked, c.acked, stop)
	}
}

// pacer spaces a publisher's messages at rate per second, or lets it send
// in batches when rate is 0.
type pacer struct {
	rate  float64
	start time.Time
	sent  int64
}

func newPacer(rate float64) *pacer { return &pacer{rate: rate, start: time.Now()} }

// due returns how many messages to send now. When none is due it sleeps
// until one is (or stop closes) and returns 0.
func (p *pacer) due(stop <-chan struct{}) int64 {
	if p.rate <= 0 {
		return publishBatch
	}
	due := int64(time.Since(p.start).Seconds()*p.rate) + 1 - p.sent
	if due <= 0 {
		sleepUntil(p.start.Add(time.Duration(float64(p.sent)/p.rate*float64(time.Second))), stop)
		return 0
	}
	return min(due, 4*publishBatch)
}

// wait holds a publisher that stopped short of its batch for the reason
// it stopped: room in its window, the gate, or its writer.
func (r *run) wait(blocked int, acked <-chan struct{}, stop <-chan struct{}) {
	switch blocked {
	case blockedWindow:
		waitFor(acked, stop, 100*time.Millisecond)
	case blockedGate:
		waitFor(r.gateOpen(), stop, 100*time.Millisecond)
	case blockedWriter:
		sleepUntil(time.Now().Add(time.Millisecond), stop)
	}
}

// Why a publisher stopped short of its batch.
const (
	blockedNot = iota
	blockedWindow
	blockedGate
	blockedWriter
)

func waitFor(ch <-chan struct{}, stop <-chan struct{}, limit time.Duration) {
	tm := time.NewTimer(limit)
	select {
	case <-ch:
	case <-stop:
	case <-tm.C:
	}
	tm.Stop()
}

func sleepUntil(t time.Time, stop <-chan struct{}) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	tm := time.NewTimer(d)
	select {
	case <-tm.C:
	case <-stop:
		tm.Stop()
	}
}

// mayPublish is the closed-loop gate for unthrottled publishers with
// subscribers in this process: it allows a publish while fewer than gateCap
// deliveries are outstanding.
func (r *run) mayPublish() bool {
	if r.gateCap == 0 {
		return true
	}
	st := &r.st
	return st.expected.Load()-st.received.Load()-r.writtenOff.Load() < r.gateCap
}

// gateOpen returns a channel closed the next time the gate opens.
func (r *run) gateOpen() <-chan struct{} {
	r.gateMu.Lock()
	defer r.gateMu.Unlock()
	return r.gateCh
}

// gateLoop wakes publishers held by the gate when it opens. If deliveries
// stop arriving for lossTimeout while it is shut, the outstanding ones are
// written off (they still count as losses in the summary), so a broker that
// drops messages cannot stall the run.
func (r *run) gateLoop(stop <-chan struct{}) {
	t := time.NewTicker(250 * time.Microsecond)
	defer t.Stop()
	st := &r.st
	lastRecv, lastProgress := st.received.Load(), time.Now()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		rc := st.received.Load()
		if rc != lastRecv {
			lastRecv, lastProgress = rc, time.Now()
		}
		if !r.mayPublish() {
			if time.Since(lastProgress) < lossTimeout {
				continue
			}
			r.writtenOff.Store(st.expected.Load() - rc)
			lastProgress = time.Now()
		}
		r.gateMu.Lock()
		close(r.gateCh)
		r.gateCh = make(chan struct{})
		r.gateMu.Unlock()
	}
}
