package httpapi

import (
	"net/http"
	"time"
)

// StoreState is the store as /api/v1/status shows it.
type StoreState struct {
	Type string `json:"type"` // "disk" or "memory"
	// State is "ok", or "failing" while the last failed write, sync or
	// expiry run is less than a minute old.
	State     string `json:"state"`
	Dir       string `json:"dir,omitempty"`        // the disk store's data directory
	Sync      string `json:"sync,omitempty"`       // the disk store's sync policy: always or batch
	SizeBytes int64  `json:"size_bytes,omitempty"` // what the data directory takes
	// Failures counts the failed writes, syncs and expiry runs since the
	// gateway started; LastError and LastErrorAt are the last of them.
	Failures    int64      `json:"failures"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
}

// FailingFor is how long after its last failure a store shows as failing.
const FailingFor = time.Minute

// statusJSON answers GET /api/v1/status.
type statusJSON struct {
	GatewayInfo
	Uptime           int64 `json:"uptime"` // seconds
	Connections      int64 `json:"connections"`
	Sessions         int   `json:"sessions"`
	Subscriptions    int   `json:"subscriptions"`
	Retained         int   `json:"retained"`
	MessagesReceived int64 `json:"messages_received"`
	MessagesSent     int64 `json:"messages_sent"`
	MessagesDropped  int64 `json:"messages_dropped"`
}

func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	st := s.cfg.Admin.Snapshot()
	out := statusJSON{
		Uptime: int64(st.Uptime / time.Second), Connections: st.ClientsConnected, Sessions: st.Sessions,
		Subscriptions: st.Subscriptions, Retained: st.Retained, MessagesReceived: st.MessagesReceived,
		MessagesSent: st.MessagesSent, MessagesDropped: st.MessagesDropped,
	}
	if s.cfg.Gateway != nil {
		out.GatewayInfo = s.cfg.Gateway()
	}
	writeJSON(w, http.StatusOK, out)
}
