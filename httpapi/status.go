package httpapi

import (
	"net/http"
	"time"
)

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
