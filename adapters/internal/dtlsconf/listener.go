package dtlsconf

import (
	"bytes"
	"container/list"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/protocol"
	"github.com/pion/dtls/v3/pkg/protocol/extension"
	"github.com/pion/dtls/v3/pkg/protocol/handshake"
	"github.com/pion/dtls/v3/pkg/protocol/recordlayer"
	"github.com/pion/transport/v4/deadline"
)

// The guard in front of pion.
//
// pion/dtls builds a connection, its handshake state and goroutines for
// every source address that sends a ClientHello, before the cookie
// exchange (RFC 6347 4.2.1) proves the client can receive at that address.
// A stateless cookie of our own in front of pion cannot be handed over to
// it: the ClientHello that carries a cookie has message_seq 1, pion's
// server (with its HelloVerifyRequest skipped) only starts from a
// ClientHello with message_seq 0 and answers with a ServerHello of
// message_seq 0 where the client expects 1, and those headers are in the
// handshake hash, so they cannot be rewritten (see flight0Parse and
// flight2Generate in pion/dtls v3.1.15). pion's own HelloVerifyRequest
// therefore stays, and the guard bounds what it costs before the proof:
//
//   - only a well-formed opening ClientHello (epoch 0, message_seq 0, no
//     cookie) opens a handshake in pion: from an unknown address, or with
//     a new client random from a known one (below); anything else from an
//     unknown address is dropped and counted;
//   - a handshake is pending until its peer echoes the cookie pion sent
//     (the guard reads it from pion's HelloVerifyRequest on the way out);
//     pending handshakes are bounded in number, overall and per source IP;
//     beyond the bound a newer hello closes the oldest pending handshake
//     of the source IP that has the most, so a flood churns through a
//     fixed number of pion connections while a client that answers within
//     the window gets through, and one evicted before pion took it costs
//     pion nothing;
//   - a pending handshake older than pendingTimeout is closed when the
//     next hello arrives;
//   - an evicted handshake counts until pion has closed its connection:
//     with twice the bound unproven, new hellos are refused, so pion never
//     holds more than that many connections for unproven peers however
//     slowly it tears them down.
//
// The guard is also the listener's router: datagrams go to a peer by
// source address or, once RFC 9146 Connection IDs are agreed, by the
// Connection ID in the record, so a client whose address changes keeps
// its session (pion moves the peer's address only for an authenticated
// record).
//
// A client that lost its state (it rebooted) and comes back from the same
// address and port opens a new handshake there (RFC 6347 4.2.8): an
// opening ClientHello with a new client random from the address of a
// proven peer starts a pending successor beside it, under the same bounds
// as any pending handshake. While the successor is pending, datagrams
// whose first record is at epoch 0 go to it and everything else to the
// old association, which goes on serving. Only when the successor's peer
// echoes pion's cookie, which proves it receives at the address, does it
// take the address over and the old association close, so its gateway
// forgets the old client. A forged hello gets no further than a pending
// successor; a newer hello with another random replaces a pending one, so
// a forgery cannot hold the address against the real client either.

// DefaultMaxHandshakes bounds the pending handshakes of a listener unless
// configured otherwise.
const DefaultMaxHandshakes = 256

// cidSize is the length of the Connection IDs the listener hands out.
const cidSize = 8

// pendingTimeout is how long a handshake may stay unproven.
const pendingTimeout = 10 * time.Second

// peerQueue is how many datagrams wait for a peer's reader.
const peerQueue = 64

// receiveMTU is the largest datagram read.
const receiveMTU = 8192

// ListenConfig is how a DTLS listener listens.
type ListenConfig struct {
	// SocketBuffer sets the socket's receive and send buffers; 0 leaves the
	// OS default.
	SocketBuffer int
	// Attempt, when not nil, may refuse a new association before its
	// handshake (a bound on associations).
	Attempt func(net.Addr) error
}

// Stats are a listener's counters.
type Stats struct {
	Hellos    atomic.Int64 // ClientHellos that opened a handshake in pion
	Proven    atomic.Int64 // handshakes whose peer echoed pion's cookie
	Evicted   atomic.Int64 // pending handshakes closed for a newer one, or expired
	Dropped   atomic.Int64 // datagrams from unknown peers that open no handshake
	Refused   atomic.Int64 // ClientHellos refused: the accept queue was full
	Overflow  atomic.Int64 // datagrams dropped because a peer's queue was full
	PeakPeers atomic.Int64 // the most peers (pending or proven) held at once
	Reboots   atomic.Int64 // associations replaced by a proven new handshake from their address
}

// Listener is a DTLS listener: pion's, over the guard.
type Listener struct {
	net.Listener
	guard *guard
}

// Stats returns the listener's counters.
func (l *Listener) Stats() *Stats { return &l.guard.stats }

// Peers returns how many peers the listener routes to, pending or proven.
func (l *Listener) Peers() (pending, all int) {
	l.guard.mu.Lock()
	defer l.guard.mu.Unlock()
	return l.guard.pending.Len(), len(l.guard.peers)
}

// Listen opens a DTLS listener on address with the setup in d.
func Listen(address string, d *DTLS, lc ListenConfig) (*Listener, error) {
	var g *guard // set before pion's listener, which calls attempt, starts
	attempt := lc.Attempt
	if attempt != nil {
		attempt = func(a net.Addr) error {
			if g.successorAt(a) {
				// [RFC6347 4.2.8] it takes the place of the association
				// it would replace, and pending it is bounded as any.
				return nil
			}
			return lc.Attempt(a)
		}
	}
	opts, err := ServerOptions(d, attempt)
	if err != nil {
		return nil, err
	}
	cidLen := 0
	if !d.NoConnectionID {
		cidLen = cidSize
		opts = append(opts, dtls.WithConnectionIDGenerator(newCID))
	}
	addr, err := net.ResolveUDPAddr("udp", address)
	if err != nil {
		return nil, err
	}
	pc, err := net.ListenUDP("udp", addr)
	if err != nil {
		return nil, err
	}
	if lc.SocketBuffer > 0 {
		// Best effort: the OS may cap it; the adapter reports what it got.
		_ = pc.SetReadBuffer(lc.SocketBuffer)
		_ = pc.SetWriteBuffer(lc.SocketBuffer)
	}
	maxPending := d.MaxHandshakes
	if maxPending <= 0 {
		maxPending = DefaultMaxHandshakes
	}
	g = &guard{
		pc:         pc,
		cidLen:     cidLen,
		maxPending: maxPending,
		perIP:      max(4, maxPending/8),
		peers:      map[*peer]struct{}{},
		byAddr:     map[netip.AddrPort]*peer{},
		byCID:      map[string]*peer{},
		pendingIP:  map[netip.Addr]*list.List{},
		acceptCh:   make(chan *peer, 2*maxPending),
		done:       make(chan struct{}),
		readDone:   make(chan struct{}),
	}
	go g.readLoop()
	ln, err := dtls.NewListenerWithOptions(g, opts...)
	if err != nil {
		g.Close()
		return nil, fmt.Errorf("dtls listener: %w", err)
	}
	return &Listener{Listener: ln, guard: g}, nil
}

// newCID is a random Connection ID. crypto/rand.Read does not fail.
func newCID() []byte {
	b := make([]byte, cidSize)
	_, _ = rand.Read(b)
	return b
}

// guard is the dtlsnet.PacketListener under pion's listener.
type guard struct {
	pc         *net.UDPConn
	cidLen     int
	maxPending int
	perIP      int
	stats      Stats

	mu        sync.Mutex
	closed    bool
	peers     map[*peer]struct{}
	byAddr    map[netip.AddrPort]*peer
	byCID     map[string]*peer
	pending   list.List                 // *peer, oldest first
	pendingIP map[netip.Addr]*list.List // *peer by source IP, oldest first
	unproven  int                       // peers pion holds, neither proven nor closed

	acceptCh  chan *peer
	done      chan struct{}
	closeOnce sync.Once
	readDone  chan struct{}
}

// errListenerClosed is Accept's error once the listener is closed.
var errListenerClosed = fmt.Errorf("dtls listener: %w", net.ErrClosed)

// Accept hands pion the next peer that opened a handshake, passing over
// those evicted while they waited: pion never builds a connection for them.
func (g *guard) Accept() (net.PacketConn, net.Addr, error) {
	for {
		select {
		case p := <-g.acceptCh:
			g.mu.Lock()
			_, live := g.peers[p]
			p.accepted = live
			g.mu.Unlock()
			if !live {
				continue
			}
			return p, net.UDPAddrFromAddrPort(p.addr), nil
		case <-g.done:
			return nil, nil, errListenerClosed
		}
	}
}

// Close closes the socket and every peer, and waits for the reader.
func (g *guard) Close() error {
	var err error
	g.closeOnce.Do(func() {
		g.mu.Lock()
		g.closed = true
		peers := make([]*peer, 0, len(g.peers))
		for p := range g.peers {
			peers = append(peers, p)
		}
		g.mu.Unlock()
		close(g.done)
		err = g.pc.Close()
		<-g.readDone
		for _, p := range peers {
			p.Close()
		}
	})
	return err
}

// Addr is the socket's address.
func (g *guard) Addr() net.Addr { return g.pc.LocalAddr() }

// successorAt reports whether a handshake at a is pending beside the
// association it would replace.
func (g *guard) successorAt(a net.Addr) bool {
	ua, ok := a.(*net.UDPAddr)
	if !ok {
		return false
	}
	ap := ua.AddrPort()
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	g.mu.Lock()
	defer g.mu.Unlock()
	p := g.byAddr[ap]
	return p != nil && p.next != nil
}

func (g *guard) readLoop() {
	defer close(g.readDone)
	buf := make([]byte, receiveMTU)
	for {
		n, from, err := g.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		b := buf[:n]
		p := g.route(from, b)
		if p == nil {
			continue
		}
		select {
		case p.inbox <- datagram{b: bytes.Clone(b), from: from}:
		default:
			g.stats.Overflow.Add(1)
		}
	}
}

// route finds the peer a datagram belongs to, opening a handshake for a
// new peer's ClientHello; nil drops the datagram.
func (g *guard) route(from netip.AddrPort, b []byte) *peer {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	var p *peer
	if g.cidLen > 0 {
		if cid, ok := recordCID(b, g.cidLen); ok {
			p = g.byCID[string(cid)]
		}
	}
	if p == nil {
		if p = g.byAddr[from]; p == nil {
			random, ok := openingHello(b)
			if !ok {
				g.stats.Dropped.Add(1)
				return nil
			}
			return g.admitLocked(from, random, nil)
		}
		if !plaintextAllowed(b, g.cidLen) {
			g.stats.Dropped.Add(1)
			return nil
		}
		if random, ok := openingHello(b); ok {
			p = g.helloLocked(p, from, random)
		} else if p.next != nil && firstEpoch(b) == 0 {
			// [RFC6347 4.2.8] the old association's records are
			// encrypted; the new handshake's are not yet.
			p = p.next
		}
		if p == nil {
			return nil
		}
	} else if !plaintextAllowed(b, g.cidLen) {
		g.stats.Dropped.Add(1)
		return nil
	}
	if p.elem != nil && p.cookie != nil {
		if c, ok := helloCookie(b); ok && len(c) > 0 && bytes.Equal(c, p.cookie) {
			g.provenLocked(p)
		}
	}
	return p
}

// helloLocked routes an opening ClientHello from the address of a known
// peer cur: a copy of a pending or proven handshake's hello goes to it, as
// a retransmission pion answers; a new one replaces the address's pending
// handshake or, beside a proven association, opens its successor (RFC
// 6347 4.2.8). g.mu is held.
func (g *guard) helloLocked(cur *peer, from netip.AddrPort, random [32]byte) *peer {
	pending := cur.next
	if cur.elem != nil {
		pending = cur
	}
	switch {
	case random == cur.random:
		return cur
	case pending != nil && random == pending.random:
		return pending
	}
	if pending != nil {
		g.evictLocked(pending)
		if pending == cur {
			return g.admitLocked(from, random, nil)
		}
	}
	return g.admitLocked(from, random, cur)
}

// admitLocked makes a pending peer for an opening ClientHello, closing
// pending handshakes beyond the bounds: the peer of an unknown address, or
// the successor of prev, the proven association at from. g.mu is held.
func (g *guard) admitLocked(from netip.AddrPort, random [32]byte, prev *peer) *peer {
	now := time.Now()
	for e := g.pending.Front(); e != nil; e = g.pending.Front() {
		old := e.Value.(*peer)
		if now.Sub(old.opened) < pendingTimeout {
			break
		}
		g.evictLocked(old)
	}
	if l := g.pendingIP[from.Addr()]; l != nil && l.Len() >= g.perIP {
		g.evictLocked(l.Front().Value.(*peer))
	}
	if g.pending.Len() >= g.maxPending {
		g.evictLocked(g.busiestLocked())
	}
	if g.unproven >= 2*g.maxPending {
		// Evicted handshakes whose pion connection has not closed yet.
		g.stats.Refused.Add(1)
		return nil
	}
	if prev != nil {
		if _, live := g.peers[prev]; !live {
			// Closed for a newer pending one of the bounds above, if any.
			prev = nil
		}
	}
	if prev == nil && g.byAddr[from] != nil {
		return nil
	}
	p := &peer{
		g: g, addr: from, cur: from, opened: now, random: random,
		inbox:    make(chan datagram, peerQueue),
		done:     make(chan struct{}),
		deadline: deadline.New(),
	}
	select {
	case g.acceptCh <- p:
	default:
		g.stats.Refused.Add(1)
		return nil
	}
	p.elem = g.pending.PushBack(p)
	l := g.pendingIP[from.Addr()]
	if l == nil {
		l = list.New()
		g.pendingIP[from.Addr()] = l
	}
	p.ipElem = l.PushBack(p)
	p.unproven = true
	g.unproven++
	g.peers[p] = struct{}{}
	if prev != nil {
		prev.next, p.prev = p, prev
	} else {
		g.byAddr[from] = p
	}
	g.stats.Hellos.Add(1)
	if n := int64(len(g.peers)); n > g.stats.PeakPeers.Load() {
		g.stats.PeakPeers.Store(n)
	}
	return p
}

// busiestLocked is the oldest pending peer of the source IP with the most
// pending handshakes: a sender that does not spoof its address evicts its
// own hellos first, and with every IP even the choice among them is
// random. g.mu is held; the pending list is not empty.
func (g *guard) busiestLocked() *peer {
	var most *list.List
	for _, l := range g.pendingIP {
		if most == nil || l.Len() > most.Len() {
			most = l
		}
	}
	return most.Front().Value.(*peer)
}

// evictLocked closes a pending handshake. g.mu is held.
func (g *guard) evictLocked(p *peer) {
	g.stats.Evicted.Add(1)
	g.removeLocked(p)
	p.closeQueue()
}

// unpendLocked takes a peer off the pending lists. g.mu is held.
func (g *guard) unpendLocked(p *peer) {
	if p.elem == nil {
		return
	}
	g.pending.Remove(p.elem)
	p.elem = nil
	if l := g.pendingIP[p.addr.Addr()]; l != nil {
		l.Remove(p.ipElem)
		if l.Len() == 0 {
			delete(g.pendingIP, p.addr.Addr())
		}
	}
	p.ipElem = nil
}

// settleLocked stops counting p as unproven. g.mu is held.
func (g *guard) settleLocked(p *peer) {
	if p.unproven {
		p.unproven = false
		g.unproven--
	}
}

// provenLocked takes a peer off the pending list. A successor takes its
// address over from the association it replaces, which is closed: pion
// ends it and its gateway forgets the client (RFC 6347 4.2.8). g.mu is
// held.
func (g *guard) provenLocked(p *peer) {
	g.unpendLocked(p)
	g.settleLocked(p)
	g.stats.Proven.Add(1)
	if old := p.prev; old != nil {
		old.next, p.prev = nil, nil
		g.removeLocked(old)
		g.byAddr[p.cur] = p
		old.closeQueue()
		g.stats.Reboots.Add(1)
	}
}

// removeLocked forgets a peer. g.mu is held.
func (g *guard) removeLocked(p *peer) {
	if _, ok := g.peers[p]; !ok {
		return
	}
	delete(g.peers, p)
	g.unpendLocked(p)
	if !p.accepted {
		// pion never saw it: nothing of it remains to close.
		g.settleLocked(p)
	}
	if prev := p.prev; prev != nil {
		prev.next, p.prev = nil, nil
	}
	g.leaveAddrLocked(p)
	if p.cid != "" && g.byCID[p.cid] == p {
		delete(g.byCID, p.cid)
	}
}

// leaveAddrLocked takes p off its address, which passes to its pending
// successor if it has one. g.mu is held.
func (g *guard) leaveAddrLocked(p *peer) {
	if g.byAddr[p.cur] != p {
		return
	}
	delete(g.byAddr, p.cur)
	if s := p.next; s != nil {
		p.next, s.prev = nil, nil
		g.byAddr[s.cur] = s
	}
}

// datagram is one received datagram and where it came from.
type datagram struct {
	b    []byte
	from netip.AddrPort
}

// peer is one remote's net.PacketConn, handed to pion.
type peer struct {
	g        *guard
	addr     netip.AddrPort // the address that opened the handshake
	opened   time.Time
	inbox    chan datagram
	done     chan struct{}
	doneOnce sync.Once
	deadline *deadline.Deadline // read deadline

	// guarded by g.mu
	cur    netip.AddrPort // where pion writes now; the byAddr key
	elem   *list.Element  // on g.pending while unproven
	ipElem *list.Element  // on g.pendingIP[addr.Addr()] likewise
	// accepted once pion's listener took it
	accepted bool
	cookie   []byte   // pion's HelloVerifyRequest cookie
	random   [32]byte // the client random of the ClientHello that opened it
	cid      string   // the Connection ID pion handed out
	// next is the pending handshake that would replace this proven
	// association at its address, prev the association a pending one
	// would replace (RFC 6347 4.2.8).
	next, prev *peer
	// unproven until the cookie echo or until pion closes the connection,
	// evicted or not.
	unproven bool
}

func (p *peer) closeQueue() { p.doneOnce.Do(func() { close(p.done) }) }

// ReadFrom returns the next datagram for this peer.
func (p *peer) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case d := <-p.inbox:
		return copy(b, d.b), net.UDPAddrFromAddrPort(d.from), nil
	case <-p.done:
		return 0, nil, net.ErrClosed
	case <-p.deadline.Done():
		return 0, nil, context.DeadlineExceeded
	}
}

// WriteTo sends to addr. It learns pion's cookie and Connection ID from
// the handshake going out, and follows pion when it moves the peer to a
// new address (RFC 9146 5: only after an authenticated record from it).
func (p *peer) WriteTo(b []byte, addr net.Addr) (int, error) {
	select {
	case <-p.done:
		return 0, net.ErrClosed
	default:
	}
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("dtls listener: write to %T", addr)
	}
	to := ua.AddrPort()
	to = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())
	g := p.g
	g.mu.Lock()
	if p.elem != nil && p.cookie == nil {
		if c, ok := verifyRequestCookie(b); ok {
			p.cookie = c
		}
	}
	if g.cidLen > 0 && p.cid == "" {
		if cid, ok := serverHelloCID(b); ok && len(cid) == g.cidLen {
			if _, live := g.peers[p]; live {
				p.cid = string(cid)
				g.byCID[p.cid] = p
			}
		}
	}
	if to != p.cur {
		if _, live := g.peers[p]; live {
			g.leaveAddrLocked(p)
			if g.byAddr[to] == nil {
				g.byAddr[to] = p
			}
		}
		p.cur = to
	}
	g.mu.Unlock()
	return g.pc.WriteToUDPAddrPort(b, to)
}

// Close forgets the peer and ends its reads; pion calls it when its
// connection closes.
func (p *peer) Close() error {
	p.g.mu.Lock()
	p.g.removeLocked(p)
	p.g.settleLocked(p)
	p.g.mu.Unlock()
	p.closeQueue()
	return nil
}

// LocalAddr is the listener's address.
func (p *peer) LocalAddr() net.Addr { return p.g.pc.LocalAddr() }

// SetDeadline sets the read deadline; writes to a datagram socket do not
// block.
func (p *peer) SetDeadline(t time.Time) error { return p.SetReadDeadline(t) }

// SetReadDeadline bounds ReadFrom.
func (p *peer) SetReadDeadline(t time.Time) error {
	p.deadline.Set(t)
	return nil
}

// SetWriteDeadline is a no-op: the socket is shared and never blocks long.
func (p *peer) SetWriteDeadline(time.Time) error { return nil }

// openingHello accepts a datagram whose first record is an unfragmented
// ClientHello at epoch 0 with message_seq 0 and no cookie, the only
// datagram that may open a handshake in pion, and returns its client
// random.
func openingHello(b []byte) (random [32]byte, ok bool) {
	body, seq, ok := firstHandshake(b, handshake.TypeClientHello)
	if !ok || seq != 0 {
		return random, false
	}
	c, ok := clientHelloCookie(body)
	if !ok || len(c) != 0 {
		return random, false
	}
	copy(random[:], body[2:]) // clientHelloCookie checked the length
	return random, true
}

// firstEpoch is the epoch of the datagram's first record, or -1.
func firstEpoch(b []byte) int {
	if len(b) < recordlayer.FixedHeaderSize {
		return -1
	}
	return int(binary.BigEndian.Uint16(b[3:5]))
}

// helloCookie is the cookie of a ClientHello that starts the datagram.
func helloCookie(b []byte) ([]byte, bool) {
	body, _, ok := firstHandshake(b, handshake.TypeClientHello)
	if !ok {
		return nil, false
	}
	return clientHelloCookie(body)
}

// firstHandshake returns the body and message_seq of the datagram's first
// record when it is a complete, unfragmented handshake message of type typ
// at epoch 0.
func firstHandshake(b []byte, typ handshake.Type) ([]byte, uint16, bool) {
	var h recordlayer.Header
	if err := h.Unmarshal(b); err != nil || h.ContentType != protocol.ContentTypeHandshake || h.Epoch != 0 {
		return nil, 0, false
	}
	// Header.Unmarshal leaves ContentLen unset: read the record's length.
	n := int(binary.BigEndian.Uint16(b[recordlayer.FixedHeaderSize-2:]))
	rec := b[recordlayer.FixedHeaderSize:]
	if n > len(rec) {
		return nil, 0, false
	}
	rec = rec[:n]
	var hh handshake.Header
	if err := hh.Unmarshal(rec); err != nil || hh.Type != typ {
		return nil, 0, false
	}
	if hh.FragmentOffset != 0 || hh.FragmentLength != hh.Length || int(hh.Length) != len(rec)-handshake.HeaderLength {
		return nil, 0, false
	}
	return rec[handshake.HeaderLength:], hh.MessageSequence, true
}

// clientHelloCookie reads the cookie from a ClientHello body: version (2),
// random (32), session_id (1+n), cookie (1+n).
func clientHelloCookie(body []byte) ([]byte, bool) {
	const fixed = 2 + 32
	if len(body) < fixed+1 {
		return nil, false
	}
	i := fixed
	sid := int(body[i])
	i += 1 + sid
	if sid > 32 || len(body) < i+1 {
		return nil, false
	}
	n := int(body[i])
	i++
	if len(body) < i+n {
		return nil, false
	}
	return body[i : i+n], true
}

// verifyRequestCookie reads the cookie of a HelloVerifyRequest going out:
// version (2), cookie (1+n).
func verifyRequestCookie(b []byte) ([]byte, bool) {
	body, _, ok := firstHandshake(b, handshake.TypeHelloVerifyRequest)
	if !ok || len(body) < 3 {
		return nil, false
	}
	n := int(body[2])
	if len(body) < 3+n || n == 0 {
		return nil, false
	}
	return bytes.Clone(body[3 : 3+n]), true
}

// serverHelloCID reads the Connection ID the server asks for from a
// ServerHello going out (RFC 9146 3).
func serverHelloCID(b []byte) ([]byte, bool) {
	pkts, err := recordlayer.UnpackDatagram(b)
	if err != nil {
		return nil, false
	}
	for _, pkt := range pkts {
		var h recordlayer.Header
		if err := h.Unmarshal(pkt); err != nil || h.ContentType != protocol.ContentTypeHandshake || h.Epoch != 0 {
			continue
		}
		rec := pkt[recordlayer.FixedHeaderSize:] // UnpackDatagram cut pkt to its length
		var hh handshake.Header
		if err := hh.Unmarshal(rec); err != nil || hh.Type != handshake.TypeServerHello {
			continue
		}
		var sh handshake.MessageServerHello
		if err := sh.Unmarshal(rec[handshake.HeaderLength:]); err != nil {
			return nil, false
		}
		for _, e := range sh.Extensions {
			if c, ok := e.(*extension.ConnectionID); ok {
				return bytes.Clone(c.CID), true
			}
		}
		return nil, false
	}
	return nil, false
}

// plaintextAllowed refuses a datagram with a record at epoch 0 that is no
// handshake, alert or ChangeCipherSpec record. Such a record is never
// valid, and pion answers application data or an unknown content type at
// epoch 0 with a fatal alert that closes the association: anyone able to
// send one datagram from a client's address would end its session, where
// RFC 6347 4.1.2.7 says to discard it.
func plaintextAllowed(b []byte, cidLen int) bool {
	for len(b) >= recordlayer.FixedHeaderSize {
		typ := protocol.ContentType(b[0])
		epoch := binary.BigEndian.Uint16(b[3:5])
		hdr := recordlayer.FixedHeaderSize
		if typ == protocol.ContentTypeConnectionID {
			hdr += cidLen
		}
		if epoch == 0 && typ != protocol.ContentTypeHandshake && typ != protocol.ContentTypeAlert &&
			typ != protocol.ContentTypeChangeCipherSpec {
			return false
		}
		if len(b) < hdr {
			return true // pion discards what it cannot parse
		}
		b = b[min(len(b), hdr+int(binary.BigEndian.Uint16(b[hdr-2:hdr]))):]
	}
	return true
}

// recordCID reads the Connection ID of a tls12_cid record that starts the
// datagram (RFC 9146 4): type, version, epoch, sequence number, cid,
// length.
func recordCID(b []byte, size int) ([]byte, bool) {
	const before = 1 + 2 + 2 + 6
	if len(b) < before+size+2 || protocol.ContentType(b[0]) != protocol.ContentTypeConnectionID {
		return nil, false
	}
	return b[before : before+size], true
}
