package coap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqgate/mqgate/adapters/internal/dtlsconf"
	"github.com/mqgate/mqgate/adapters/internal/workqueue"
	"github.com/mqgate/mqgate/core"
)

// Stats are the gateway's own counters.
type Stats struct {
	Malformed     atomic.Int64 // datagrams dropped or answered RST/4.00 as malformed
	BadOption     atomic.Int64 // requests refused 4.02 or 5.05 for their options
	TooLarge      atomic.Int64 // datagrams over the message size limit
	Denied        atomic.Int64 // requests refused 4.01 or 4.03
	Limited       atomic.Int64 // requests refused by a limit (4.29, 5.03)
	Duplicates    atomic.Int64 // confirmable requests answered from the duplicate cache
	Retransmits   atomic.Int64 // CON notifications sent again
	ObserveLost   atomic.Int64 // observations dropped: never acknowledged, or reset
	HeartbeatLost atomic.Int64 // clients dropped after a silent heartbeat window
}

// Gateway is the CoAP adapter.
type Gateway struct {
	cfg    Config
	broker *core.Broker
	log    *slog.Logger
	stats  Stats

	mu        sync.Mutex
	listeners []*listener
	byAddr    map[string]*client
	byID      map[string]*client
	stopping  bool
	dtlsConns map[net.Conn]struct{}

	echoKey [32]byte

	work *workqueue.Queue[*client] // clients the core notified
	stop chan struct{}
	wg   sync.WaitGroup
}

type listener struct {
	cfg   Listener
	udp   *net.UDPConn
	dtls  *dtlsconf.Listener
	bytes core.Traffic // the datagrams' bytes, counted by the core as CoAP's
}

// peer is where a client's datagrams come from and its replies go: a UDP
// address, or a DTLS association.
type peer struct {
	l    *listener
	addr netip.AddrPort
	conn net.Conn // DTLS association; nil for plain UDP
	cn   string   // DTLS certificate CN or PSK identity
}

// key identifies the peer in Gateway.byAddr.
func (p *peer) key() string { return p.l.cfg.Name + "|" + p.addr.String() }

func (p *peer) write(b []byte) error {
	var n int
	var err error
	if p.conn != nil {
		n, err = p.conn.Write(b)
	} else {
		n, err = p.l.udp.WriteToUDPAddrPort(b, p.addr)
	}
	p.l.bytes.Sent(n)
	return err
}

// New builds the gateway; Start opens its listeners.
func New(cfg Config, b *core.Broker) *Gateway {
	cfg.setDefaults()
	return &Gateway{
		cfg: cfg, broker: b, log: cfg.Logger,
		byAddr:    map[string]*client{},
		byID:      map[string]*client{},
		dtlsConns: map[net.Conn]struct{}{},
		work:      workqueue.New[*client](),
		stop:      make(chan struct{}),
		echoKey:   newEchoKey(),
	}
}

// Name is the name the gateway knows this adapter by.
func (g *Gateway) Name() string { return "coap" }

// Stats returns the gateway's counters.
func (g *Gateway) Stats() *Stats { return &g.stats }

// Addrs returns the bound address of each listener by name.
func (g *Gateway) Addrs() map[string]net.Addr {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := map[string]net.Addr{}
	for _, l := range g.listeners {
		if l.udp != nil {
			m[l.cfg.Name] = l.udp.LocalAddr()
		} else {
			m[l.cfg.Name] = l.dtls.Addr()
		}
	}
	return m
}

// Start opens every listener and starts the service goroutine.
func (g *Gateway) Start(ctx context.Context) error {
	for _, lc := range g.cfg.Listeners {
		l, err := g.open(ctx, lc)
		if err != nil {
			g.closeListeners()
			return fmt.Errorf("coap listener %s (%s %s): %w", lc.Name, lc.Type, lc.Address, err)
		}
		g.mu.Lock()
		g.listeners = append(g.listeners, l)
		g.mu.Unlock()
	}
	for _, l := range g.listeners {
		g.wg.Add(1)
		if l.udp != nil {
			g.log.Info("coap listening", "listener", l.cfg.Name, "type", "udp", "addr", l.udp.LocalAddr().String())
			go g.readUDP(l)
		} else {
			g.log.Info("coap listening", "listener", l.cfg.Name, "type", "dtls", "addr", l.dtls.Addr().String())
			go g.acceptDTLS(l)
		}
	}
	g.wg.Add(1)
	go g.service()
	return nil
}

func (g *Gateway) open(ctx context.Context, lc Listener) (*listener, error) {
	l := &listener{cfg: lc, bytes: g.broker.Traffic("coap")}
	switch lc.Type {
	case "udp", "":
		var lcfg net.ListenConfig
		pc, err := lcfg.ListenPacket(ctx, "udp", lc.Address)
		if err != nil {
			return nil, err
		}
		l.udp = pc.(*net.UDPConn)
	case "dtls":
		ln, err := dtlsconf.Listen(lc.Address, lc.DTLS, dtlsconf.ListenConfig{Attempt: g.dtlsAttempt})
		if err != nil {
			return nil, err
		}
		l.dtls = ln
	default:
		return nil, fmt.Errorf("unknown listener type %q", lc.Type)
	}
	return l, nil
}

// errTooManyAssociations refuses a DTLS handshake beyond max_clients.
var errTooManyAssociations = errors.New("coap: too many DTLS associations")

// dtlsAttempt admits a new DTLS association while fewer than MaxClients
// exist, handshaking or established: each holds a goroutine for up to the
// handshake timeout, so a ClientHello flood from spoofed sources is
// bounded by it.
func (g *Gateway) dtlsAttempt(net.Addr) error {
	g.mu.Lock()
	n := len(g.dtlsConns)
	g.mu.Unlock()
	if n >= g.cfg.MaxClients {
		g.stats.Limited.Add(1)
		g.broker.CountRefused("coap", core.RefusedServerBusy)
		return errTooManyAssociations
	}
	return nil
}

// readBufSize is one byte over the message limit, to tell an oversized
// datagram from one that fits.
func (g *Gateway) readBufSize() int { return g.cfg.MaxMessageSize + 1 }

func (g *Gateway) readUDP(l *listener) {
	defer g.wg.Done()
	buf := make([]byte, g.readBufSize())
	var r request
	for {
		n, addr, err := l.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
		g.datagram(peer{l: l, addr: addr}, buf[:n], &r)
	}
}

func (g *Gateway) acceptDTLS(l *listener) {
	defer g.wg.Done()
	dtlsconf.AcceptLoop(l.dtls, g.stop, g.log, l.cfg.Name, func(nc net.Conn) bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.stopping {
			return false
		}
		g.dtlsConns[nc] = struct{}{}
		g.wg.Add(1)
		go g.readDTLS(l, nc)
		return true
	})
}

func (g *Gateway) readDTLS(l *listener, nc net.Conn) {
	defer g.wg.Done()
	defer func() {
		nc.Close()
		g.mu.Lock()
		delete(g.dtlsConns, nc)
		g.mu.Unlock()
	}()
	cn, addr, err := dtlsconf.Handshake(nc)
	if err != nil {
		g.log.Debug("dtls handshake failed", "listener", l.cfg.Name, "remote", nc.RemoteAddr().String(), "err", err)
		return
	}
	p := peer{l: l, conn: nc, cn: cn, addr: addr}
	buf := make([]byte, g.readBufSize())
	var r request
	for {
		// An association silent for a heartbeat window is closed, as its
		// client is dropped: it frees its place under max_clients.
		nc.SetReadDeadline(time.Now().Add(g.cfg.Heartbeat))
		n, err := nc.Read(buf)
		if err != nil {
			g.associationClosed(p)
			return
		}
		g.datagram(p, buf[:n], &r)
	}
}

func (g *Gateway) closeListeners() {
	g.mu.Lock()
	ls := g.listeners
	conns := make([]net.Conn, 0, len(g.dtlsConns))
	for c := range g.dtlsConns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for _, l := range ls {
		if l.udp != nil {
			l.udp.Close()
		} else {
			l.dtls.Close()
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

// Stop detaches every client from its session as a server-side close,
// closes the sockets and waits for every goroutine or ctx.
func (g *Gateway) Stop(ctx context.Context) error {
	g.mu.Lock()
	if g.stopping {
		g.mu.Unlock()
		return nil
	}
	g.stopping = true
	clients := make([]*client, 0, len(g.byID))
	for _, c := range g.byID {
		clients = append(clients, c)
	}
	g.mu.Unlock()
	close(g.stop)
	for _, c := range clients {
		c.mu.Lock()
		g.endLocked(c, core.DisconnectWithWill, "gateway stopping")
		c.mu.Unlock()
	}
	g.closeListeners()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("coap adapter stop: %w", ctx.Err())
	}
}

// markDirty queues c for the service goroutine. It takes only the
// queue's leaf lock, so the core may call it with its locks held.
func (g *Gateway) markDirty(c *client) { g.work.Mark(c, &c.queued) }

// tick is the service goroutine's timer resolution.
func (g *Gateway) tick() time.Duration { return workqueue.Tick(g.cfg.AckTimeout) }

// service sends notifications for notified clients and runs the
// retransmission and heartbeat timers.
func (g *Gateway) service() {
	defer g.wg.Done()
	g.work.Run(g.stop, g.tick(), func(c *client) {
		c.queued.Store(false)
		c.mu.Lock()
		c.service(time.Now())
		c.mu.Unlock()
	}, g.timers)
}

// timers retransmits unacknowledged CON notifications and drops clients
// silent for longer than the heartbeat window.
func (g *Gateway) timers(now time.Time) {
	g.mu.Lock()
	clients := make([]*client, 0, len(g.byID))
	for _, c := range g.byID {
		clients = append(clients, c)
	}
	g.mu.Unlock()
	for _, c := range clients {
		c.mu.Lock()
		c.timers(now)
		c.mu.Unlock()
	}
}
