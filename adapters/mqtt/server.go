package mqtt

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/mqgate/mqgate/adapters/internal/netserve"
	"github.com/mqgate/mqgate/core"
)

// Config is the MQTT adapter's configuration; the gateway fills it from
// the YAML file.
type Config struct {
	Listeners      []Listener
	MaxPacketSize  int           // largest packet accepted and announced (default 1 MiB)
	ConnectTimeout time.Duration // deadline for the first CONNECT (default 10 s)
	MaxKeepAlive   int           // seconds; v5 clients are told Server Keep Alive, v3 clients above it are refused
	MaxClientIDLen int           // default 1024
	MaxTopicAlias  int           // Topic Alias Maximum announced to v5 clients (0: none)
	WriteTimeout   time.Duration // a write blocked longer ends the connection (default 10 s)
	Logger         *slog.Logger

	readLinger time.Duration // how long a busy reader waits for more input (linger; tests change it)
}

// Listener is one socket.
type Listener struct {
	Name           string
	Type           string // tcp, tls, ws, wss
	Address        string
	Path           string // ws, wss: HTTP path (default /mqtt)
	MaxConnections int    // 0: unlimited
	TLS            *TLS
	// Routes are another protocol's WebSocket endpoints on this ws or wss
	// listener's port (STOMP at /stomp beside MQTT at /mqtt).
	Routes []netserve.Route
}

// Route is another protocol's WebSocket endpoint on an MQTT WebSocket
// listener's port (Listener.Routes).
type Route = netserve.Route

// TLS is a listener's certificate setup.
type TLS struct {
	CertFile, KeyFile, CAFile string
	ClientAuth                string // none, request, require
	CNAsUsername              bool
	MinVersion                uint16 // tls.VersionTLS12 or tls.VersionTLS13
}

// maxConnectSize caps the first packet, before authentication, so a
// client cannot make the broker allocate a large buffer without
// credentials.
const maxConnectSize = 100 * 1024

// Server is the MQTT adapter: it accepts connections on its listeners and
// speaks MQTT 3.1, 3.1.1 and 5.0 to them on behalf of the core.
type Server struct {
	cfg    Config
	broker *core.Broker
	log    *slog.Logger
	ns     *netserve.Server // listeners, poller, workers and connections
	bytes  core.Traffic     // the bytes MQTT connections read and write
}

// listener is the MQTT side of one of the Server's listeners.
type listener struct {
	srv *Server
	cfg Listener
}

// New builds the adapter; Start opens its listeners.
func New(cfg Config, b *core.Broker) *Server {
	if cfg.MaxPacketSize <= 0 {
		cfg.MaxPacketSize = 1 << 20
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.readLinger <= 0 {
		cfg.readLinger = netserve.Linger
	}
	if cfg.MaxKeepAlive <= 0 || cfg.MaxKeepAlive > 65535 {
		cfg.MaxKeepAlive = 65535
	}
	if cfg.MaxClientIDLen <= 0 {
		cfg.MaxClientIDLen = 1024
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, broker: b, log: cfg.Logger, bytes: b.Traffic("mqtt")}
	nc := netserve.Config{
		WebSocket: netserve.WebSocket{
			Path: "/mqtt",
			// [MQTT-6.0.0-3] the subprotocol is "mqtt"; older clients ask
			// for "mqttv3.1".
			Subprotocols:  []string{"mqtt", "mqttv3.1", "mqttv3.1.1"},
			ReadLimit:     int64(cfg.MaxPacketSize) + 16,
			HeaderTimeout: cfg.ConnectTimeout,
		},
		Logger: cfg.Logger,
	}
	for _, lc := range cfg.Listeners {
		nl := netserve.Listener{
			Name: lc.Name, Type: lc.Type, Address: lc.Address, Path: lc.Path,
			MaxConnections: lc.MaxConnections,
			Handler:        &listener{srv: s, cfg: lc},
			Routes:         lc.Routes,
		}
		if t := lc.TLS; t != nil {
			nl.TLS = &netserve.TLS{CertFile: t.CertFile, KeyFile: t.KeyFile, CAFile: t.CAFile,
				ClientAuth: t.ClientAuth, MinVersion: t.MinVersion}
		}
		nc.Listeners = append(nc.Listeners, nl)
	}
	s.ns = netserve.New(nc)
	return s
}

// debug reports whether packet debug lines are written; checked before
// one is built, so the message path does not allocate for them.
func (s *Server) debug() bool { return s.log.Enabled(context.Background(), slog.LevelDebug) }

// Addrs returns the bound address of each listener by name (useful with
// port 0).
func (s *Server) Addrs() map[string]net.Addr { return s.ns.Addrs() }

// Start opens every listener and serves them until Stop. A listener that
// cannot open fails Start and closes the ones already open.
func (s *Server) Start(ctx context.Context) error {
	if err := s.ns.Start(ctx); err != nil {
		return fmt.Errorf("mqtt %w", err)
	}
	addrs := s.ns.Addrs()
	for _, lc := range s.cfg.Listeners {
		s.log.Info("mqtt listening", "listener", lc.Name, "type", lc.Type, "addr", addrs[lc.Name].String())
	}
	return nil
}

var _ netserve.Refuser = (*listener)(nil)

// Open implements netserve.Handler: a connection accepted on l.
func (l *listener) Open(tc *netserve.Conn) netserve.Stream { return newConn(l.srv, l, tc) }

// Refused implements netserve.Refuser: l was at max_connections.
func (l *listener) Refused() { l.srv.broker.CountRefused("mqtt", core.RefusedServerBusy) }

// Stop closes the listeners, tells every client the server is shutting
// down (v5 DISCONNECT 0x8B), closes the connections and waits for their
// goroutines or ctx.
func (s *Server) Stop(ctx context.Context) error {
	if err := s.ns.Stop(ctx); err != nil {
		return fmt.Errorf("mqtt adapter stop: %w", err)
	}
	return nil
}
