package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mqgate/mqgate/adapters/internal/netserve"
	"github.com/mqgate/mqgate/adapters/internal/tlsfiles"
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
}

// TLS is a listener's certificate setup.
type TLS struct {
	CertFile, KeyFile, CAFile string
	ClientAuth                string // none, request, require
	CNAsUsername              bool
	MinVersion                uint16 // tls.VersionTLS12 or tls.VersionTLS13
}

// maxConnectSize caps the first packet, before authentication, so a
// client cannot make the broker allocate a large buffer without
// credentials (checklist A2).
const maxConnectSize = 100 * 1024

// Server is the MQTT adapter: it accepts connections on its listeners and
// speaks MQTT 3.1, 3.1.1 and 5.0 to them on behalf of the core.
type Server struct {
	cfg    Config
	broker *core.Broker
	log    *slog.Logger

	poller  *poller // nil: every connection has a reading goroutine
	workers *netserve.Workers

	mu        sync.Mutex
	listeners []*listener
	conns     connList
	stopping  bool
	wg        sync.WaitGroup
}

type listener struct {
	cfg    Listener
	ln     net.Listener
	raw    *netserve.RawListener // Linux tcp and tls listeners: accepts instead of ln
	http   *http.Server
	tls    *tls.Config
	active atomic.Int64
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
		cfg.readLinger = linger
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
	return &Server{cfg: cfg, broker: b, log: cfg.Logger, workers: netserve.NewWorkers()}
}

// Addrs returns the bound address of each listener by name (useful with
// port 0).
// debug reports whether packet debug lines are written; checked before
// one is built, so the message path does not allocate for them.
func (s *Server) debug() bool { return s.log.Enabled(context.Background(), slog.LevelDebug) }

func (s *Server) Addrs() map[string]net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]net.Addr, len(s.listeners))
	for _, l := range s.listeners {
		m[l.cfg.Name] = l.ln.Addr()
	}
	return m
}

// Start opens every listener and serves them until Stop. A listener that
// cannot open fails Start and closes the ones already open.
func (s *Server) Start(ctx context.Context) error {
	if pl, err := newPoller(); err == nil {
		s.poller = pl
	} else {
		s.log.Debug("idle connections are not polled", "err", err)
	}
	for _, lc := range s.cfg.Listeners {
		l, err := s.open(ctx, lc)
		if err != nil {
			s.closeListeners()
			if s.poller != nil {
				s.poller.close()
			}
			return fmt.Errorf("mqtt listener %s (%s %s): %w", lc.Name, lc.Type, lc.Address, err)
		}
		s.mu.Lock()
		s.listeners = append(s.listeners, l)
		s.mu.Unlock()
		s.log.Info("mqtt listening", "listener", lc.Name, "type", lc.Type, "addr", l.ln.Addr().String())
	}
	for _, l := range s.listeners {
		s.wg.Add(1)
		go s.serve(l)
	}
	return nil
}

func (s *Server) open(ctx context.Context, lc Listener) (*listener, error) {
	l := &listener{cfg: lc}
	if lc.Type == "tls" || lc.Type == "wss" {
		tc, err := tlsConfig(lc.TLS)
		if err != nil {
			return nil, err
		}
		l.tls = tc
	}
	var lcfg net.ListenConfig
	if lc.Type == "tcp" || lc.Type == "tls" {
		// MQTT keep alive watches the peer. TCP keep-alive probes cost four
		// system calls per accepted connection, so they are turned on only
		// for a client that asks for no MQTT keep alive (conn.connect).
		lcfg.KeepAlive = -1
	}
	ln, err := lcfg.Listen(ctx, "tcp", lc.Address)
	if err != nil {
		return nil, err
	}
	if lc.Type == "tcp" || lc.Type == "tls" {
		if rl, err := netserve.NewRawListener(ln); err == nil {
			l.raw = rl
		} else {
			s.log.Debug("listener accepts through the net package", "listener", lc.Name, "err", err)
		}
	}
	if l.tls != nil && lc.Type == "wss" {
		ln = tls.NewListener(ln, l.tls)
	}
	l.ln = ln
	if lc.Type == "ws" || lc.Type == "wss" {
		path := lc.Path
		if path == "" {
			path = "/mqtt"
		}
		mux := http.NewServeMux()
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { s.serveWS(l, w, r) })
		l.http = &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: s.cfg.ConnectTimeout,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		}
	}
	return l, nil
}

func tlsConfig(t *TLS) (*tls.Config, error) {
	if t == nil {
		return nil, errors.New("tls: cert_file and key_file are required")
	}
	cert, err := tlsfiles.LoadKeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.MinVersion != 0 {
		tc.MinVersion = t.MinVersion
	}
	if t.CAFile != "" {
		pool, err := tlsfiles.LoadCAPool(t.CAFile)
		if err != nil {
			return nil, err
		}
		tc.ClientCAs = pool
	}
	switch t.ClientAuth {
	case "request":
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	case "require":
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

func (s *Server) serve(l *listener) {
	defer s.wg.Done()
	if l.http != nil {
		if err := l.http.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("websocket listener stopped", "listener", l.cfg.Name, "err", err)
		}
		return
	}
	var delay time.Duration
	for {
		nc, remote, err := l.accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary failures (EMFILE): back off instead of spinning.
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay < time.Second {
				delay *= 2
			}
			s.log.Warn("accept failed", "listener", l.cfg.Name, "err", err)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if !s.admit(l) {
			nc.Close()
			continue
		}
		if l.tls != nil {
			nc = tls.Server(nc, l.tls)
		}
		c := s.newConn(l, nc, remote)
		if c == nil || c.awaitConnect() {
			continue
		}
		s.workers.Go(c.run)
	}
}

// accept returns the listener's next connection and its peer's address.
func (l *listener) accept() (net.Conn, netip.AddrPort, error) {
	if l.raw != nil {
		return l.raw.Accept()
	}
	nc, err := l.ln.Accept()
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	return nc, addrPort(nc.RemoteAddr()), nil
}

// admit counts a new connection against the listener's limit.
func (s *Server) admit(l *listener) bool {
	if n := l.active.Add(1); l.cfg.MaxConnections > 0 && n > int64(l.cfg.MaxConnections) {
		l.active.Add(-1)
		s.log.Warn("connection refused: listener at max_connections", "listener", l.cfg.Name, "max", l.cfg.MaxConnections)
		return false
	}
	return true
}

var upgrader = websocket.Upgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 1024,
	// [MQTT-6.0.0-3] the subprotocol is "mqtt"; older clients ask for
	// "mqttv3.1".
	Subprotocols: []string{"mqtt", "mqttv3.1", "mqttv3.1.1"},
	// MQTT over WebSocket is used from browser pages served anywhere;
	// authentication is MQTT's, not the Origin header's.
	CheckOrigin: func(*http.Request) bool { return true },
}

func (s *Server) serveWS(l *listener, w http.ResponseWriter, r *http.Request) {
	if !s.admit(l) {
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		l.active.Add(-1)
		return
	}
	ws.SetReadLimit(int64(s.cfg.MaxPacketSize) + 16)
	c := s.newConn(l, netserve.NewWSConn(ws, false), peerAddr(r.RemoteAddr))
	if c == nil {
		return
	}
	c.run()
}

// newConn registers a connection so Stop can end it. It returns nil when
// the server is stopping.
func (s *Server) newConn(l *listener, nc net.Conn, remote netip.AddrPort) *conn {
	c := newConn(s, l, nc, remote)
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		if ws, ok := nc.(*netserve.WSConn); ok {
			// Stop does not wait for this connection: it gets the
			// close frame but no wait for the peer's answer.
			ws.SetStatus(netserve.CloseGoingAway)
			ws.Abort()
		} else {
			nc.Close()
		}
		l.active.Add(-1)
		return nil
	}
	s.conns.add(c)
	s.wg.Add(1)
	s.mu.Unlock()
	return c
}

func (s *Server) connDone(c *conn) {
	s.mu.Lock()
	s.conns.remove(c)
	s.mu.Unlock()
	c.l.active.Add(-1)
	s.wg.Done()
}

// connList is the server's connections, linked through the connections
// themselves: adding or removing one hashes and allocates nothing.
type connList struct {
	head *conn
	n    int
}

func (l *connList) add(c *conn) {
	c.next = l.head
	if l.head != nil {
		l.head.prev = c
	}
	l.head = c
	l.n++
}

func (l *connList) remove(c *conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	}
	c.prev, c.next = nil, nil
	l.n--
}

func (l *connList) all() []*conn {
	conns := make([]*conn, 0, l.n)
	for c := l.head; c != nil; c = c.next {
		conns = append(conns, c)
	}
	return conns
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	ls := s.listeners
	s.mu.Unlock()
	for _, l := range ls {
		switch {
		case l.http != nil:
			l.http.Close()
		case l.raw != nil:
			l.raw.Close()
		default:
			l.ln.Close()
		}
	}
}

// Stop closes the listeners, tells every client the server is shutting
// down (v5 DISCONNECT 0x8B), closes the connections and waits for their
// goroutines or ctx.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopping = true
	conns := s.conns.all()
	s.mu.Unlock()
	s.closeListeners()
	for _, c := range conns {
		c.Kick(core.ServerShuttingDown)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		if s.poller != nil {
			s.poller.close()
		}
		s.workers.Stop()
		return nil
	case <-ctx.Done():
		// Connections still finishing keep their workers; the waiting
		// ones end now, and so does the poller.
		if s.poller != nil {
			s.poller.close()
		}
		s.workers.Release()
		return fmt.Errorf("mqtt adapter stop: %w", ctx.Err())
	}
}
