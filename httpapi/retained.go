package httpapi

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/topic"
)

// retainedJSON is a retained message; the payload, base64, only when one
// message is asked for.
type retainedJSON struct {
	Topic        string          `json:"topic"`
	QoS          byte            `json:"qos"`
	FromClientID string          `json:"from_clientid"`
	PayloadSize  int             `json:"payload_size"`
	Payload      *string         `json:"payload,omitempty"`
	Properties   *propertiesJSON `json:"properties,omitempty"`
	Expiry       *time.Time      `json:"expires_at,omitempty"`
}

func toRetained(m *core.Message, full bool) retainedJSON {
	out := retainedJSON{Topic: m.Topic, QoS: m.QoS, FromClientID: m.Origin.ClientID, PayloadSize: len(m.Payload), Expiry: timePtr(m.Expiry)}
	if full {
		p := base64.StdEncoding.EncodeToString(m.Payload)
		out.Payload = &p
		out.Properties = toProperties(m)
	}
	return out
}

func (s *Server) listRetained(w http.ResponseWriter, r *http.Request) {
	limit, cursor, ok := pageQuery(w, r)
	if !ok {
		return
	}
	filter := r.URL.Query().Get("topic")
	if filter != "" && topic.ValidateFilter(filter, 0) != nil {
		badRequest(w, "topic", strconv.Quote(filter)+" is not a valid topic filter")
		return
	}
	p := s.cfg.Admin.Retained(core.RetainedQuery{Filter: filter, Cursor: cursor, Limit: limit})
	out := page[retainedJSON]{Data: make([]retainedJSON, 0, len(p.Messages)), Meta: pageMeta{Limit: limit, HasNext: p.Next != "", Cursor: p.Next}}
	for _, m := range p.Messages {
		out.Data = append(out.Data, toRetained(m, false))
	}
	writeJSON(w, http.StatusOK, out)
}

func retainedNotFound(w http.ResponseWriter, t string) {
	writeError(w, http.StatusNotFound, "NOT_FOUND", "no retained message on "+strconv.Quote(t))
}

func (s *Server) getRetained(w http.ResponseWriter, r *http.Request) {
	t := r.PathValue("topic")
	m, ok := s.cfg.Admin.RetainedMessage(t)
	if !ok {
		retainedNotFound(w, t)
		return
	}
	writeJSON(w, http.StatusOK, toRetained(m, true))
}

func (s *Server) deleteRetained(w http.ResponseWriter, r *http.Request) {
	t := r.PathValue("topic")
	found, err := s.cfg.Admin.DeleteRetained(t)
	switch {
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "STORE_FAILED", err.Error())
	case !found:
		retainedNotFound(w, t)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
