package coap

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"time"
)

// echoLifetime is how long an Echo value is accepted.
const echoLifetime = 60 * time.Second

// echoFor is a stateless Echo value for addr [RFC9175 2.4]: a timestamp
// and a MAC over it and the address, so the gateway keeps nothing per
// source and a value sent to one address is worth nothing from another.
func (g *Gateway) echoFor(addr netip.AddrPort, now time.Time) []byte {
	var b [4 + 12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(now.Unix()))
	copy(b[4:], g.echoMAC(addr, b[:4]))
	return b[:]
}

func (g *Gateway) echoMAC(addr netip.AddrPort, stamp []byte) []byte {
	m := hmac.New(sha256.New, g.echoKey[:])
	m.Write(stamp)
	a, _ := addr.MarshalBinary()
	m.Write(a)
	return m.Sum(nil)[:12]
}

// validEcho reports whether e is an Echo value this gateway gave addr
// within echoLifetime.
func (g *Gateway) validEcho(addr netip.AddrPort, e []byte, now time.Time) bool {
	if len(e) != 16 {
		return false
	}
	at := time.Unix(int64(binary.BigEndian.Uint32(e[:4])), 0)
	if now.Sub(at) > echoLifetime || at.After(now.Add(time.Second)) {
		return false
	}
	return hmac.Equal(e[4:], g.echoMAC(addr, e[:4]))
}

func newEchoKey() (k [32]byte) {
	rand.Read(k[:])
	return k
}

// reachable reports whether an Observe registration may go ahead: Echo
// checks are off, the client is on DTLS or already showed it is
// reachable, or the request carries a valid Echo.
func (c *client) reachable(r *request, now time.Time) bool {
	if !c.g.cfg.ObserveEcho || c.verified || c.peer.conn != nil {
		return true
	}
	if r.echo != nil && c.g.validEcho(c.peer.addr, r.echo, now) {
		c.verified = true
		return true
	}
	return false
}
