package httpapi

import (
	"net/http"
	"strconv"
)

func (s *Server) gateways() []ProtocolGateway {
	if s.cfg.Gateways == nil {
		return []ProtocolGateway{}
	}
	return s.cfg.Gateways()
}

func (s *Server) listGateways(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.gateways())
}

func (s *Server) getGateway(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	for _, g := range s.gateways() {
		if g.Name == name {
			writeJSON(w, http.StatusOK, g)
			return
		}
	}
	writeError(w, http.StatusNotFound, "NOT_FOUND", "no gateway "+strconv.Quote(name)+" is enabled")
}
