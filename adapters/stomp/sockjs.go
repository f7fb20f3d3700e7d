package stomp

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/igm/sockjs-go/v3/sockjs"

	"github.com/mqgate/mqgate/adapters/internal/tlsfiles"
)

// SockJS listeners serve STOMP through igm/sockjs-go on an HTTP server of
// their own, at Listener.Path as the prefix: the info endpoint and the
// xhr-streaming, xhr-polling and eventsource transports. sockjs-go is
// wrapped where its defaults do not hold:
//
//   - Origin: a request with an Origin header is refused (403) unless the
//     origin is the request's own host or one of AllowedOrigins, and only
//     those origins are reflected in CORS headers; sockjs-go reflects any
//     origin with credentials. No JSESSIONID cookie is set.
//   - Sessions: sockjs-go keys a session only by the id in the URL, so
//     anyone who learns it can post into it or poll its messages. A
//     session is bound to the address of the peer that opened it: a
//     request for it from another address gets 404. New sessions are
//     limited by MaxConnections.
//   - Size: every request body is capped at twice the largest frame plus
//     room for JSON; sockjs-go decodes xhr_send bodies without a cap. An
//     xhr_send body must be a JSON array of strings.
//   - The SockJS websocket transport is served here (sockjsws.go), not by
//     sockjs-go, which reads it with no size limit.
//   - Backpressure: sockjs-go buffers what a session sends without bound
//     while no request receives it. Writes wait for a receiving request
//     once 64 KiB went out without one, and each write to a receiving
//     response has the write timeout as its deadline, so a client that
//     stops polling or reading ends its session after the write timeout.
//
// Each STOMP frame the server sends is one SockJS message. A SockJS
// session is a connection with a reading goroutine; it is never polled.

// sockjsListener is one SockJS endpoint.
type sockjsListener struct {
	l       *listener
	ln      net.Listener
	http    *http.Server
	handler *sockjs.Handler
	prefix  string
	maxBody int64

	mu     sync.Mutex
	owners map[string]netip.Addr // session id -> the peer that opened it
	flows  map[string]*flow      // session id -> its receivers
	conns  map[*conn]struct{}
	wg     sync.WaitGroup
}

// flow tracks the receiving requests of a session (an xhr poll, an
// xhr_streaming or eventsource response). While none is attached a
// session may send up to unreceivedBudget bytes (the gap between two
// polls); beyond it its writes wait for a receiver, so a client that
// stops polling stops the writer instead of filling sockjs-go's unbounded
// send buffer, and the connection ends after the write timeout.
type flow struct {
	mu         sync.Mutex
	active     int
	unreceived int           // bytes sent since a receiver was last attached
	served     bool          // a STOMP connection runs on the session
	changed    chan struct{} // closed and replaced when active changes
}

const unreceivedBudget = 64 << 10

func (f *flow) attach(n int) {
	f.mu.Lock()
	f.active += n
	if n > 0 {
		f.unreceived = 0
	}
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// wait returns once n more bytes may be sent, false after d without a
// receiver.
func (f *flow) wait(n int, d time.Duration) bool {
	var t *time.Timer
	for {
		f.mu.Lock()
		active, ch := f.active, f.changed
		ok := active > 0 || f.unreceived+n <= unreceivedBudget
		if ok && active == 0 {
			f.unreceived += n
		}
		f.mu.Unlock()
		if ok {
			return true
		}
		if t == nil {
			t = time.NewTimer(d)
			defer t.Stop()
		}
		select {
		case <-ch:
		case <-t.C:
			return false
		}
	}
}

// flow returns the flow of session id, made if need be (sl.mu held).
func (sl *sockjsListener) flowLocked(id string) *flow {
	f := sl.flows[id]
	if f == nil {
		f = &flow{changed: make(chan struct{})}
		sl.flows[id] = f
	}
	return f
}

// receiverTransports are the SockJS transports whose requests carry
// messages to the client.
var receiverTransports = map[string]bool{"xhr": true, "xhr_streaming": true, "eventsource": true, "htmlfile": true, "jsonp": true}

// deadlineWriter gives each write of a receiving response a deadline, so
// a client that stops reading ends the response instead of blocking it.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.rc.SetWriteDeadline(time.Now().Add(w.d))
	return w.ResponseWriter.Write(p)
}

func (w *deadlineWriter) Flush() {
	w.rc.SetWriteDeadline(time.Now().Add(w.d))
	w.rc.Flush()
}

// sessionPath splits a session request's path under the prefix,
// /{server}/{session}/{transport}: server and session are non-empty and
// hold neither '/' nor '.', transport is lower-case letters and '_'.
func sessionPath(p string) (session, transport string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/")
	if !ok {
		return "", "", false
	}
	server, rest, ok := strings.Cut(rest, "/")
	if !ok || !sessionWord(server) {
		return "", "", false
	}
	session, transport, ok = strings.Cut(rest, "/")
	if !ok || !sessionWord(session) || transport == "" {
		return "", "", false
	}
	for i := 0; i < len(transport); i++ {
		if c := transport[i]; (c < 'a' || c > 'z') && c != '_' {
			return "", "", false
		}
	}
	return session, transport, true
}

// sessionWord reports whether w can be a server or session id.
func sessionWord(w string) bool {
	return w != "" && !strings.ContainsAny(w, "/.")
}

func newSockJSListener(s *Server, lc Listener) *sockjsListener {
	prefix := strings.TrimSuffix(lc.Path, "/")
	if prefix == "" {
		prefix = "/stomp"
	}
	sl := &sockjsListener{
		l:       &listener{srv: s, cfg: lc},
		prefix:  prefix,
		maxBody: 2*int64(s.limits.MaxFrame()) + 4096,
		owners:  map[string]netip.Addr{},
		flows:   map[string]*flow{},
		conns:   map[*conn]struct{}{},
	}
	opts := sockjs.DefaultOptions
	opts.Websocket = true // announced by /info; served by serveWebSocket
	opts.JSessionID = nil
	opts.CheckOrigin = sl.originAllowed
	sl.handler = sockjs.NewHandler(prefix, opts, sl.serve)
	sl.http = &http.Server{Handler: sl, ReadHeaderTimeout: s.cfg.ConnectTimeout}
	return sl
}

// originAllowed says a cross-origin request may be served.
func (sl *sockjsListener) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	if slices.Contains(sl.l.cfg.AllowedOrigins, "*") || slices.Contains(sl.l.cfg.AllowedOrigins, o) {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// peer returns the address of a request's peer.
func peer(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// ServeHTTP checks origin, size and session ownership, then hands the
// request to sockjs-go.
func (sl *sockjsListener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !sl.originAllowed(r) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	if r.Body != nil && r.Method == http.MethodPost {
		// Read here, under the cap: sockjs-go would decode a body cut
		// short by a limit and accept the messages it got.
		body, err := io.ReadAll(io.LimitReader(r.Body, sl.maxBody+1))
		if err != nil || int64(len(body)) > sl.maxBody {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/xhr_send") {
			// An array of strings, nothing else: sockjs-go passes on what it
			// decoded before a wrong element.
			var msgs []string
			if err := json.Unmarshal(body, &msgs); err != nil {
				http.Error(w, "Broken JSON encoding.", http.StatusBadRequest)
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if id, transport, ok := sessionPath(strings.TrimPrefix(r.URL.Path, sl.prefix)); ok {
		from := peer(r)
		sl.mu.Lock()
		owner, known := sl.owners[id]
		switch {
		case known && owner != from:
			sl.mu.Unlock()
			http.NotFound(w, r)
			return
		case !known && transport != "xhr_send":
			if max := sl.l.cfg.MaxConnections; max > 0 && len(sl.owners) >= max {
				sl.mu.Unlock()
				http.Error(w, "too many sessions", http.StatusServiceUnavailable)
				sl.l.Refused()
				return
			}
			sl.owners[id] = from
		}
		sl.mu.Unlock()
		if transport == "websocket" {
			sl.serveWebSocket(w, r, id)
			return
		}
		if receiverTransports[transport] {
			sl.mu.Lock()
			f := sl.flowLocked(id)
			sl.mu.Unlock()
			f.attach(1)
			defer func() {
				f.attach(-1)
				sl.mu.Lock()
				if f.active == 0 && !f.served && sl.flows[id] == f {
					delete(sl.flows, id) // no session came of it
				}
				sl.mu.Unlock()
			}()
			w = &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: sl.l.srv.cfg.WriteTimeout}
		}
	}
	sl.handler.ServeHTTP(w, r)
}

// serve runs one SockJS session as a STOMP connection, on the goroutine
// sockjs-go started for it.
func (sl *sockjsListener) serve(sess sockjs.Session) {
	sl.mu.Lock()
	f := sl.flowLocked(sess.ID())
	f.served = true
	t := newSockTransport(sess, f, sl.l.srv.cfg.WriteTimeout)
	c := newConn(sl.l.srv, sl.l, t)
	sl.conns[c] = struct{}{}
	sl.wg.Add(1)
	sl.mu.Unlock()
	c.run()
	sl.mu.Lock()
	delete(sl.conns, c)
	delete(sl.owners, sess.ID())
	delete(sl.flows, sess.ID())
	sl.mu.Unlock()
	sl.wg.Done()
}

func (sl *sockjsListener) start() error {
	var tc *tls.Config
	if t := sl.l.cfg.TLS; t != nil {
		// HTTPS, for pages served over https.
		cert, err := tlsfiles.LoadKeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return fmt.Errorf("listener %s: %w", sl.l.cfg.Name, err)
		}
		tc = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: max(t.MinVersion, tls.VersionTLS12)}
		if t.CAFile != "" {
			if tc.ClientCAs, err = tlsfiles.LoadCAPool(t.CAFile); err != nil {
				return fmt.Errorf("listener %s: %w", sl.l.cfg.Name, err)
			}
		}
		switch t.ClientAuth {
		case "request":
			tc.ClientAuth = tls.VerifyClientCertIfGiven
		case "require":
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	ln, err := net.Listen("tcp", sl.l.cfg.Address)
	if err != nil {
		return fmt.Errorf("listener %s: %w", sl.l.cfg.Name, err)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	sl.ln = ln
	go sl.http.Serve(ln)
	return nil
}

// stop closes the listener, tells every session the server shuts down
// and waits for them, or ctx.
func (sl *sockjsListener) stop(ctx context.Context) error {
	// Accept no more, tell the sessions while their receivers still
	// stream, then close what is left.
	if sl.ln != nil {
		sl.ln.Close()
	}
	sl.mu.Lock()
	for c := range sl.conns {
		c.Stop()
	}
	sl.mu.Unlock()
	done := make(chan struct{})
	go func() { sl.wg.Wait(); close(done) }()
	defer sl.http.Close()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sockTransport is a SockJS session as a connection's transport.
type sockTransport struct {
	nc     net.Conn
	remote netip.AddrPort
}

var _ transport = (*sockTransport)(nil)

func newSockTransport(sess sockjs.Session, f *flow, timeout time.Duration) *sockTransport {
	nc := &sockNetConn{sess: sess, flow: f, timeout: timeout}
	t := &sockTransport{nc: nc}
	if r := sess.Request(); r != nil {
		t.remote, _ = netip.ParseAddrPort(r.RemoteAddr)
	}
	nc.remote = net.TCPAddrFromAddrPort(t.remote)
	return t
}

func (t *sockTransport) NetConn() net.Conn         { return t.nc }
func (t *sockTransport) Remote() netip.AddrPort    { return t.remote }
func (t *sockTransport) Go(f func())               { go f() }
func (t *sockTransport) Shutdown()                 { t.nc.Close() }
func (t *sockTransport) Close() error              { return t.nc.Close() }
func (t *sockTransport) Take() bool                { return false }
func (t *sockTransport) Pollable() bool            { return false }
func (t *sockTransport) Arm()                      {}
func (t *sockTransport) RawConn() syscall.RawConn  { return nil }
func (t *sockTransport) WebSocket() (string, bool) { return "", true } // one frame per message

// sockNetConn reads a SockJS session's messages as a byte stream and
// sends each write as one message.
type sockNetConn struct {
	sess     sockjs.Session
	flow     *flow
	timeout  time.Duration
	remote   net.Addr
	buf      []byte // the rest of the message being read (reader only)
	mu       sync.Mutex
	deadline time.Time
	once     sync.Once
	closed   chan struct{}
}

func (c *sockNetConn) Read(b []byte) (int, error) {
	if len(c.buf) == 0 {
		c.mu.Lock()
		dl := c.deadline
		c.mu.Unlock()
		ctx := context.Background()
		if !dl.IsZero() {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, dl)
			defer cancel()
		}
		m, err := c.sess.RecvCtx(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, os.ErrDeadlineExceeded
		}
		if err != nil {
			return 0, io.EOF
		}
		c.buf = []byte(m)
	}
	n := copy(b, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

func (c *sockNetConn) Write(b []byte) (int, error) {
	if !c.flow.wait(len(b), c.timeout) {
		return 0, os.ErrDeadlineExceeded // the client stopped receiving
	}
	if err := c.sess.Send(string(b)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Close ends the session with SockJS's normal closure, which clients do
// not answer by reconnecting (3000 "Go away!" made sockjs-client loop).
func (c *sockNetConn) Close() error {
	c.once.Do(func() { c.sess.Close(1000, "Normal closure") })
	return nil
}

func (c *sockNetConn) LocalAddr() net.Addr  { return c.remote }
func (c *sockNetConn) RemoteAddr() net.Addr { return c.remote }
func (c *sockNetConn) SetDeadline(t time.Time) error {
	return c.SetReadDeadline(t)
}
func (c *sockNetConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}
func (c *sockNetConn) SetWriteDeadline(time.Time) error { return nil }
