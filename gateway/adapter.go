package gateway

import (
	"context"
	"errors"
	"fmt"
	"github.com/mqgate/mqgate/adapters/mqtt"
	"github.com/mqgate/mqgate/adapters/stomp"
	"net"
)

// Adapter is one protocol adapter as the gateway runs it. The gateway
// starts the enabled adapters in order and stops those that started in
// reverse order, each once, before it closes the broker and the store.
type Adapter interface {
	// Name is the adapter's name: "mqtt", "mqtt-sn".
	Name() string
	// Start opens the adapter's listeners and returns when it serves them.
	// An adapter that fails to start cleans up after itself; it is not
	// stopped.
	Start(ctx context.Context) error
	// Stop stops accepting, closes the clients (their wills handled as the
	// protocol says for a server-side close) and waits for the adapter's
	// goroutines, or for ctx.
	Stop(ctx context.Context) error
}

// listenerAddrs is what an adapter with named listeners may offer: each
// listener's bound address, useful with port 0.
type listenerAddrs interface {
	Addrs() map[string]net.Addr
}

// buildAdapters builds the adapters the configuration enables, in the order
// they start. A new protocol is one more constructor call here.
func (g *Gateway) buildAdapters() []Adapter {
	var adapters []Adapter
	// Bridges first: a bridge's local session takes its outbox-sized
	// queue limits when it opens, before any listener lets a publisher
	// in; and they stop last, after the listeners.
	if len(g.cfg.Bridges) > 0 {
		adapters = append(adapters, g.buildBridges(g.cfg.Bridges))
	} else {
		g.forgetBridges()
	}
	// STOMP is built before MQTT, whose WebSocket listeners may serve
	// STOMP endpoints too; it still starts after MQTT.
	var st *stomp.Server
	var routes map[string][]mqtt.Route
	if g.cfg.STOMP.Enabled {
		st = g.buildSTOMP(&g.cfg.STOMP)
		routes = st.Routes()
	}
	adapters = append(adapters, g.buildMQTT(&g.cfg.MQTT, routes)) // MQTT always runs
	if g.cfg.MQTTSN.Enabled {
		adapters = append(adapters, g.buildMQTTSN(&g.cfg.MQTTSN))
	}
	if g.cfg.CoAP.Enabled {
		adapters = append(adapters, g.buildCoAP(&g.cfg.CoAP))
	}
	if st != nil {
		adapters = append(adapters, st)
	}
	return adapters
}

// startAdapters starts g.adapters in order, recording each that started in
// g.running. It stops at the first failure and returns it; the caller stops
// those that started.
func (g *Gateway) startAdapters(ctx context.Context) error {
	for _, a := range g.adapters {
		if err := a.Start(ctx); err != nil {
			return fmt.Errorf("start %s: %w", a.Name(), err)
		}
		g.running = append(g.running, a)
	}
	return nil
}

// stopAdapters stops the running adapters in reverse order of their start.
// One that fails to stop does not keep the others running; the error joins
// every failure.
func (g *Gateway) stopAdapters(ctx context.Context) error {
	var errs []error
	for i := len(g.running) - 1; i >= 0; i-- {
		a := g.running[i]
		if err := a.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", a.Name(), err))
		}
	}
	g.running = nil
	return errors.Join(errs...)
}

// Addrs returns the bound address of each listener of the named adapter
// ("mqtt", "mqtt-sn"); nil when no such adapter is enabled or it has no
// named listeners.
func (g *Gateway) Addrs(adapter string) map[string]net.Addr {
	for _, a := range g.adapters {
		if a.Name() != adapter {
			continue
		}
		if l, ok := a.(listenerAddrs); ok {
			return l.Addrs()
		}
		return nil
	}
	return nil
}
