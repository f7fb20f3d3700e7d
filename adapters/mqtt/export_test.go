package mqtt

import "time"

// SetReadLinger sets how long a busy reader waits for more input.
func SetReadLinger(cfg *Config, d time.Duration) { cfg.readLinger = d }

// ArmedConns counts the connections left to the poller, with no goroutine
// reading them.
func ArmedConns(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := s.conns.head; c != nil; c = c.next {
		if c.state.Load() == stateArmed {
			n++
		}
	}
	return n
}

// FireKeepAliveTimers runs every connection's keepalive timer function,
// as a firing that was late to take its connection would.
func FireKeepAliveTimers(s *Server) {
	s.mu.Lock()
	conns := s.conns.all()
	s.mu.Unlock()
	for _, c := range conns {
		c.keepAliveExpired()
	}
}
