package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/mqgate/mqgate/adapters/bridge"
	"github.com/mqgate/mqgate/conf"
	"github.com/mqgate/mqgate/httpapi"
)

var _ Adapter = (*bridge.Set)(nil)

// buildBridges builds the upstream bridges from the validated bridges
// list; their outboxes live in the gateway's store.
func (g *Gateway) buildBridges(cs []conf.BridgeConfig) *bridge.Set {
	return bridge.New(bridgeConfigs(cs), g.cfg.Node, g.storage.backend(), g.Broker, g.log.With("adapter", "bridge"))
}

// bridgeConfigs translates the bridges section.
func bridgeConfigs(cs []conf.BridgeConfig) []bridge.Config {
	var cfgs []bridge.Config
	for _, c := range cs {
		bc := bridge.Config{
			Name: c.Name, Addresses: c.Addrs(), Protocol: c.Protocol, ClientID: c.ClientID,
			Username: c.Username, PasswordFile: c.PasswordFile, CleanStart: c.CleanStart,
			SessionExpiry: c.SessionExpiry.D(), KeepAlive: c.KeepAlive.D(), MaxInflight: c.MaxInflight,
			ReconnectMin: c.ReconnectMin.D(), ReconnectMax: c.ReconnectMax.D(),
			OutboxMax: c.Outbox.MaxMessages, OutboxBytes: int64(c.Outbox.MaxBytes),
			DropNewest: c.Outbox.Policy == "drop_newest", Refuse: c.Outbox.Policy == "refuse", OutboxQoS0: c.Outbox.QoS0,
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
	return cfgs
}

// bridgeSet is the running bridges' adapter, nil without one.
func (g *Gateway) bridgeSet() *bridge.Set {
	for _, a := range g.adapters {
		if s, ok := a.(*bridge.Set); ok {
			return s
		}
	}
	return nil
}

// ErrBridgesNeedRestart is ReloadBridges' error when the gateway runs no
// bridge set: it started without bridges.
var ErrBridgesNeedRestart = errors.New("the gateway started without bridges: adding them needs a restart")

// ReloadBridges applies a new, validated bridges section to the running
// bridges (SIGHUP): unchanged bridges keep running, changed ones restart
// with their outbox and local session, new ones start, removed ones stop.
// It logs what it did.
func (g *Gateway) ReloadBridges(ctx context.Context, cs []conf.BridgeConfig) error {
	s := g.bridgeSet()
	if s == nil {
		if len(cs) == 0 {
			return nil
		}
		return ErrBridgesNeedRestart
	}
	ch, err := s.Reconfigure(ctx, bridgeConfigs(cs))
	g.bridgeMu.Lock()
	g.cfg.Bridges = cs
	g.bridgeMu.Unlock()
	g.log.Info("bridges reloaded", "started", ch.Started, "restarted", ch.Restarted, "stopped", ch.Stopped, "unchanged", ch.Kept)
	if err != nil {
		g.log.Error("bridges reload: some bridges did not start", "err", err)
		return fmt.Errorf("bridges: %w", err)
	}
	return nil
}

// bridgeStatus describes the configured bridges for /api/v1/bridges. The
// running ones are read only once the gateway is ready: the bridge set
// builds them while it starts.
func (g *Gateway) bridgeStatus() []httpapi.BridgeStatus {
	var running []*bridge.Bridge
	if g.http.ready.Load() {
		if s := g.bridgeSet(); s != nil {
			running = s.Bridges()
		}
	}
	g.bridgeMu.Lock()
	cfgs := g.cfg.Bridges
	g.bridgeMu.Unlock()
	out := make([]httpapi.BridgeStatus, 0, len(cfgs))
	for _, c := range cfgs {
		b := httpapi.BridgeStatus{Name: c.Name, Enabled: true, Status: "starting", Addresses: c.Addrs()}
		i := slices.IndexFunc(running, func(br *bridge.Bridge) bool { return br.Name() == c.Name })
		if i >= 0 {
			st := running[i].Status()
			b.Enabled = running[i].Enabled()
			switch {
			case !b.Enabled:
				b.Status = "disabled"
			case st.Connected:
				b.Status = "connected"
			default:
				b.Status = "disconnected"
			}
			b.Address, b.Queued, b.QueuedBytes, b.OldestSeconds = st.Address, st.Queued, st.QueuedBytes, st.OldestSeconds
			b.Dropped, b.Reconnects, b.LastError = st.Dropped, st.Reconnects, st.LastError
		}
		out = append(out, b)
	}
	return out
}

// forgetBridges deletes the local sessions bridges left in the store when
// none is configured any more.
func (g *Gateway) forgetBridges() {
	bridge.ForgetRemoved(g.Broker, nil, g.log.With("adapter", "bridge"))
}

// enableBridge is the HTTP API's bridge switch.
func (g *Gateway) enableBridge(ctx context.Context, name string, on bool) error {
	for _, a := range g.adapters {
		if s, ok := a.(*bridge.Set); ok {
			err := s.SetEnabled(ctx, name, on)
			if errors.Is(err, bridge.ErrNoBridge) {
				return fmt.Errorf("%w: %v", httpapi.ErrNoBridge, err)
			}
			return err
		}
	}
	return fmt.Errorf("%w: %q", httpapi.ErrNoBridge, name)
}
