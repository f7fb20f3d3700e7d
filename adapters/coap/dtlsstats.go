package coap

import "github.com/mqgate/mqgate/adapters/internal/dtlsconf"

// DTLSStats are a DTLS listener's counters: the hello gate in front of
// pion (handshakes opened, proven, evicted, refused; datagrams dropped)
// and reboots (RFC 6347 4.2.8).
type DTLSStats = dtlsconf.Stats

// DTLSStats returns the counters of each DTLS listener, by listener name.
func (g *Gateway) DTLSStats() map[string]*DTLSStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]*DTLSStats{}
	for _, l := range g.listeners {
		if l.dtls != nil {
			out[l.cfg.Name] = l.dtls.Stats()
		}
	}
	return out
}
