package mqtt

import "time"

// SetReadLinger sets how long a busy reader waits for more input.
func SetReadLinger(cfg *Config, d time.Duration) { cfg.readLinger = d }

// ArmedConns counts the connections left to the poller, with no goroutine
// reading them.
func ArmedConns(s *Server) int {
	n := 0
	for _, st := range s.ns.Streams() {
		if st.(*conn).tc.Armed() {
			n++
		}
	}
	return n
}

// FireKeepAliveTimers runs every connection's keepalive timer function,
// as a firing that was late to take its connection would.
func FireKeepAliveTimers(s *Server) {
	for _, st := range s.ns.Streams() {
		st.(*conn).keepAliveExpired()
	}
}
