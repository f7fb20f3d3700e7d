package core

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mqgate/mqgate/core/store"
)

// Ban refuses clients by client id, username, or peer address, until it
// expires. Every protocol's clients are checked at Open; a new ban closes
// the connections it matches.
type Ban struct {
	Kind   BanKind
	Value  string // a client id, a username, or an address or CIDR prefix
	Reason string
	At     time.Time
	Until  time.Time // zero: never expires
	// Transient bans are not written to the store: their source (a ban
	// file, read at every start) keeps them.
	Transient bool
}

// BanKind says what a Ban matches.
type BanKind string

// Ban kinds, named as EMQX's API names them.
const (
	BanClientID BanKind = "clientid"
	BanUsername BanKind = "username"
	BanPeerHost BanKind = "peerhost"
)

// banList is the broker's bans in memory; the store keeps them durable.
type banList struct {
	mu     sync.RWMutex
	exact  map[[2]string]Ban // clientid and username bans by (kind, value)
	prefix []bannedPrefix    // peerhost bans
}

type bannedPrefix struct {
	p   netip.Prefix
	ban Ban
}

func (b *Ban) expired(now time.Time) bool {
	return !b.Until.IsZero() && !now.Before(b.Until)
}

// matches reports whether ban matches info.
func (b *Ban) matches(info *ClientInfo) bool {
	switch b.Kind {
	case BanClientID:
		return info.ClientID == b.Value
	case BanUsername:
		return info.Username != "" && info.Username == b.Value
	case BanPeerHost:
		p, err := parseBanPrefix(b.Value)
		return err == nil && info.PeerAddr.IsValid() && p.Contains(peerHostAddr(info))
	}
	return false
}

// parseBanPrefix parses an address or a CIDR prefix; IPv4-mapped IPv6
// ones become IPv4, as peers are compared unmapped.
func parseBanPrefix(v string) (netip.Prefix, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return netip.Prefix{}, err
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// banned returns the unexpired ban that refuses info, if any.
func (l *banList) banned(info *ClientInfo, now time.Time) (Ban, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.exact) == 0 && len(l.prefix) == 0 {
		return Ban{}, false
	}
	if b, ok := l.exact[[2]string{string(BanClientID), info.ClientID}]; ok && !b.expired(now) {
		return b, true
	}
	if info.Username != "" {
		if b, ok := l.exact[[2]string{string(BanUsername), info.Username}]; ok && !b.expired(now) {
			return b, true
		}
	}
	if info.PeerAddr.IsValid() {
		a := peerHostAddr(info)
		for _, bp := range l.prefix {
			if bp.p.Contains(a) && !bp.ban.expired(now) {
				return bp.ban, true
			}
		}
	}
	return Ban{}, false
}

// peerHostAddr is the peer's address as bans compare it: unmapped, and
// without an IPv6 zone, which no prefix contains.
func peerHostAddr(info *ClientInfo) netip.Addr {
	return info.PeerAddr.Addr().Unmap().WithZone("")
}

func (l *banList) putLocked(b Ban) {
	if b.Kind == BanPeerHost {
		p, _ := parseBanPrefix(b.Value)
		l.prefix = slices.DeleteFunc(l.prefix, func(x bannedPrefix) bool { return x.ban.Value == b.Value })
		l.prefix = append(l.prefix, bannedPrefix{p, b})
		return
	}
	if l.exact == nil {
		l.exact = make(map[[2]string]Ban)
	}
	l.exact[[2]string{string(b.Kind), b.Value}] = b
}

func (l *banList) deleteLocked(kind BanKind, value string) bool {
	if kind == BanPeerHost {
		n := len(l.prefix)
		l.prefix = slices.DeleteFunc(l.prefix, func(x bannedPrefix) bool { return x.ban.Value == value })
		return len(l.prefix) != n
	}
	k := [2]string{string(kind), value}
	_, ok := l.exact[k]
	delete(l.exact, k)
	return ok
}

// AddBan adds or replaces a ban, durably when the broker has a store
// (unless it is Transient), and closes the connections it matches
// (AdministrativeAction). It returns
// the number of connections closed.
func (b *Broker) AddBan(ban Ban) (int, error) {
	switch ban.Kind {
	case BanClientID, BanUsername:
		if ban.Value == "" {
			return 0, &CodeError{Code: ImplementationError, Msg: "a ban needs a value"}
		}
	case BanPeerHost:
		if _, err := parseBanPrefix(ban.Value); err != nil {
			return 0, &CodeError{Code: ImplementationError, Msg: fmt.Sprintf("peerhost ban %q is not an address or CIDR prefix", ban.Value)}
		}
	default:
		return 0, &CodeError{Code: ImplementationError, Msg: fmt.Sprintf("ban kind %q is not clientid, username or peerhost", ban.Kind)}
	}
	if ban.At.IsZero() {
		ban.At = time.Now()
	}
	if b.store != nil && !ban.Transient {
		sb := store.Ban{Kind: string(ban.Kind), Value: ban.Value, Reason: ban.Reason, At: ban.At, Until: ban.Until}
		if err := b.store.Bans().Put(&sb); err != nil {
			return 0, &CodeError{Code: UnspecifiedError, Msg: fmt.Sprintf("ban not stored: %v", err)}
		}
	}
	b.bans.mu.Lock()
	b.bans.putLocked(ban)
	b.bans.mu.Unlock()
	// Close the connections the ban matches.
	b.regMu.Lock()
	all := b.allSessionsLocked(nil)
	b.regMu.Unlock()
	kicked := 0
	for _, s := range all {
		s.mu.Lock()
		conn, info := s.conn, s.info
		s.mu.Unlock()
		if conn != nil && ban.matches(&info) {
			conn.Kick(AdministrativeAction)
			kicked++
		}
	}
	return kicked, nil
}

// RemoveBan lifts a ban; it reports whether there was one.
func (b *Broker) RemoveBan(kind BanKind, value string) (bool, error) {
	b.bans.mu.Lock()
	ok := b.bans.deleteLocked(kind, value)
	b.bans.mu.Unlock()
	if b.store != nil {
		if err := b.store.Bans().Delete(string(kind), value); err != nil {
			return ok, &CodeError{Code: UnspecifiedError, Msg: fmt.Sprintf("ban not removed from the store: %v", err)}
		}
	}
	return ok, nil
}

// Bans lists the unexpired bans in (kind, value) order.
func (b *Broker) Bans() []Ban {
	now := time.Now()
	b.bans.mu.RLock()
	out := make([]Ban, 0, len(b.bans.exact)+len(b.bans.prefix))
	for _, ban := range b.bans.exact {
		if !ban.expired(now) {
			out = append(out, ban)
		}
	}
	for _, bp := range b.bans.prefix {
		if !bp.ban.expired(now) {
			out = append(out, bp.ban)
		}
	}
	b.bans.mu.RUnlock()
	slices.SortFunc(out, func(x, y Ban) int {
		if c := strings.Compare(string(x.Kind), string(y.Kind)); c != 0 {
			return c
		}
		return strings.Compare(x.Value, y.Value)
	})
	return out
}

// restoreBans reads the bans from the store.
func (b *Broker) restoreBans() error {
	list, err := b.store.Bans().List()
	if err != nil {
		return fmt.Errorf("read bans: %w", err)
	}
	now := time.Now()
	b.bans.mu.Lock()
	defer b.bans.mu.Unlock()
	for _, sb := range list {
		ban := Ban{Kind: BanKind(sb.Kind), Value: sb.Value, Reason: sb.Reason, At: sb.At, Until: sb.Until}
		if ban.expired(now) {
			b.store.Bans().Delete(sb.Kind, sb.Value)
			continue
		}
		if ban.Kind == BanPeerHost {
			if _, err := parseBanPrefix(ban.Value); err != nil {
				b.log.Warn("stored ban ignored", "kind", sb.Kind, "value", sb.Value, "err", err)
				continue
			}
		}
		b.bans.putLocked(ban)
	}
	return nil
}
