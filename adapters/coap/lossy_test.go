package coap

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/pkg/runner/periodic"
	"github.com/plgd-dev/go-coap/v3/udp"

	"github.com/mqgate/mqgate/core"
)

// lossyProxy relays datagrams between one client and the gateway and drops
// a share of them in each direction.
type lossyProxy struct {
	in   *net.UDPConn // the client's side
	out  *net.UDPConn // connected to the gateway
	mu   sync.Mutex
	rng  *rand.Rand
	drop float64
	peer *net.UDPAddr
	wg   sync.WaitGroup
}

func newLossyProxy(t *testing.T, gateway string, drop float64) *lossyProxy {
	t.Helper()
	in, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ga, _ := net.ResolveUDPAddr("udp", gateway)
	out, err := net.DialUDP("udp", nil, ga)
	if err != nil {
		t.Fatal(err)
	}
	p := &lossyProxy{in: in, out: out, rng: rand.New(rand.NewPCG(1, 2)), drop: drop}
	p.wg.Add(2)
	go func() { // client -> gateway
		defer p.wg.Done()
		buf := make([]byte, 2048)
		for {
			n, from, err := in.ReadFromUDP(buf)
			if err != nil {
				return
			}
			p.mu.Lock()
			p.peer = from
			lose := p.rng.Float64() < p.drop
			p.mu.Unlock()
			if !lose {
				out.Write(buf[:n])
			}
		}
	}()
	go func() { // gateway -> client
		defer p.wg.Done()
		buf := make([]byte, 2048)
		for {
			n, err := out.Read(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			p.mu.Lock()
			to := p.peer
			lose := p.rng.Float64() < p.drop
			p.mu.Unlock()
			if !lose && to != nil {
				in.WriteToUDP(buf[:n], to)
			}
		}
	}()
	t.Cleanup(func() {
		in.Close()
		out.Close()
		p.wg.Wait()
	})
	return p
}

// TestLossyNetwork drops 20% of the datagrams each way: every confirmable
// publish the client saw acknowledged arrives over MQTT exactly once (a
// retransmitted request is answered from the duplicate cache), and every
// QoS 1 notification arrives once, in order.
func TestLossyNetwork(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) {
		c.ObserveQueueAll = true
		c.MaxRetransmit = 8
		c.AckTimeout = 50 * time.Millisecond
	})
	proxy := newLossyProxy(t, e.addr, 0.2)
	stop := make(chan struct{})
	c, err := udp.Dial(proxy.in.LocalAddr().String(),
		options.WithPeriodicRunner(periodic.New(stop, 20*time.Millisecond)),
		options.WithTransmission(1, 100*time.Millisecond, 8))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		close(stop)
	})
	sub := e.mqttSubscribe("sub", "lossy/#", 1)
	const n = 30
	acked := map[string]bool{}
	for i := range n {
		p := fmt.Sprint(i)
		req, _ := c.NewPostRequest(ctx(t), "/ps/lossy/up", 0, nil)
		req.SetBody(bytesReader(p))
		resp, err := c.Do(req)
		if err == nil && resp.Code() == codes.Changed {
			acked[p] = true
		}
		c.ReleaseMessage(req)
	}
	if len(acked) < n*9/10 {
		t.Fatalf("only %d of %d publishes acknowledged through 20%% loss", len(acked), n)
	}
	seen := map[string]int{}
	for len(seen) < len(acked) {
		m := recv(t, sub, "publish through the lossy proxy")
		seen[m.payload]++
		if seen[m.payload] > 1 {
			t.Fatalf("publish %q delivered twice", m.payload)
		}
	}
	for p := range acked {
		if seen[p] != 1 {
			t.Fatalf("acknowledged publish %q delivered %d times", p, seen[p])
		}
	}
	none(t, sub, "a duplicate delivery")

	ch, _ := observe(t, c, "/ps/lossy/down")
	recv(t, ch, "registration through the lossy proxy")
	pub := e.mqttClient("pub")
	for i := range 20 {
		e.mqttPublish(pub, "lossy/down", 1, false, fmt.Sprint(i))
	}
	for i := range 20 {
		if got := recv(t, ch, "notification through the lossy proxy"); got.payload != fmt.Sprint(i) {
			t.Fatalf("notification %q, want %d", got.payload, i)
		}
	}
	if e.gw.Stats().Retransmits.Load() == 0 {
		t.Fatal("no notification was retransmitted through 20% loss")
	}
}
