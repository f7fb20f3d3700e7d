package gateway

import (
	"github.com/mqgate/mqgate/adapters/coap"
	"github.com/mqgate/mqgate/conf"
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
