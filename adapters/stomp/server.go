package stomp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/mqgate/mqgate/adapters/internal/netserve"
	"github.com/mqgate/mqgate/adapters/stomp/frame"
	"github.com/mqgate/mqgate/core"
)

// Config is the STOMP adapter's configuration; the gateway fills it from
// the YAML file.
type Config struct {
	Listeners []Listener
	// Namespace is the client id namespace of STOMP sessions (default
	// "stomp"); Mountpoint prefixes every topic.
	Namespace  string
	Mountpoint string
	// Destinations is DestMQTT (default) or DestRabbitMQ.
	Destinations string
	// Limits on one frame: its body, its header count and the length of
	// a command or header line (defaults 1 MiB, 64, 8 KiB).
	MaxBodySize     int
	MaxHeaders      int
	MaxHeaderLength int
	// MaxSubscriptions per connection (default 100).
	MaxSubscriptions int
	// MaxUnacked bounds the messages handed out and not yet acknowledged
	// on a connection's client and client-individual subscriptions
	// (default 32, capped by the broker's max_inflight).
	MaxUnacked int
	// MaxTransactions open on one connection and MaxTransactionFrames
	// held by one (defaults 8 and 1000).
	MaxTransactions      int
	MaxTransactionFrames int
	// MaxTransactionBytes bounds the SEND bodies all open transactions of
	// a connection hold (default 4 MiB).
	MaxTransactionBytes int
	// ConnectTimeout is the deadline for the CONNECT frame (default 10 s).
	ConnectTimeout time.Duration
	// HeartBeat is the interval the server offers both ways (default
	// 10 s; negative: none). A connection whose heart-beats stop for the
	// negotiated interval plus half of it plus a second is closed.
	HeartBeat time.Duration
	// WriteTimeout: a write blocked longer ends the connection (default
	// 10 s).
	WriteTimeout time.Duration
	Version      string // announced in CONNECTED's server header
	Logger       *slog.Logger
}

// Listener is one socket.
type Listener struct {
	Name           string
	Type           string // tcp, tls, ws, wss, sockjs
	Address        string
	Path           string // ws, wss: HTTP path; sockjs: the prefix (default /stomp)
	MaxConnections int
	// TLS is required for tls and wss; a sockjs listener with TLS serves
	// HTTPS.
	TLS *TLS
	// AllowedOrigins are the origins (scheme://host[:port], or "*") a
	// sockjs listener serves besides its own host.
	AllowedOrigins []string
	// Share names the MQTT WebSocket listener whose port serves this ws or
	// wss listener (Routes); it opens no socket of its own.
	Share string
}

// TLS is a listener's certificate setup.
type TLS struct {
	CertFile, KeyFile, CAFile string
	ClientAuth                string // none, request, require
	// CNAsUsername: a verified client certificate is the credential and
	// its common name the username, as on MQTT listeners.
	CNAsUsername bool
	MinVersion   uint16
}

// Server is the STOMP adapter: it accepts connections on its listeners
// and speaks STOMP 1.0, 1.1 and 1.2 to them on behalf of the core.
type Server struct {
	cfg    Config
	broker *core.Broker
	log    *slog.Logger
	ns     *netserve.Server
	limits frame.Limits // after CONNECTED
	first  frame.Limits // for the CONNECT frame, before authentication
	sockjs []*sockjsListener
	wsCfg  netserve.WebSocket // how STOMP's WebSocket endpoints upgrade
	bytes  core.Traffic       // the bytes STOMP connections read and write
}

type listener struct {
	srv *Server
	cfg Listener
}

// New builds the adapter; Start opens its listeners.
func New(cfg Config, b *core.Broker) *Server {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.MaxBodySize, 1<<20)
	def(&cfg.MaxHeaders, 64)
	def(&cfg.MaxHeaderLength, 8192)
	def(&cfg.MaxSubscriptions, 100)
	def(&cfg.MaxUnacked, 32)
	def(&cfg.MaxTransactions, 8)
	def(&cfg.MaxTransactionFrames, 1000)
	def(&cfg.MaxTransactionBytes, 4<<20)
	if cfg.Namespace == "" {
		cfg.Namespace = "stomp"
	}
	if cfg.Destinations == "" {
		cfg.Destinations = DestMQTT
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.HeartBeat == 0 {
		cfg.HeartBeat = 10 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{bytes: b.Traffic("stomp"), cfg: cfg, broker: b, log: cfg.Logger}
	s.limits = frame.Limits{MaxLine: cfg.MaxHeaderLength, MaxHeaders: cfg.MaxHeaders, MaxBody: cfg.MaxBodySize}
	// Before authentication a frame is a CONNECT: no body, few headers.
	s.first = frame.Limits{MaxLine: min(cfg.MaxHeaderLength, 4096), MaxHeaders: min(cfg.MaxHeaders, 32), MaxBody: 0}
	nc := netserve.Config{
		WebSocket: netserve.WebSocket{
			Path:          "/stomp",
			Subprotocols:  []string{"v12.stomp", "v11.stomp", "v10.stomp"},
			Text:          true,
			ReadLimit:     int64(s.limits.MaxFrame()),
			HeaderTimeout: cfg.ConnectTimeout,
		},
		Logger: cfg.Logger,
	}
	s.wsCfg = nc.WebSocket
	for _, lc := range cfg.Listeners {
		if lc.Type == "sockjs" {
			s.sockjs = append(s.sockjs, newSockJSListener(s, lc))
			continue
		}
		if lc.Share != "" {
			continue // served by the MQTT listener it names (Routes)
		}
		nl := netserve.Listener{
			Name: lc.Name, Type: lc.Type, Address: lc.Address, Path: lc.Path,
			MaxConnections: lc.MaxConnections,
			Handler:        &listener{srv: s, cfg: lc},
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

// Name implements the gateway's Adapter.
func (s *Server) Name() string { return "stomp" }

// Addrs returns the bound address of each listener by name.
func (s *Server) Addrs() map[string]net.Addr {
	addrs := s.ns.Addrs()
	for _, sl := range s.sockjs {
		if sl.ln != nil {
			addrs[sl.l.cfg.Name] = sl.ln.Addr()
		}
	}
	return addrs
}

// Start opens every listener and serves them until Stop.
func (s *Server) Start(ctx context.Context) error {
	if err := s.ns.Start(ctx); err != nil {
		return fmt.Errorf("stomp %w", err)
	}
	for i, sl := range s.sockjs {
		if err := sl.start(); err != nil {
			for _, started := range s.sockjs[:i] {
				started.stop(ctx)
			}
			s.ns.Stop(ctx)
			return fmt.Errorf("stomp %w", err)
		}
	}
	addrs := s.Addrs()
	for _, lc := range s.cfg.Listeners {
		if lc.Share != "" {
			s.log.Info("stomp listening on an MQTT listener's port", "listener", lc.Name, "type", lc.Type,
				"mqtt_listener", lc.Share, "path", lc.Path)
			continue
		}
		s.log.Info("stomp listening", "listener", lc.Name, "type", lc.Type, "addr", addrs[lc.Name].String())
	}
	return nil
}

// Routes returns, by MQTT listener name, the WebSocket endpoints of the
// listeners that share an MQTT WebSocket listener's port. Their
// connections belong to that listener's server: they end when the MQTT
// adapter stops, after this one.
func (s *Server) Routes() map[string][]netserve.Route {
	routes := map[string][]netserve.Route{}
	for _, lc := range s.cfg.Listeners {
		if lc.Share == "" {
			continue
		}
		path := lc.Path
		if path == "" {
			path = "/stomp"
		}
		routes[lc.Share] = append(routes[lc.Share], netserve.Route{Path: path, WebSocket: s.wsCfg,
			Handler: &listener{srv: s, cfg: lc}})
	}
	return routes
}

// Stop closes the listeners, sends every client an ERROR frame saying the
// server shuts down, closes the connections and waits for them or ctx.
func (s *Server) Stop(ctx context.Context) error {
	var errs []error
	for _, sl := range s.sockjs {
		errs = append(errs, sl.stop(ctx))
	}
	errs = append(errs, s.ns.Stop(ctx))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stomp adapter stop: %w", err)
	}
	return nil
}

// Open implements netserve.Handler.
func (l *listener) Open(tc *netserve.Conn) netserve.Stream { return newConn(l.srv, l, tc) }

var _ netserve.Refuser = (*listener)(nil)

// Refused implements netserve.Refuser, and counts a SockJS session
// refused too: l was at max_connections, or the MQTT listener whose port
// it shares was.
func (l *listener) Refused() { l.srv.broker.CountRefused("stomp", core.RefusedServerBusy) }
