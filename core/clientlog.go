package core

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// The per-client lines of the info log (connected, disconnected,
// authentication refused, authorization denied) are limited per client:
// a device that reconnects or publishes where it may not in a tight loop
// gets clientLogBurst lines per clientLogWindow, and the next line after
// the window says how many were left out. The limiter remembers at most
// clientLogKeys clients; with that many busy at once further lines are
// dropped until a window ends.
const (
	clientLogWindow = time.Minute
	clientLogBurst  = 20
	clientLogKeys   = 4096
)

type logLimiter struct {
	mu     sync.Mutex
	now    func() time.Time
	counts map[SessionKey]*logCount
}

type logCount struct {
	start      time.Time
	n          int
	suppressed int
}

func newLogLimiter() *logLimiter {
	return &logLimiter{now: time.Now, counts: make(map[SessionKey]*logCount)}
}

// allow reports whether a line for key may be written, and how many lines
// for key were suppressed since the last one written.
func (l *logLimiter) allow(key SessionKey) (ok bool, suppressed int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.counts[key]
	if c == nil {
		if len(l.counts) >= clientLogKeys {
			l.sweepLocked(now)
			if len(l.counts) >= clientLogKeys {
				return false, 0
			}
		}
		c = &logCount{start: now}
		l.counts[key] = c
	}
	if now.Sub(c.start) >= clientLogWindow {
		c.start, c.n = now, 0
	}
	if c.n >= clientLogBurst {
		c.suppressed++
		return false, 0
	}
	c.n++
	suppressed, c.suppressed = c.suppressed, 0
	return true, suppressed
}

// sweepLocked forgets the clients whose window ended with nothing left
// to report.
func (l *logLimiter) sweepLocked(now time.Time) {
	for k, c := range l.counts {
		if now.Sub(c.start) >= clientLogWindow && c.suppressed == 0 {
			delete(l.counts, k)
		}
	}
}

// clientLogKey is the limiter key for info: the session's key, or for a
// client refused before it has a usable id, its peer's address.
func clientLogKey(info *ClientInfo) SessionKey {
	if info.ClientID != "" {
		return SessionKey{info.Namespace, info.ClientID}
	}
	return SessionKey{"\x00peer", info.PeerAddr.Addr().String()}
}

// logClient writes one rate-limited info line about a client, with the
// identifying attributes first.
func (b *Broker) logClient(info *ClientInfo, msg string, attrs ...slog.Attr) {
	if !b.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	ok, suppressed := b.clientLogs.allow(clientLogKey(info))
	if !ok {
		return
	}
	// The record carries no source position (pc 0): no handler of the
	// gateway writes one, and Logger.LogAttrs would unwind the caller's
	// stack for it on every connect and disconnect, reading the
	// executable's unwinding tables for nothing.
	r := slog.NewRecord(time.Now(), slog.LevelInfo, msg, 0)
	r.AddAttrs(
		slog.String("client", info.ClientID),
		slog.String("username", info.Username),
		slog.String("protocol", info.Protocol),
		slog.String("listener", info.Listener),
		slog.String("peer", peerString(info.PeerAddr)))
	r.AddAttrs(attrs...)
	if suppressed > 0 {
		r.AddAttrs(slog.Int("suppressed", suppressed))
	}
	_ = b.log.Handler().Handle(context.Background(), r) // as Logger.LogAttrs, which drops it too
}

func peerString(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return ""
	}
	return ap.String()
}

// debug reports whether packet-level debug lines are written; callers
// check it before building a line so the message path does not allocate.
func (b *Broker) debug() bool {
	return b.log.Enabled(context.Background(), slog.LevelDebug)
}
