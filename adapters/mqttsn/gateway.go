package mqttsn

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
	"github.com/mqgate/mqgate/adapters/mqttsn/packet"
	"github.com/mqgate/mqgate/core"
)

// Stats are the gateway's own counters.
type Stats struct {
	Malformed   atomic.Int64 // datagrams dropped as malformed or oversized
	Unknown     atomic.Int64 // datagrams from an address with no client that need one
	Denied      atomic.Int64 // publishes and subscribes refused by authorization (return code 3)
	Refused     atomic.Int64 // CONNECTs refused (authentication, limits)
	Retransmits atomic.Int64
	Lost        atomic.Int64 // clients ended by keep alive, sleep timer or Nretry
}

// Gateway is the MQTT-SN adapter.
type Gateway struct {
	cfg    Config
	broker *core.Broker
	log    *slog.Logger
	stats  Stats
	// predefined topic names by id, and ids by name
	preName map[uint16]string
	preID   map[string]uint16

	mu        sync.Mutex
	listeners []*listener
	byAddr    map[string]*client
	byID      map[string]*client
	sessions  map[string]*sessionState
	unlisten  func() // removes the core event listener
	stopping  bool
	dtlsConns map[net.Conn]struct{}

	work *workqueue.Queue[*client] // clients the core notified
	stop chan struct{}
	wg   sync.WaitGroup
}

// sessionState is what the adapter keeps of a session beyond a
// connection: its topic registry.
type sessionState struct {
	reg     *Registry
	expires time.Time // zero while connected or when it never expires
}

type listener struct {
	cfg  Listener
	udp  *net.UDPConn
	dtls *dtlsconf.Listener
}

// New builds the gateway; Start opens its listeners.
func New(cfg Config, b *core.Broker) *Gateway {
	cfg.setDefaults()
	g := &Gateway{
		cfg: cfg, broker: b, log: cfg.Logger,
		preName:   map[uint16]string{},
		preID:     map[string]uint16{},
		byAddr:    map[string]*client{},
		byID:      map[string]*client{},
		sessions:  map[string]*sessionState{},
		dtlsConns: map[net.Conn]struct{}{},
		work:      workqueue.New[*client](),
		stop:      make(chan struct{}),
	}
	for id, name := range cfg.PredefinedTopics {
		g.preName[id] = name
		g.preID[name] = id
	}
	return g
}

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
	g.unlisten = g.broker.Listen(core.Events{SessionEnded: g.sessionEnded})
	for _, lc := range g.cfg.Listeners {
		l, err := g.open(ctx, lc)
		if err != nil {
			g.unlisten()
			g.closeListeners()
			return fmt.Errorf("mqttsn listener %s (%s %s): %w", lc.Name, lc.Type, lc.Address, err)
		}
		g.mu.Lock()
		g.listeners = append(g.listeners, l)
		g.mu.Unlock()
	}
	for _, l := range g.listeners {
		g.wg.Add(1)
		if l.udp != nil {
			g.log.Info("mqtt-sn listening", "listener", l.cfg.Name, "type", "udp", "addr", l.udp.LocalAddr().String())
			go g.readUDP(l)
		} else {
			g.log.Info("mqtt-sn listening", "listener", l.cfg.Name, "type", "dtls", "addr", l.dtls.Addr().String())
			go g.acceptDTLS(l)
		}
	}
	g.wg.Add(1)
	go g.service()
	if g.cfg.AdvertiseInterval > 0 {
		if err := g.startAdvertise(); err != nil {
			g.Stop(ctx)
			return err
		}
	}
	return nil
}

func (g *Gateway) open(ctx context.Context, lc Listener) (*listener, error) {
	l := &listener{cfg: lc}
	switch lc.Type {
	case "udp", "":
		var lcfg net.ListenConfig
		pc, err := lcfg.ListenPacket(ctx, "udp", lc.Address)
		if err != nil {
			return nil, err
		}
		l.udp = pc.(*net.UDPConn)
		g.setSocketBuffers(&lc, l.udp)
	case "dtls":
		ln, err := dtlsconf.Listen(lc.Address, lc.DTLS, dtlsconf.ListenConfig{SocketBuffer: lc.socketBuffer()})
		if err != nil {
			return nil, err
		}
		g.probeSocketBuffers(&lc)
		l.dtls = ln
	default:
		return nil, fmt.Errorf("unknown listener type %q", lc.Type)
	}
	return l, nil
}

// readBufSize leaves room above the message limit for a forwarder
// encapsulation header and for detecting an oversized datagram.
func (g *Gateway) readBufSize() int { return g.cfg.MaxMessageSize + 256 + 1 }

func (g *Gateway) readUDP(l *listener) {
	defer g.wg.Done()
	buf := make([]byte, g.readBufSize())
	for {
		n, addr, err := l.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
		g.datagram(l, peer{l: l, addr: addr}, buf[:n])
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
	for {
		n, err := nc.Read(buf)
		if err != nil {
			return
		}
		g.datagram(l, p, buf[:n])
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

// Stop tells connected clients the gateway is going (DISCONNECT), detaches
// them from their sessions as a server-side close, closes the sockets and
// waits for every goroutine or ctx.
func (g *Gateway) Stop(ctx context.Context) error {
	g.mu.Lock()
	if g.stopping {
		g.mu.Unlock()
		return nil
	}
	g.stopping = true
	unlisten := g.unlisten
	clients := make([]*client, 0, len(g.byAddr))
	for _, c := range g.byAddr {
		clients = append(clients, c)
	}
	g.mu.Unlock()
	if unlisten != nil {
		unlisten()
	}
	close(g.stop)
	for _, c := range clients {
		c.mu.Lock()
		if c.state != stateGone {
			if c.state == stateActive || c.state == stateAwake {
				c.sendPacket(&packet.Packet{Type: packet.DISCONNECT})
			}
			g.endLocked(c, core.DisconnectWithWill, "gateway stopping")
		}
		c.mu.Unlock()
	}
	g.closeListeners()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mqttsn adapter stop: %w", ctx.Err())
	}
}

// markDirty queues c for the service goroutine. It takes only the
// queue's leaf lock, so the core may call it with its locks held.
func (g *Gateway) markDirty(c *client) { g.work.Mark(c, &c.queued) }

// tick is the service goroutine's timer resolution: fine enough for the
// retry interval, never busier than 100 times a second.
func (g *Gateway) tick() time.Duration { return workqueue.Tick(g.cfg.RetryInterval) }

// service pulls deliveries for notified clients and runs every timer.
func (g *Gateway) service() {
	defer g.wg.Done()
	g.work.Run(g.stop, g.tick(), func(c *client) {
		c.queued.Store(false)
		c.mu.Lock()
		c.service(time.Now())
		c.mu.Unlock()
	}, g.timers)
}

// timers runs keep alive, sleep, will exchange and retransmission timers
// for every client, and forgets expired session registries.
func (g *Gateway) timers(now time.Time) {
	g.mu.Lock()
	clients := make([]*client, 0, len(g.byAddr))
	for _, c := range g.byAddr {
		clients = append(clients, c)
	}
	for id, s := range g.sessions {
		if !s.expires.IsZero() && now.After(s.expires) {
			delete(g.sessions, id)
		}
	}
	g.mu.Unlock()
	for _, c := range clients {
		c.mu.Lock()
		c.timers(now)
		c.mu.Unlock()
	}
}

// sessionEnded forgets the topic registry of a disconnected client whose
// core session ended: capped by the broker's maximum session expiry,
// taken over with a clean start by another protocol, or deleted by an
// operator. It runs as a core event listener; the core calls it without
// its own locks, and g.mu is a leaf here.
func (g *Gateway) sessionEnded(namespace, clientID string) {
	if namespace != g.cfg.Namespace {
		return
	}
	g.mu.Lock()
	if g.byID[clientID] == nil {
		delete(g.sessions, clientID)
	}
	g.mu.Unlock()
}
