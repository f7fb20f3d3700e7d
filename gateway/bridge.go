package gateway

import (
	"github.com/mqgate/mqgate/adapters/bridge"
	"github.com/mqgate/mqgate/conf"
)

var _ Adapter = (*bridge.Set)(nil)

// buildBridges builds the upstream bridges from the validated bridges
// list; their outboxes live in the gateway's store.
func (g *Gateway) buildBridges(cs []conf.BridgeConfig) *bridge.Set {
	var cfgs []bridge.Config
	for _, c := range cs {
		bc := bridge.Config{
			Name: c.Name, Addresses: c.Addrs(), Protocol: c.Protocol, ClientID: c.ClientID,
			Username: c.Username, PasswordFile: c.PasswordFile, CleanStart: c.CleanStart,
			SessionExpiry: c.SessionExpiry.D(), KeepAlive: c.KeepAlive.D(), MaxInflight: c.MaxInflight,
			ReconnectMin: c.ReconnectMin.D(), ReconnectMax: c.ReconnectMax.D(),
			OutboxMax: c.Outbox.MaxMessages, OutboxBytes: int64(c.Outbox.MaxBytes),
			DropNewest: c.Outbox.Policy == "drop_newest", OutboxQoS0: c.Outbox.QoS0,
		}
		if c.Password != "" {
			bc.Password = []byte(c.Password)
		}
		if t := c.TLS; t != nil {
			bc.TLS = &bridge.TLS{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile,
				ServerName: t.ServerName, ALPN: t.ALPN, InsecureSkipVerify: t.InsecureSkipVerify}
		}
		for _, r := range c.Rules {
			bc.Rules = append(bc.Rules, bridge.Rule{Direction: r.Direction, Local: r.Local, Remote: r.Remote, QoS: byte(r.QoS)})
		}
		cfgs = append(cfgs, bc)
	}
	return bridge.New(cfgs, g.cfg.Node, g.storage.backend(), g.Broker, g.log.With("adapter", "bridge"))
}

// forgetBridges deletes the local sessions bridges left in the store when
// none is configured any more.
func (g *Gateway) forgetBridges() {
	bridge.ForgetRemoved(g.Broker, nil, g.log.With("adapter", "bridge"))
}
