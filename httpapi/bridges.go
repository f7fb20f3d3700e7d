package httpapi

import (
	"errors"
	"net/http"
	"strconv"
)

// ErrNoBridge is what Config.EnableBridge wraps for an unknown bridge.
var ErrNoBridge = errors.New("no such bridge")

// BridgeStatus is one upstream bridge: its configuration's name and
// upstream, and its state now (connected, backlog and its age, drops,
// reconnects, last error).
type BridgeStatus struct {
	Name          string   `json:"name"`
	Enabled       bool     `json:"enable"`
	Status        string   `json:"status"` // connected, disconnected, or starting while the gateway starts or stops
	Addresses     []string `json:"addresses"`
	Address       string   `json:"address,omitempty"` // the one in use or last tried
	Queued        int      `json:"queued"`
	QueuedBytes   int64    `json:"queued_bytes"`
	OldestSeconds float64  `json:"oldest_age_seconds"`
	Dropped       int64    `json:"dropped"`
	Reconnects    int64    `json:"reconnects"`
	LastError     string   `json:"last_error,omitempty"`
}

func (s *Server) bridges() []BridgeStatus {
	if s.cfg.Bridges == nil {
		return []BridgeStatus{}
	}
	return s.cfg.Bridges()
}

func (s *Server) listBridges(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.bridges())
}

func (s *Server) getBridge(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	for _, b := range s.bridges() {
		if b.Name == name {
			writeJSON(w, http.StatusOK, b)
			return
		}
	}
	writeError(w, http.StatusNotFound, "NOT_FOUND", "no bridge "+strconv.Quote(name)+" is configured")
}

// enableBridge is PUT /api/v1/bridges/{name}/enable/{true|false}, as
// EMQX's API names it.
func (s *Server) enableBridge(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	on, err := strconv.ParseBool(r.PathValue("enable"))
	if err != nil {
		badRequest(w, "enable", strconv.Quote(r.PathValue("enable"))+" is not true or false")
		return
	}
	if s.cfg.EnableBridge == nil {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no bridge "+strconv.Quote(name)+" is configured")
		return
	}
	if err := s.cfg.EnableBridge(r.Context(), name, on); err != nil {
		if errors.Is(err, ErrNoBridge) {
			writeError(w, http.StatusNotFound, "NOT_FOUND", "no bridge "+strconv.Quote(name)+" is configured")
			return
		}
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
