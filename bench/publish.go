package bench

import (
	"encoding/binary"
	"sync/atomic"
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

// clientBase is what a bench client has whatever protocol it speaks: its
// role and the inflight window that holds its QoS 1 and 2 publishes.
type clientBase struct {
	spec     *clientSpec
	window   int32 // QoS 1/2 publishes allowed unacknowledged
	inflight atomic.Int32
	acked    chan struct{} // the inflight window has room again
	closing  atomic.Bool
}

func (c *clientBase) role() *clientSpec { return c.spec }

func (c *clientBase) unacked() int32 {
	if c.closing.Load() {
		return 0
	}
	return c.inflight.Load()
}

// acknowledged frees an inflight slot and wakes the publisher once half the
// window is free, so it sends in batches rather than one by one.
func (c *clientBase) acknowledged() {
	if c.inflight.Add(-1) <= c.window/2 {
		select {
		case c.acked <- struct{}{}:
		default:
		}
	}
}

// admit decides whether the publisher may send one more message, which
// takes an inflight slot when acknowledged (QoS 1 and 2): it returns
// blockedWindow when the window is full and blockedGate when the
// closed-loop gate holds an unthrottled publisher (rate 0), else
// blockedNot. For an acknowledged message it moves *id to the next
// non-zero message id first.
func (c *clientBase) admit(r *run, acknowledged bool, rate float64, id *uint16) int {
	if acknowledged {
		if c.inflight.Load() >= c.window {
			return blockedWindow
		}
		if *id++; *id == 0 {
			*id = 1
		}
	}
	if rate == 0 && !r.mayPublish() {
		return blockedGate
	}
	return blockedNot
}

// stamp writes the send time into the first 8 bytes of a payload that has
// room for it, for the subscriber's latency measurement.
func stamp(payload []byte) {
	if len(payload) >= 8 {
		binary.BigEndian.PutUint64(payload, uint64(now()))
	}
}

// delivered counts a message that reached a subscriber and records its
// latency from the send time stamp wrote, if it carries one from this
// hour.
func (st *stats) delivered(payload []byte) {
	st.received.Add(1)
	if len(payload) >= 8 {
		d := now() - int64(binary.BigEndian.Uint64(payload))
		if d >= 0 && d < int64(time.Hour) {
			st.latency.Record(time.Duration(d))
		}
	}
}

// publishLoop publishes until stop or done is closed: at rate messages per
// second (0: as fast as flow control allows), in batches. batch sends up to
// want messages, counting each one's expected deliveries; it returns how
// many it sent, why it stopped short, and false when the client failed.
// With subscribers in this process, unthrottled publishers are also held
// back while too many deliveries are outstanding, so the bench measures the
// broker rather than the depth of its queues.
func (r *run) publishLoop(stop, done, acked <-chan struct{}, rate float64, batch func(want int64) (sent int64, blocked int, ok bool)) {
	pace := newPacer(rate, r.phase(rate))
	for {
		select {
		case <-stop:
			return
		case <-done:
			return
		default:
		}
		want := pace.due(stop)
		if want == 0 {
			continue
		}
		sent, blocked, ok := batch(want)
		if !ok {
			return
		}
		if sent > 0 {
			pace.sent += sent
			r.st.sent.Add(sent)
		}
		r.wait(blocked, acked, stop)
	}
}

// publishLoop publishes as run.publishLoop describes; the writer sends each
// batch with one system call. QoS 1 and 2 are limited by the inflight
// window.
func (c *client) publishLoop(stop <-chan struct{}, rate float64) {
	r := c.r
	o := r.o
	pkt := packet.Packet{Type: packet.PUBLISH, QoS: byte(o.QoS), Topic: []byte(c.spec.topic),
		Payload: make([]byte, o.Size)}
	var id uint16
	r.publishLoop(stop, c.done, c.acked, rate, func(want int64) (sent int64, blocked int, ok bool) {
		c.mu.Lock()
		for sent < want {
			if len(c.out) >= maxPendingOut {
				blocked = blockedWriter
				break
			}
			if blocked = c.admit(r, pkt.QoS > 0, rate, &id); blocked != blockedNot {
				break
			}
			if pkt.QoS > 0 {
				pkt.PacketID = id
			}
			stamp(pkt.Payload)
			out, err := packet.Append(c.out, &pkt, c.v)
			if err != nil {
				c.mu.Unlock()
				c.fail(err)
				return sent, blocked, false
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
			if err := c.flush(); err != nil {
				c.fail(err)
				return sent, blocked, false
			}
		}
		return sent, blocked, true
	})
}

// pacer spaces a publisher's messages at rate per second, or lets it send
// in batches when rate is 0.
type pacer struct {
	rate  float64
	start time.Time
	sent  int64
	timer *time.Timer // reused for every wait, so pacing allocates nothing
}

// newPacer returns a pacer whose first message is due after phase.
func newPacer(rate float64, phase time.Duration) *pacer {
	return &pacer{rate: rate, start: time.Now().Add(phase)}
}

// due returns how many messages to send now. When none is due it sleeps
// until one is (or stop closes) and returns 0.
func (p *pacer) due(stop <-chan struct{}) int64 {
	if p.rate <= 0 {
		return publishBatch
	}
	elapsed := time.Since(p.start)
	if elapsed < 0 {
		p.sleep(-elapsed, stop)
		return 0
	}
	due := int64(elapsed.Seconds()*p.rate) + 1 - p.sent
	if due <= 0 {
		p.sleep(time.Duration(float64(p.sent)/p.rate*float64(time.Second))-elapsed, stop)
		return 0
	}
	return min(due, 4*publishBatch)
}

// sleep waits d or until stop closes, on the pacer's one timer. (Since Go
// 1.23 a Reset timer delivers no value left from before the Reset.)
func (p *pacer) sleep(d time.Duration, stop <-chan struct{}) {
	if d <= 0 {
		return
	}
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-p.timer.C:
	case <-stop:
		p.timer.Stop()
	}
}

// phase spreads the rate-limited publishers of a run evenly over one
// message interval: N publishers at rate r then send one message every
// 1/(N r) seconds between them, not N at once every 1/r. Started together,
// they would send in bursts, and a fixed-rate run's latency would measure
// how long the last message of each burst queues behind the others, in
// the bench as in the broker, rather than the message path.
func (r *run) phase(rate float64) time.Duration {
	n := int64(len(r.pubs))
	if rate <= 0 || n <= 1 {
		return 0
	}
	k := (r.phases.Add(1) - 1) % n
	return time.Duration(float64(k) / float64(n) / rate * float64(time.Second))
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
