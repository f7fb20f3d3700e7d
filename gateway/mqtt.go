package gateway

import (
	"crypto/tls"

	"github.com/mqgate/mqgate/adapters/mqtt"
	"github.com/mqgate/mqgate/conf"
)

var _ Adapter = (*mqtt.Server)(nil)

// buildMQTT builds the MQTT adapter from a validated mqtt section.
// routes are other protocols' WebSocket endpoints by the name of the MQTT
// listener whose port they share.
func (g *Gateway) buildMQTT(c *conf.MQTTConfig, routes map[string][]mqtt.Route) *mqtt.Server {
	mc := mqtt.Config{
		MaxPacketSize:  int(c.MaxPacketSize),
		ConnectTimeout: c.ConnectTimeout.D(),
		MaxKeepAlive:   c.MaxKeepAlive,
		MaxClientIDLen: c.MaxClientIDLen,
		MaxTopicAlias:  c.MaxTopicAlias,
		WriteTimeout:   c.WriteTimeout.D(),
		Logger:         g.log.With("adapter", "mqtt"),
	}
	for _, l := range c.Listeners {
		ml := mqtt.Listener{Name: l.Name, Type: l.Type, Address: l.Address, Path: l.Path, MaxConnections: l.MaxConnections,
			Routes: routes[l.Name]}
		if l.TLS != nil {
			ml.TLS = &mqtt.TLS{
				CertFile: l.TLS.CertFile, KeyFile: l.TLS.KeyFile, CAFile: l.TLS.CAFile,
				ClientAuth: l.TLS.ClientAuth, CNAsUsername: l.TLS.CNAsUsername, MinVersion: tls.VersionTLS12,
			}
			if l.TLS.MinVersion == "1.3" {
				ml.TLS.MinVersion = tls.VersionTLS13
			}
		}
		mc.Listeners = append(mc.Listeners, ml)
	}
	return mqtt.New(mc, g.Broker)
}
