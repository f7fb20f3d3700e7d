package coap

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqgate/mqgate/core"
)

// client is one CoAP client with a core session: a client id bound to the
// peer it last spoke from.
type client struct {
	g    *Gateway
	mu   sync.Mutex
	id   string
	peer peer
	cc   *core.Client
	// username and the password's hash are what the session was opened
	// with: a request from another address naming this client id must
	// carry the same to be routed here.
	username string
	passHash [32]byte
	// token is the connection mode's token, given by POST
	// /mqtt/connection; "" for a client that never connected so.
	token    string
	lastSeen time.Time
	gone     bool
	// reachable: the client showed it receives what is sent to its
	// address (an ACK of a CON notification, an Echo, DTLS).
	verified bool
	// obs are the observations by subscription key.
	obs map[string]*observation
	// pending is the CON notification awaiting its ACK, by tag; the core
	// window is one, so it holds at most one [RFC7252 4.7 NSTART].
	pending map[uint16]*pendingCON
	// recent maps the MIDs of recent notifications to their observation
	// keys, so an RST to a NON notification cancels it [RFC7641 3.6].
	recent    [16]recentNote
	recentPos int
	nextMID   uint16
	dedup     [32]dedupEntry
	dedupPos  int
	// tokens and lastFill are the request rate bucket.
	tokens   float64
	lastFill time.Time
	queued   atomic.Bool
	kicked   atomic.Uint32
	pull     []core.Delivery
	buf      []byte
	// retainReq and retainRes are the subscription a registration just
	// made, for SendRetained once its response is out.
	retainReq []core.SubscribeRequest
	retainRes []core.SubscribeResult
	// xfer is the Block1 publish being received, if any.
	xfer *transfer
}

// observation is one Observe relation: a token and its subscription.
type observation struct {
	token  []byte
	key    string
	filter string
	seq    uint32 // the last Observe value sent
	// large is the last notification too large for one datagram: its
	// later blocks are read with GET and Block2 [RFC7959 3.4]. Messages are
	// immutable and shared, so this holds no copy.
	large *core.Message
}

type pendingCON struct {
	mid      uint16
	key      string
	seq      uint32
	attempts int
	timeout  time.Duration
	deadline time.Time
}

type recentNote struct {
	mid uint16
	key string
}

// dedupEntry is a confirmable request's MID and the response sent, for
// answering a retransmission without running the handler again
// [RFC7252 4.5].
type dedupEntry struct {
	mid  uint16
	at   time.Time
	resp []byte
}

// exchangeLifetime is how long a MID is remembered [RFC7252 4.8.2].
const exchangeLifetime = 247 * time.Second

// Notify implements core.Conn.
func (c *client) Notify() { c.g.markDirty(c) }

// Kick implements core.Conn: the service goroutine ends the client.
func (c *client) Kick(code core.Code) {
	c.kicked.CompareAndSwap(0, uint32(code)+1)
	c.g.markDirty(c)
}

func passHash(p string) [32]byte { return sha256.Sum256([]byte(p)) }

// sameCredentials reports whether a request's credentials are those the
// session was opened with.
func (c *client) sameCredentials(q *params) bool {
	h := passHash(q.password)
	return q.username == c.username && subtle.ConstantTimeCompare(h[:], c.passHash[:]) == 1
}

// resolve finds or opens the client a request belongs to and returns it
// locked, or a response code and diagnostic.
func (g *Gateway) resolve(p peer, q *params) (*client, byte, string) {
	if g.cfg.ConnectionRequired || q.token != "" {
		return g.resolveToken(p, q)
	}
	id := q.clientID
	g.mu.Lock()
	bound := g.byAddr[p.key()]
	if id == "" {
		if bound != nil && !q.hasUser && !q.hasPassword {
			id = bound.id
		} else if bound != nil && bound.id == addrID(p.addr) {
			id = bound.id
		} else {
			id = addrID(p.addr)
		}
	}
	c := g.byID[id]
	count := len(g.byID)
	stopping := g.stopping
	g.mu.Unlock()
	if stopping {
		return nil, codeServiceUnavailable, "gateway stopping"
	}
	if c != nil {
		c.mu.Lock()
		if !c.gone && c.kicked.Load() == 0 {
			// A new DTLS association from the same address is a new peer:
			// its device handshook again (RFC 6347 4.2.8), and replies
			// must not go to the old association.
			sameAddr := c.peer.key() == p.key() && c.peer.conn == p.conn
			if sameAddr && !q.hasUser && !q.hasPassword || c.sameCredentials(q) && c.samePeerKind(p) {
				if !sameAddr {
					g.rebindLocked(c, p)
				}
				return c, 0, ""
			}
		}
		c.mu.Unlock()
	} else if count >= g.cfg.MaxClients {
		g.stats.Limited.Add(1)
		g.broker.CountRefused("coap", core.RefusedServerBusy)
		return nil, codeServiceUnavailable, "too many clients"
	}
	return g.openClient(p, id, q)
}

// samePeerKind reports whether p may take c's place without a new
// authentication: the same listener and, on DTLS, the same certificate CN
// or PSK identity. A client authenticated by DTLS is never moved to a plain
// UDP address, or to another identity, by its client id and password alone.
func (c *client) samePeerKind(p peer) bool {
	return c.peer.l == p.l && c.peer.cn == p.cn
}

// resolveToken finds the client of a request that carries its client id
// and connection token, from any address: a device whose NAT port changed
// resumes its session.
func (g *Gateway) resolveToken(p peer, q *params) (*client, byte, string) {
	if q.clientID == "" || q.token == "" {
		g.stats.Denied.Add(1)
		return nil, codeBadRequest, "clientid and token are required"
	}
	g.mu.Lock()
	c := g.byID[q.clientID]
	g.mu.Unlock()
	if c != nil {
		c.mu.Lock()
		if !c.gone && c.kicked.Load() == 0 && c.token != "" && c.samePeerKind(p) &&
			subtle.ConstantTimeCompare([]byte(c.token), []byte(q.token)) == 1 {
			if c.peer.key() != p.key() || c.peer.conn != p.conn {
				g.rebindLocked(c, p)
			}
			return c, 0, ""
		}
		c.mu.Unlock()
	}
	g.stats.Denied.Add(1)
	return nil, codeUnauthorized, "unknown client id or wrong token"
}

// connect handles POST /mqtt/connection: it authenticates the client id
// and credentials, opens (or takes over) the session and gives it a new
// token. The client is returned locked.
func (g *Gateway) connect(p peer, q *params) (*client, byte, string) {
	if q.clientID == "" {
		g.broker.CountRefused("coap", core.RefusedClientIDInvalid)
		return nil, codeBadRequest, "clientid is required"
	}
	g.mu.Lock()
	full := len(g.byID) >= g.cfg.MaxClients && g.byID[q.clientID] == nil
	g.mu.Unlock()
	if full {
		g.stats.Limited.Add(1)
		g.broker.CountRefused("coap", core.RefusedServerBusy)
		return nil, codeServiceUnavailable, "too many clients"
	}
	c, code, why := g.openClient(p, q.clientID, q)
	if c == nil {
		return nil, code, why
	}
	var b [16]byte
	crand.Read(b[:])
	c.token = hex.EncodeToString(b[:])
	return c, 0, ""
}

// addrID is the client id of a client that sends none: stable for its
// source address.
func addrID(a netip.AddrPort) string { return "coap-" + a.String() }

// openClient authenticates and opens a session for id, taking over the
// session of a client already known under it.
func (g *Gateway) openClient(p peer, id string, q *params) (*client, byte, string) {
	c := &client{g: g, id: id, peer: p, username: q.username, passHash: passHash(q.password),
		lastSeen: time.Now(), nextMID: uint16(rand.Uint32())}
	info := core.ClientInfo{Protocol: "coap", Listener: p.l.cfg.Name, Namespace: g.cfg.Namespace,
		ClientID: id, Username: q.username, PeerAddr: p.addr, CertCN: p.cn, Mountpoint: g.cfg.Mountpoint}
	req := &core.OpenRequest{Info: info, CleanStart: true, Conn: c, ReceiveMaximum: 1, Retransmit: true,
		KeepAlive: g.cfg.Heartbeat}
	if q.hasPassword {
		req.Password = []byte(q.password)
	}
	c.mu.Lock()
	cc, _, err := g.broker.Open(context.Background(), req)
	if err != nil {
		// A Notify during a failed Open may have queued c for the service
		// goroutine: gone keeps it from touching the nil core client.
		c.gone = true
		c.mu.Unlock()
		g.stats.Denied.Add(1)
		code, why := codeUnauthorized, "authentication failed"
		if errors.Is(err, core.ClientIDNotValid) {
			code, why = codeBadRequest, "client id not valid"
		} else if errors.Is(err, core.ServerShuttingDown) || errors.Is(err, core.ServerUnavailable) {
			code, why = codeServiceUnavailable, "server unavailable"
		}
		return nil, code, why
	}
	c.cc = cc
	g.mu.Lock()
	if old := g.byAddr[p.key()]; old != nil && old != c {
		// The address now speaks for another client id: the old one
		// keeps its session only until its heartbeat runs out.
		delete(g.byAddr, p.key())
	}
	g.byID[id] = c
	g.byAddr[p.key()] = c
	g.mu.Unlock()
	return c, 0, ""
}

// rebindLocked moves c to a new peer: a NAT rebinding, proven by the
// client id and credentials.
func (g *Gateway) rebindLocked(c *client, p peer) {
	g.mu.Lock()
	if g.byAddr[c.peer.key()] == c {
		delete(g.byAddr, c.peer.key())
	}
	g.byAddr[p.key()] = c
	g.mu.Unlock()
	c.peer = p
}

// associationClosed ends the client whose replies still go to p's DTLS
// association, which has closed: its device went silent, closed it, or
// handshook again from the same address (RFC 6347 4.2.8). A client that
// moved to another association keeps its session.
func (g *Gateway) associationClosed(p peer) {
	g.mu.Lock()
	c := g.byAddr[p.key()]
	g.mu.Unlock()
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.peer.conn == p.conn {
		g.endLocked(c, core.DisconnectWithWill, "dtls association closed")
	}
	c.mu.Unlock()
}

// endLocked detaches c from its session and forgets it.
func (g *Gateway) endLocked(c *client, kind core.DisconnectKind, reason string) {
	if c.gone {
		return
	}
	c.gone = true
	g.mu.Lock()
	if g.byID[c.id] == c {
		delete(g.byID, c.id)
	}
	if g.byAddr[c.peer.key()] == c {
		delete(g.byAddr, c.peer.key())
	}
	g.mu.Unlock()
	if c.cc != nil {
		c.cc.Disconnect(kind, reason)
	}
	c.obs, c.pending, c.xfer = nil, nil, nil
}

// allow takes one request from the rate bucket.
func (c *client) allow(now time.Time) bool {
	rate := float64(c.g.cfg.MaxRequestsPerSecond)
	if rate == 0 {
		return true
	}
	if c.lastFill.IsZero() {
		c.tokens = rate
	} else {
		c.tokens = min(rate, c.tokens+now.Sub(c.lastFill).Seconds()*rate)
	}
	c.lastFill = now
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

// duplicate returns the response sent to a confirmable request with mid
// and token within the exchange lifetime. Deduplication is by MID
// [RFC7252 4.5]; the token must match too, so a rebooted device that
// starts its MIDs again with fresh tokens is not answered from the cache.
func (c *client) duplicate(mid uint16, token []byte, now time.Time) ([]byte, bool) {
	for i := range c.dedup {
		e := &c.dedup[i]
		// The cached response is a piggybacked ACK: it carries the token.
		if e.resp != nil && e.mid == mid && now.Sub(e.at) < exchangeLifetime &&
			bytes.Equal(e.resp[4:4+int(e.resp[0]&0xf)], token) {
			return e.resp, true
		}
	}
	return nil, false
}

// maxRemembered is the largest response kept for duplicates. Larger ones
// are reads and blocks of retained messages, idempotent, so a duplicate
// runs again instead; the cache stays within MaxClients x 32 x 256 bytes
// whatever the clients ask.
const maxRemembered = 256

// remember keeps a confirmable request's response for duplicates in a
// fixed ring per client.
func (c *client) remember(mid uint16, resp []byte, now time.Time) {
	if len(resp) > maxRemembered {
		return
	}
	e := &c.dedup[c.dedupPos]
	c.dedupPos = (c.dedupPos + 1) % len(c.dedup)
	e.mid, e.at = mid, now
	e.resp = append(e.resp[:0], resp...)
}

func (c *client) mid() uint16 {
	c.nextMID++
	return c.nextMID
}

// obsKey is the subscription key of an observation with token.
func obsKey(token []byte) string { return "coap-token-" + hex.EncodeToString(token) }
