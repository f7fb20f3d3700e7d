package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Failed logins are limited per client address to blunt password
// guessing: a token bucket of loginBurst failures that refills one
// failure every loginRefill (10 a minute). An address whose bucket is
// empty gets 429 before its password is checked, so a guesser costs the
// server no bcrypt work either.
const (
	loginBurst  = 10
	loginRefill = 6 * time.Second
	// maxLimited bounds the addresses tracked. Beyond it the full buckets
	// are dropped, then any one: an attacker with that many addresses
	// gains little from the eviction that he would not have from the
	// addresses.
	maxLimited = 10000
)

// loginLimit holds, per address, the time its bucket is full again; an
// address with no entry has a full bucket.
type loginLimit struct {
	mu     sync.Mutex
	fullAt map[netip.Prefix]time.Time
	max    int
}

func newLoginLimit(max int) *loginLimit {
	return &loginLimit{fullAt: map[netip.Prefix]time.Time{}, max: max}
}

// allow reports whether addr may try a login now; when not, retry is how
// long until it may.
func (l *loginLimit) allow(addr netip.Prefix, now time.Time) (ok bool, retry time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	full, known := l.fullAt[addr]
	if !known {
		return true, 0
	}
	// One failure is left while the bucket is full again within
	// (loginBurst-1) refills.
	wait := full.Sub(now) - (loginBurst-1)*loginRefill
	return wait <= 0, wait
}

// failed takes one failure from addr's bucket.
func (l *loginLimit) failed(addr netip.Prefix, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	full, known := l.fullAt[addr]
	if !known && len(l.fullAt) >= l.max {
		for a, t := range l.fullAt {
			if !t.After(now) {
				delete(l.fullAt, a)
			}
		}
		for a := range l.fullAt {
			if len(l.fullAt) < l.max {
				break
			}
			delete(l.fullAt, a)
		}
	}
	if full.Before(now) {
		full = now
	}
	l.fullAt[addr] = full.Add(loginRefill)
}

// clientPrefix is what the limit counts a request's failures against: its
// IPv4 address, or its IPv6 /64, which one host usually has whole.
func clientPrefix(r *http.Request) netip.Prefix {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{} // not from a TCP peer (a test): one bucket for all
	}
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}
