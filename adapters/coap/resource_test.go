package coap

import (
	"net/netip"
	"runtime"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/mqgate/mqgate/core"
)

// TestManySourcesStayWithinLimits sends requests from 5,000 source
// addresses, each with its own MIDs, publishes, observations and open
// Block1 transfers: clients stay at max_clients, goroutines do not grow
// with them, and the observations stay at max_observers per client.
func TestManySourcesStayWithinLimits(t *testing.T) {
	e := startEnv(t, func(_ *core.Config, c *Config) {
		c.MaxClients = 100
		c.MaxObservers = 2
	})
	goroutines := runtime.NumGoroutine()
	l := e.gw.listeners[0]
	var r request
	block := make([]byte, 1024)
	for i := range 5000 {
		p := peer{l: l, addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 1, byte(i >> 8), byte(i)}), uint16(1000+i))}
		e.gw.datagram(p, rawRequest(message.Confirmable, codes.POST, uint16(i), []byte{1}, pathOpts("ps", "x"), []byte("p")), &r)
		for j := range 4 {
			e.gw.datagram(p, rawGET(uint16(i+j+1), []byte{byte(j)}, true, "ps", "o"), &r)
		}
		o := append(pathOpts("ps", "big"), message.Option{ID: message.Block1, Value: uintBytes(8 | 6)})
		e.gw.datagram(p, rawRequest(message.Confirmable, codes.POST, uint16(i+9), []byte{2}, o, block), &r)
	}
	e.gw.mu.Lock()
	clients := len(e.gw.byID)
	e.gw.mu.Unlock()
	if clients != 100 {
		t.Fatalf("%d clients, want max_clients 100", clients)
	}
	if n := e.broker.SubscriptionCount(); n > 100*2 {
		t.Fatalf("%d observations, want at most 200", n)
	}
	if n := runtime.NumGoroutine(); n > goroutines+10 {
		t.Fatalf("%d goroutines after 5,000 sources, %d before", n, goroutines)
	}
	if e.gw.Stats().Limited.Load() == 0 {
		t.Fatal("nothing was refused by a limit")
	}
}
