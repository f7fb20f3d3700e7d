package gateway

import (
	"github.com/mqgate/mqgate/adapters/coap"
	"github.com/mqgate/mqgate/adapters/mqttsn"
	"github.com/mqgate/mqgate/conf"
	"github.com/mqgate/mqgate/httpapi"
)

var _ Adapter = (*coap.Gateway)(nil)

// buildCoAP builds the CoAP adapter from a validated coap section.
func (g *Gateway) buildCoAP(c *conf.CoAPConfig) *coap.Gateway {
	cc := coap.Config{
		Namespace:            c.Namespace,
		Mountpoint:           c.Mountpoint,
		ConnectionRequired:   c.ConnectionRequired,
		ObserveEcho:          c.ObserveEcho,
		Heartbeat:            c.Heartbeat.D(),
		ConQoS:               byte(c.ConQoS),
		NonQoS:               byte(c.NonQoS),
		ObserveQueueAll:      c.ObserveQueue == "all",
		AckTimeout:           c.AckTimeout.D(),
		MaxRetransmit:        c.MaxRetransmit,
		MaxClients:           c.MaxClients,
		MaxObservers:         c.MaxObservers,
		MaxMessageSize:       int(c.MaxMessageSize),
		MaxBodySize:          int(c.MaxBodySize),
		MaxOptions:           c.MaxOptions,
		MaxRequestsPerSecond: c.MaxRequestsPerSecond,
		Logger:               g.log.With("adapter", "coap"),
	}
	for _, l := range c.Listeners {
		cl := coap.Listener{DTLS: dtlsSetup(l.DTLS), Name: l.Name, Type: l.Type, Address: l.Address}
		cc.Listeners = append(cc.Listeners, cl)
	}
	return coap.New(cc, g.Broker)
}

// dtlsStats reads the DTLS listeners' counters of the CoAP and MQTT-SN
// gateways, for /metrics.
func (g *Gateway) dtlsStats() []httpapi.DTLSListener {
	var out []httpapi.DTLSListener
	if !g.http.ready.Load() {
		return nil // the adapters are still being started
	}
	add := func(gw string, m map[string]*coap.DTLSStats) {
		for name, st := range m {
			out = append(out, httpapi.DTLSListener{
				Gateway: gw, Listener: name,
				Opened: st.Hellos.Load(), Proven: st.Proven.Load(), Evicted: st.Evicted.Load(), Refused: st.Refused.Load(),
				DroppedUnknown: st.Dropped.Load(), DroppedQueueFull: st.Overflow.Load(), Reboots: st.Reboots.Load(),
			})
		}
	}
	for _, a := range g.adapters {
		switch a := a.(type) {
		case *coap.Gateway:
			add("coap", a.DTLSStats())
		case *mqttsn.Gateway:
			add("mqtt-sn", a.DTLSStats())
		}
	}
	return out
}
