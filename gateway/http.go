package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/mqgate/mqgate/core/store/pebble"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/mqgate/mqgate/conf"
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/auth"
	"github.com/mqgate/mqgate/httpapi"
)

// httpServer is the gateway's operations HTTP server (httpapi).
type httpServer struct {
	srv   *http.Server
	ln    net.Listener
	end   chan struct{} // closed when Serve has returned
	ready atomic.Bool   // adapters started and not stopping
	api   *httpapi.Server
	users *auth.PasswordFile // http.users_file; nil without one
	conns httpapi.Conns
	drops httpapi.Drops
}

// events counts connections and drops for the API and metrics: one set
// of event functions, so the core calls one more listener, not two.
func (h *httpServer) events() core.Events {
	e := h.conns.Events()
	e.Dropped = h.drops.Events().Dropped
	return e
}

var errNotReady = errors.New("the gateway is starting or stopping: not every listener is open")

// startHTTP opens the HTTP server when http.address is set. Without API
// keys or users it runs on loopback only (conf.Validate refuses any other
// address) and says so in the log.
func (g *Gateway) startHTTP(ctx context.Context) error {
	c := &g.cfg.HTTP
	if c.Address == "" {
		return nil
	}
	var keys *httpapi.Keys
	if c.APIKeyFile != "" {
		var err error
		if keys, err = httpapi.LoadKeys(c.APIKeyFile); err != nil {
			return fmt.Errorf("http.api_key_file: %w", err)
		}
	}
	var users *auth.PasswordFile
	if c.UsersFile != "" {
		var err error
		if users, err = auth.LoadPasswordFile(c.UsersFile); err != nil {
			return fmt.Errorf("http.users_file: %w", err)
		}
	}
	if !conf.IsLoopback(c.Address) && (keys == nil || keys.Len() == 0) && (users == nil || users.Len() == 0) {
		switch {
		case users == nil:
			return fmt.Errorf("http.api_key_file: %s has no keys; create one with mqgate apikey -f %s NAME", c.APIKeyFile, c.APIKeyFile)
		case keys == nil:
			return fmt.Errorf("http.users_file: %s has no users; create one with mqgate passwd -f %s USER", c.UsersFile, c.UsersFile)
		default:
			return fmt.Errorf("http.api_key_file, http.users_file: %s has no keys and %s no users; create a key with mqgate apikey -f %s NAME or a user with mqgate passwd -f %s USER",
				c.APIKeyFile, c.UsersFile, c.APIKeyFile, c.UsersFile)
		}
	}
	var tlsCfg *tls.Config
	if c.TLS != nil {
		cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
		if err != nil {
			return fmt.Errorf("http.tls: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if c.TLS.MinVersion == "1.3" {
			tlsCfg.MinVersion = tls.VersionTLS13
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", c.Address)
	if err != nil {
		return fmt.Errorf("http.address: %w", err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	h := g.http
	api := httpapi.New(httpapi.Config{
		Admin: g.Broker, Publish: g.Broker.Publish, Keys: keys, Users: users, SessionTTL: time.Duration(c.SessionTTL), Gateway: g.gatewayInfo, Gateways: g.protocolGateways, Bridges: g.bridgeStatus, EnableBridge: g.enableBridge,
		Metrics: httpapi.Metrics(g.Broker, &h.conns, &h.drops, g.storeBytes(), g.bridgeStatus, g.storeSync(), g.dtlsStats),
		Ready: func() error {
			if !h.ready.Load() {
				return errNotReady
			}
			return nil
		},
		Log: g.log.With("component", "http"),
	})
	h.api, h.users = api, users
	// ReadTimeout bounds a slow upload; the body is bounded in size too.
	h.srv = &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	h.ln, h.end = ln, make(chan struct{})
	go func() {
		defer close(h.end)
		if err := h.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			g.log.Error("HTTP server failed", "err", err)
		}
	}()
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	switch {
	case keys == nil && users == nil:
		g.log.Warn("HTTP API serving without credentials on a loopback address: anyone on this machine may call it; set http.api_key_file or http.users_file to require credentials",
			"addr", ln.Addr().String())
	case users == nil:
		g.log.Info("HTTP API listening", "addr", ln.Addr().String(), "scheme", scheme, "api_keys", keys.Len())
	case keys == nil:
		g.log.Info("HTTP API listening", "addr", ln.Addr().String(), "scheme", scheme, "users", users.Len())
	default:
		g.log.Info("HTTP API listening", "addr", ln.Addr().String(), "scheme", scheme, "api_keys", keys.Len(), "users", users.Len())
	}
	return nil
}

// reloadAPIKeys re-reads http.api_key_file (on SIGHUP) and logs what it
// loaded, or that it kept the previous keys and why.
func (g *Gateway) reloadAPIKeys() error {
	file := g.cfg.HTTP.APIKeyFile
	if file == "" || g.http.api == nil {
		return nil
	}
	keys, err := httpapi.LoadKeys(file)
	if err != nil {
		err = fmt.Errorf("http.api_key_file: %w", err)
		g.log.Error("API key file reload failed, previous keys kept", "file", file, "err", err)
		return err
	}
	g.http.api.SetKeys(keys)
	g.log.Info("API key file reloaded", "file", file, "api_keys", keys.Len())
	return nil
}

// reloadUsers re-reads http.users_file (on SIGHUP) and logs what it
// loaded, or that it kept the previous users and why. The login tokens of
// a user the new file does not list stop working.
func (g *Gateway) reloadUsers() error {
	users := g.http.users
	if users == nil {
		return nil
	}
	file := g.cfg.HTTP.UsersFile
	if err := users.Reload(); err != nil {
		err = fmt.Errorf("http.users_file: %w", err)
		g.log.Error("dashboard users file reload failed, previous users kept", "file", file, "users", users.Len(), "err", err)
		return err
	}
	g.log.Info("dashboard users file reloaded", "file", file, "users", users.Len())
	return nil
}

// stopHTTP closes the HTTP server, letting requests under way finish
// until ctx ends.
func (g *Gateway) stopHTTP(ctx context.Context) error {
	h := g.http
	h.ready.Store(false)
	if h.srv == nil {
		return nil
	}
	err := h.srv.Shutdown(ctx)
	if err != nil {
		h.srv.Close()
	}
	<-h.end
	h.srv = nil
	return err
}

// storeSync returns the disk store's sync-latency histogram for /metrics;
// nil with the memory store.
func (g *Gateway) storeSync() *httpapi.StoreSync {
	ps, ok := g.storage.backend().(*pebble.Store)
	if !ok {
		return nil
	}
	return &httpapi.StoreSync{Bounds: pebble.SyncBuckets, Read: ps.SyncLatency}
}

// storeBytes returns what measures the disk store for /metrics: the files
// of the data directory, walked at scrape time; nil with the memory store.
func (g *Gateway) storeBytes() func() int64 {
	if g.cfg.Storage.Type != "disk" {
		return nil
	}
	dir := g.cfg.Storage.Dir
	return func() int64 {
		var n int64
		filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					n += fi.Size()
				}
			}
			return nil
		})
		return n
	}
}

// HTTPAddr returns the bound address of the HTTP server; nil when it is off.
func (g *Gateway) HTTPAddr() net.Addr {
	if g.http.ln == nil {
		return nil
	}
	return g.http.ln.Addr()
}

// gatewayInfo describes the gateway for /api/v1/status.
func (g *Gateway) gatewayInfo() httpapi.GatewayInfo {
	info := httpapi.GatewayInfo{Version: Version, Node: g.cfg.Node, Store: g.cfg.Storage.Type, StoreState: g.storeState(),
		Listeners: []httpapi.Listener{}}
	for _, a := range g.adapters {
		info.Listeners = append(info.Listeners, g.listeners(a.Name())...)
	}
	return info
}

// storeState describes the store for /api/v1/status: its kind, where and
// how the disk store keeps its data, and its failures.
func (g *Gateway) storeState() httpapi.StoreState {
	st := httpapi.StoreState{Type: g.cfg.Storage.Type, State: "ok"}
	if size := g.storeBytes(); size != nil {
		st.Dir, st.Sync, st.SizeBytes = g.cfg.Storage.Dir, g.cfg.Storage.Sync, size()
	}
	h := g.Broker.StoreHealth()
	st.Failures, st.LastError = h.Failures, h.LastError
	if !h.LastAt.IsZero() {
		at := h.LastAt.UTC()
		st.LastErrorAt = &at
		if time.Since(h.LastAt) < httpapi.FailingFor {
			st.State = "failing"
		}
	}
	return st
}

// listeners describes the bound listeners of an adapter, in name order.
func (g *Gateway) listeners(adapter string) []httpapi.Listener {
	addrs := g.Addrs(adapter)
	names := make([]string, 0, len(addrs))
	for n := range addrs {
		names = append(names, n)
	}
	slices.Sort(names)
	out := []httpapi.Listener{}
	for _, n := range names {
		l := httpapi.Listener{Protocol: adapter, Name: n, Address: addrs[n].String(), Connections: g.http.conns.Get(adapter, n).Current}
		if adapter == "mqtt" {
			for _, c := range g.cfg.MQTT.Listeners {
				if c.Name == n {
					l.Type, l.Path = c.Type, c.Path
				}
			}
		}
		out = append(out, l)
	}
	return out
}

// protocolGateways describes the enabled protocol adapters other than
// native MQTT for /api/v1/gateways; bridges have /api/v1/bridges.
func (g *Gateway) protocolGateways() []httpapi.ProtocolGateway {
	status := "starting"
	if g.http.ready.Load() {
		status = "running"
	}
	out := []httpapi.ProtocolGateway{}
	for _, a := range g.adapters {
		if a.Name() == "mqtt" || a.Name() == "bridge" {
			continue
		}
		pg := httpapi.ProtocolGateway{Name: a.Name(), Status: status, Listeners: g.listeners(a.Name())}
		for _, l := range pg.Listeners {
			pg.Connections += l.Connections
		}
		out = append(out, pg)
	}
	return out
}
