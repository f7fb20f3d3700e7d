package gateway

import (
	"crypto/tls"

	"github.com/mqgate/mqgate/adapters/stomp"
	"github.com/mqgate/mqgate/conf"
)

var _ Adapter = (*stomp.Server)(nil)

// buildSTOMP builds the STOMP adapter from a validated stomp section.
func (g *Gateway) buildSTOMP(c *conf.STOMPConfig) *stomp.Server {
	sc := stomp.Config{
		Namespace:            c.Namespace,
		Mountpoint:           c.Mountpoint,
		Destinations:         c.Destinations,
		MaxBodySize:          int(c.MaxFrameSize),
		MaxHeaders:           c.MaxHeaders,
		MaxHeaderLength:      int(c.MaxHeaderLength),
		MaxSubscriptions:     c.MaxSubscriptions,
		MaxUnacked:           c.MaxUnacked,
		MaxTransactions:      c.MaxTransactions,
		MaxTransactionFrames: c.MaxTransactionFrames,
		MaxTransactionBytes:  int(c.MaxTransactionBytes),
		ConnectTimeout:       c.ConnectTimeout.D(),
		HeartBeat:            c.HeartBeat.D(),
		WriteTimeout:         c.WriteTimeout.D(),
		Version:              g.Broker.Config().Version,
		Logger:               g.log.With("adapter", "stomp"),
	}
	if sc.HeartBeat == 0 {
		sc.HeartBeat = -1 // heart_beat: 0 means none
	}
	for _, l := range c.Listeners {
		sl := stomp.Listener{Name: l.Name, Type: l.Type, Address: l.Address, Path: l.Path, MaxConnections: l.MaxConnections,
			AllowedOrigins: l.AllowedOrigins, Share: l.Share}
		if l.TLS != nil {
			sl.TLS = &stomp.TLS{CertFile: l.TLS.CertFile, KeyFile: l.TLS.KeyFile, CAFile: l.TLS.CAFile,
				ClientAuth: l.TLS.ClientAuth, CNAsUsername: l.TLS.CNAsUsername, MinVersion: tls.VersionTLS12}
			if l.TLS.MinVersion == "1.3" {
				sl.TLS.MinVersion = tls.VersionTLS13
			}
		}
		sc.Listeners = append(sc.Listeners, sl)
	}
	return stomp.New(sc, g.Broker)
}
