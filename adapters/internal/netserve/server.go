package netserve

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
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Config is a Server's setup.
type Config struct {
	Listeners []Listener
	WebSocket WebSocket // for the ws and wss listeners
	Logger    *slog.Logger
}

// Listener is one listening socket and the protocol it serves.
type Listener struct {
	Name           string
	Type           string // tcp, tls, ws, wss
	Address        string
	Path           string // ws, wss: the HTTP path (default WebSocket.Path)
	MaxConnections int    // 0: unlimited
	TLS            *TLS   // tls, wss
	Handler        Handler
	// Routes are more WebSocket endpoints on a ws or wss listener: another
	// protocol sharing the port (STOMP on the MQTT WebSocket listener).
	Routes []Route
}

// Route is a WebSocket endpoint of its own on a shared listener: its path,
// how it upgrades and the protocol that serves it. Its connections count
// against the listener's MaxConnections and end with this Server.
type Route struct {
	Path      string
	WebSocket WebSocket
	Handler   Handler
}

// WebSocket is how the ws and wss listeners upgrade HTTP requests.
type WebSocket struct {
	Path          string        // HTTP path of a listener that names none (default /)
	Subprotocols  []string      // offered, in order of preference [RFC6455 1.9]
	Text          bool          // the protocol's messages are text (STOMP), not binary (MQTT)
	ReadLimit     int64         // largest message read (0: no limit)
	HeaderTimeout time.Duration // for the upgrade request's headers (default 10 s)
}

// Handler is a protocol's side of a listener.
type Handler interface {
	// Open makes the protocol's connection for c, accepted and not yet
	// started. It runs on the goroutine that accepted c and must not
	// block. The server registers the Stream it returns and calls its
	// Start; if the server is stopping by then, it closes c instead.
	Open(c *Conn) Stream
}

// Refuser is a Handler that wants to know of the connections its listener
// (or route) refused at MaxConnections, before the protocol saw them: a
// protocol counts them as its refused connects. Refused runs on the
// accepting goroutine and must not block.
type Refuser interface {
	Refused()
}

// refused tells h, if it asks, that a connection was refused.
func refused(h Handler) {
	if r, ok := h.(Refuser); ok {
		r.Refused()
	}
}

// Stream is a protocol's connection, as the server drives it. None of its
// methods may panic; Start, Readable and PollFailed run on the goroutine
// that owns the connection's reads, and the owner ends the connection
// with Conn.Close.
type Stream interface {
	// Start serves the connection from its beginning; the server calls
	// it once, right after Open, on the same goroutine. It must not
	// block: it either arms a Pollable connection to wait for its first
	// input without a goroutine (Conn.Arm), or runs its reader on a
	// worker (Conn.Go).
	Start()
	// Readable runs on a worker when the poller reports input (or a
	// hang-up) on the armed connection, which it now owns. It handles
	// what is there, then arms the connection again or closes it.
	Readable()
	// PollFailed runs on a goroutine of its own, owning the armed
	// connection, when the poller could not watch it (or was closed):
	// it ends the connection with err.
	PollFailed(err error)
	// Stop asks the connection to end because the server stops: the
	// protocol tells its peer if it has a way to, then ends the
	// connection as it would any other. It runs on the goroutine of
	// Server.Stop and must not block; Stop waits for the Close.
	Stop()
}

// Server accepts connections on its listeners and serves them through
// their protocols' Handlers, with one poller and one pool of workers for
// all of them.
type Server struct {
	cfg      Config
	log      *slog.Logger
	poller   *poller // nil: every connection has a reading goroutine
	workers  *workers
	upgrader websocket.Upgrader

	mu        sync.Mutex
	listeners []*listener
	conns     connList
	stopping  bool
	wg        sync.WaitGroup // accept loops and connections
}

type listener struct {
	srv    *Server
	cfg    Listener
	ln     net.Listener
	raw    *rawListener // Linux tcp and tls listeners: accepts instead of ln
	http   *http.Server
	tls    *tls.Config
	active atomic.Int64
}

// New builds a server; Start opens its listeners.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.WebSocket.Path == "" {
		cfg.WebSocket.Path = "/"
	}
	if cfg.WebSocket.HeaderTimeout <= 0 {
		cfg.WebSocket.HeaderTimeout = 10 * time.Second
	}
	return &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		workers: newWorkers(),
		upgrader: websocket.Upgrader{
			ReadBufferSize:  1024,
			WriteBufferSize: 1024,
			Subprotocols:    cfg.WebSocket.Subprotocols,
			// Browser pages served anywhere connect; the protocol
			// authenticates its clients, not the Origin header.
			CheckOrigin: func(*http.Request) bool { return true },
		},
	}
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
		l, err := s.listen(ctx, lc)
		if err != nil {
			s.closeListeners()
			if s.poller != nil {
				s.poller.close()
			}
			return fmt.Errorf("listener %s (%s %s): %w", lc.Name, lc.Type, lc.Address, err)
		}
		s.mu.Lock()
		s.listeners = append(s.listeners, l)
		s.mu.Unlock()
	}
	for _, l := range s.listeners {
		s.wg.Add(1)
		go s.serve(l)
	}
	return nil
}

// Addrs returns the bound address of each listener by name (useful with
// port 0).
func (s *Server) Addrs() map[string]net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]net.Addr, len(s.listeners))
	for _, l := range s.listeners {
		m[l.cfg.Name] = l.ln.Addr()
	}
	return m
}

// Streams returns the streams of the open connections.
func (s *Server) Streams() []Stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	streams := make([]Stream, 0, s.conns.n)
	for c := s.conns.head; c != nil; c = c.next {
		streams = append(streams, c.stream)
	}
	return streams
}

func (s *Server) listen(ctx context.Context, lc Listener) (*listener, error) {
	if lc.Handler == nil {
		return nil, errors.New("no handler")
	}
	plain := lc.Type == "tcp" || lc.Type == "tls"
	web := lc.Type == "ws" || lc.Type == "wss"
	if !plain && !web {
		return nil, fmt.Errorf("unknown listener type %q", lc.Type)
	}
	l := &listener{srv: s, cfg: lc}
	if lc.Type == "tls" || lc.Type == "wss" {
		tc, err := tlsConfig(lc.TLS)
		if err != nil {
			return nil, err
		}
		l.tls = tc
	}
	var lcfg net.ListenConfig
	if plain {
		// The protocol watches its peers (keep alive, heart-beats). TCP
		// keep-alive probes cost four system calls per accepted
		// connection, so a protocol turns them on only for a peer it does
		// not watch (SetKeepAlive).
		lcfg.KeepAlive = -1
	}
	ln, err := lcfg.Listen(ctx, "tcp", lc.Address)
	if err != nil {
		return nil, err
	}
	if plain {
		if rl, err := newRawListener(ln); err == nil {
			l.raw = rl
		} else {
			s.log.Debug("listener accepts through the net package", "listener", lc.Name, "err", err)
		}
	}
	if l.tls != nil && lc.Type == "wss" {
		ln = tls.NewListener(ln, l.tls)
	}
	l.ln = ln
	if web {
		path := lc.Path
		if path == "" {
			path = s.cfg.WebSocket.Path
		}
		mux := http.NewServeMux()
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			s.serveWS(l, &s.upgrader, s.cfg.WebSocket, lc.Handler, w, r)
		})
		for _, rt := range lc.Routes {
			up := websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024, Subprotocols: rt.WebSocket.Subprotocols,
				CheckOrigin: func(*http.Request) bool { return true }}
			mux.HandleFunc(rt.Path, func(w http.ResponseWriter, r *http.Request) {
				s.serveWS(l, &up, rt.WebSocket, rt.Handler, w, r)
			})
		}
		l.http = &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: s.cfg.WebSocket.HeaderTimeout,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		}
	}
	return l, nil
}

// serve runs l's accept loop, or its HTTP server, until l is closed.
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
			refused(l.cfg.Handler)
			continue
		}
		if l.tls != nil {
			nc = tls.Server(nc, l.tls)
		}
		s.open(l, nc, remote)
	}
}

// accept returns the listener's next connection and its peer's address.
func (l *listener) accept() (net.Conn, netip.AddrPort, error) {
	if l.raw != nil {
		return l.raw.accept()
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

func (s *Server) serveWS(l *listener, up *websocket.Upgrader, cfg WebSocket, h Handler, w http.ResponseWriter, r *http.Request) {
	if !s.admit(l) {
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		refused(h)
		return
	}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		l.active.Add(-1)
		return
	}
	if cfg.ReadLimit > 0 {
		ws.SetReadLimit(cfg.ReadLimit)
	}
	s.openWith(l, h, newWSConn(ws, cfg.Text), peerAddr(r.RemoteAddr))
}

// open hands an admitted connection to its protocol, registers it so
// Stop can end it, and starts it.
func (s *Server) open(l *listener, nc net.Conn, remote netip.AddrPort) {
	s.openWith(l, l.cfg.Handler, nc, remote)
}

// openWith is open with the handler of a route.
func (s *Server) openWith(l *listener, h Handler, nc net.Conn, remote netip.AddrPort) {
	c := &Conn{l: l, nc: nc, remote: remote}
	if RawSocketIO && isTCP(nc) {
		if rc, err := nc.(syscall.Conn).SyscallConn(); err == nil {
			c.raw = rc
			if s.poller != nil {
				c.pollable = rc.Control(func(fd uintptr) { c.fd = int32(fd) }) == nil
			}
		}
	}
	st := h.Open(c)
	c.stream, c.readyFn = st, st.Readable
	if c.pollable {
		c.armFn = c.armFD
	}
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		c.discard()
		return
	}
	s.conns.add(c)
	s.wg.Add(1)
	s.mu.Unlock()
	st.Start()
}

// forget drops a closed connection.
func (s *Server) forget(c *Conn) {
	s.mu.Lock()
	s.conns.remove(c)
	s.mu.Unlock()
	c.l.active.Add(-1)
	s.wg.Done()
}

// connList is the server's connections, linked through the connections
// themselves: adding or removing one hashes and allocates nothing.
type connList struct {
	head *Conn
	n    int
}

func (l *connList) add(c *Conn) {
	c.next = l.head
	if l.head != nil {
		l.head.prev = c
	}
	l.head = c
	l.n++
}

func (l *connList) remove(c *Conn) {
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

func (l *connList) all() []*Conn {
	conns := make([]*Conn, 0, l.n)
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
			// Close covers the listener only once Serve runs: a start
			// that fails before then must close it itself.
			l.ln.Close()
		case l.raw != nil:
			l.raw.close()
		default:
			l.ln.Close()
		}
	}
}

// Stop closes the listeners, stops every connection's stream and waits
// for the connections to close, or for ctx.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopping = true
	conns := s.conns.all()
	s.mu.Unlock()
	s.closeListeners()
	for _, c := range conns {
		c.stream.Stop()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		if s.poller != nil {
			s.poller.close()
		}
		s.workers.stop()
		return nil
	case <-ctx.Done():
		// Connections still finishing keep their workers; the waiting
		// ones end now, and so does the poller.
		if s.poller != nil {
			s.poller.close()
		}
		s.workers.release()
		return fmt.Errorf("connections still open: %w", ctx.Err())
	}
}
