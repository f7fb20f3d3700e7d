package bridge

import (
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cutter is a TCP relay to an upstream that cuts every connection after a
// random number of bytes (from the bridge, or to it), so that QoS 2 flows
// break at every step: before PUBREC, between PUBREC and PUBREL, between
// PUBREL and PUBCOMP.
type cutter struct {
	ln     net.Listener
	to     string
	minLen int
	maxLen int
	cuts   atomic.Int64
	on     atomic.Bool // cutting; off lets the rest through
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

func newCutter(t *testing.T, to string, maxLen int) *cutter {
	t.Helper()
	return newCutterFrom(t, to, 200, maxLen)
}

// newCutterFrom is a cutter whose connections carry from minLen to
// minLen+maxLen bytes: a small minLen cuts them during CONNECT, SUBSCRIBE
// and the resend that follows a connect too.
func newCutterFrom(t *testing.T, to string, minLen, maxLen int) *cutter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{ln: ln, to: to, minLen: minLen, maxLen: maxLen}
	c.on.Store(true)
	c.wg.Add(1)
	go c.accept()
	t.Cleanup(func() {
		ln.Close()
		c.mu.Lock()
		for _, x := range c.conns {
			x.Close()
		}
		c.mu.Unlock()
		c.wg.Wait()
	})
	return c
}

func (c *cutter) addr() string { return c.ln.Addr().String() }

func (c *cutter) accept() {
	defer c.wg.Done()
	for {
		a, err := c.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", c.to)
		if err != nil {
			a.Close()
			continue
		}
		c.mu.Lock()
		c.conns = append(c.conns, a, b)
		c.mu.Unlock()
		budget := &atomic.Int64{}
		budget.Store(int64(c.minLen + rand.IntN(c.maxLen)))
		c.wg.Add(2)
		go c.pipe(a, b, budget)
		go c.pipe(b, a, budget)
	}
}

// pipe copies until the shared budget of the connection's bytes runs
// out, then cuts both sides.
func (c *cutter) pipe(dst, src net.Conn, budget *atomic.Int64) {
	defer c.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 512)
	for {
		n, err := src.Read(buf)
		if n > 0 && c.on.Load() {
			left := budget.Add(-int64(n))
			if left < 0 {
				// Part of this read goes through, the rest never does.
				keep := max(int64(n)+left, 0)
				dst.Write(buf[:keep])
				c.cuts.Add(1)
				return
			}
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}

// onceThroughCuts lets the cutter cut until it has cut 30 times or got
// holds all n messages, then lets the rest through, and checks that got
// holds 0..n-1 once each, in order, and that the cutter cut at least 5
// times (or the test exercised nothing).
func onceThroughCuts(t *testing.T, cut *cutter, br *Bridge, n int, got func() []int, what string) {
	t.Helper()
	waitFor(t, 60*time.Second, "a good number of cuts", func() bool { return cut.cuts.Load() >= 30 || len(got()) >= n })
	cut.on.Store(false)
	waitFor(t, 60*time.Second, "every message "+what, func() bool { return br.Status().Queued == 0 && len(got()) >= n })
	time.Sleep(100 * time.Millisecond) // a late duplicate would land here
	dups := checkOrder(t, got(), n)
	t.Logf("%d QoS 2 messages %s through %d cuts, %d reconnects", n, what, cut.cuts.Load(), br.Status().Reconnects)
	if dups != 0 {
		t.Fatalf("%d duplicates at QoS 2", dups)
	}
	if cut.cuts.Load() < 5 {
		t.Fatalf("only %d cuts: the test did not exercise the resume", cut.cuts.Load())
	}
}

// payloads reads the numbered payloads a sink received.
func payloads(s *sink) func() []int {
	return func() []int {
		ms := s.messages()
		vs := make([]int, len(ms))
		for i, m := range ms {
			vs[i], _ = strconv.Atoi(string(m.Payload))
		}
		return vs
	}
}

// TestQoS2ExactlyOnceThroughCuts forwards QoS 2 messages over a link cut
// again and again at random points of the QoS 2 flows: the upstream's
// subscriber gets every message once and in order. The bridge resends an
// unacknowledged PUBLISH with its packet id, and a PUBREL rather than the
// PUBLISH once the upstream sent PUBREC.
func TestQoS2ExactlyOnceThroughCuts(t *testing.T) {
	for _, proto := range protocols {
		t.Run("mqtt"+proto, func(t *testing.T) {
			local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
			up.up()
			got := newSink(t, up.Broker, "cloud-app", "up/#")
			cut := newCutter(t, up.addr, 6000)
			set := startBridges(t, local.Broker, nil, testConfig("c", cut.addr(), proto,
				Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: 2}))
			br := set.bridge("c")
			const n = 3000
			publish(t, local.Broker, "sensor", "seq", 0, n, 2)
			onceThroughCuts(t, cut, br, n, payloads(got), "upstream")
		})
	}
}

// TestMosquittoQoS2ExactlyOnceThroughCuts is the same against mosquitto:
// its subscriber, at QoS 2, gets every message once and in order.
func TestMosquittoQoS2ExactlyOnceThroughCuts(t *testing.T) {
	for _, proto := range protocols {
		t.Run("mqtt"+proto, func(t *testing.T) {
			mq := startMosquitto(t, "")
			app := newMQTTClientQoS(t, mq.addr, "app-"+proto, "up/#", 2)
			local := newNode(t, "edge", nil)
			cut := newCutter(t, mq.addr, 6000)
			set := startBridges(t, local.Broker, nil, testConfig("m", cut.addr(), proto,
				Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: 2}))
			br := set.bridge("m")
			const n = 2000
			publish(t, local.Broker, "sensor", "seq", 0, n, 2)
			onceThroughCuts(t, cut, br, n, func() []int { return seqOf(app.received(), "up/seq=") }, "at mosquitto")
		})
	}
}

// TestInboundQoS2ExactlyOnceThroughCuts brings QoS 2 messages in from the
// upstream over a link cut again and again: a PUBLISH the upstream resends
// because our PUBREC was cut off is answered, not published locally again.
func TestInboundQoS2ExactlyOnceThroughCuts(t *testing.T) {
	for _, proto := range protocols {
		t.Run("mqtt"+proto, func(t *testing.T) {
			local, up := newNode(t, "edge", nil), newNode(t, "cloud", nil)
			up.up()
			got := newSink(t, local.Broker, "actuator", "cmd/#")
			cut := newCutter(t, up.addr, 6000)
			set := startBridges(t, local.Broker, nil, testConfig("c", cut.addr(), proto,
				Rule{Direction: "in", Local: "cmd/#", Remote: "down/#", QoS: 2}))
			br := set.bridge("c")
			waitFor(t, 10*time.Second, "the bridge connected", func() bool { return br.Status().Connected })
			const n = 2000
			publish(t, up.Broker, "app", "down/x", 0, n, 2)
			onceThroughCuts(t, cut, br, n, payloads(got), "in at the edge")
		})
	}
}
