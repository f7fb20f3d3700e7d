package httpapi

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/topic"
)

// publishRequest is one message to publish, after EMQX's /publish.
type publishRequest struct {
	Topic           string          `json:"topic"`
	Payload         string          `json:"payload"`
	PayloadEncoding string          `json:"payload_encoding"` // plain (default) or base64
	QoS             int             `json:"qos"`
	Retain          bool            `json:"retain"`
	Properties      *propertiesJSON `json:"properties"`
}

// propertiesJSON are the MQTT 5 properties of a message.
type propertiesJSON struct {
	PayloadFormatIndicator int               `json:"payload_format_indicator,omitempty"`
	MessageExpiryInterval  int64             `json:"message_expiry_interval,omitempty"` // seconds
	ResponseTopic          string            `json:"response_topic,omitempty"`
	CorrelationData        string            `json:"correlation_data,omitempty"`
	ContentType            string            `json:"content_type,omitempty"`
	UserProperties         map[string]string `json:"user_properties,omitempty"`
}

func toProperties(m *core.Message) *propertiesJSON {
	p := &propertiesJSON{
		PayloadFormatIndicator: int(m.PayloadFormat), ResponseTopic: m.ResponseTopic,
		CorrelationData: string(m.CorrelationData), ContentType: m.ContentType,
	}
	if !m.Expiry.IsZero() {
		p.MessageExpiryInterval = max(int64(time.Until(m.Expiry)/time.Second), 0)
	}
	if len(m.UserProperties) > 0 {
		p.UserProperties = map[string]string{}
		for _, u := range m.UserProperties {
			p.UserProperties[u.Key] = u.Value
		}
	}
	if p.PayloadFormatIndicator == 0 && p.MessageExpiryInterval == 0 && p.ResponseTopic == "" &&
		p.CorrelationData == "" && p.ContentType == "" && p.UserProperties == nil {
		return nil
	}
	return p
}

// message checks req and builds its message; on bad input it returns the
// field (prefixed by at, as "[2].") and what is wrong.
func (req *publishRequest) message(at string) (m *core.Message, field, problem string) {
	if req.Topic == "" {
		return nil, at + "topic", "is required"
	}
	if topic.ValidateName(req.Topic, 0) != nil {
		return nil, at + "topic", strconv.Quote(req.Topic) + " is not a valid topic name (no wildcards, no NUL)"
	}
	if req.QoS < 0 || req.QoS > 2 {
		return nil, at + "qos", "must be 0, 1 or 2"
	}
	payload := []byte(req.Payload)
	switch req.PayloadEncoding {
	case "", "plain":
	case "base64":
		var err error
		if payload, err = base64.StdEncoding.DecodeString(req.Payload); err != nil {
			return nil, at + "payload", "is not base64: " + err.Error()
		}
	default:
		return nil, at + "payload_encoding", "must be plain or base64"
	}
	m = core.NewMessage(req.Topic, payload)
	m.QoS, m.Retain = byte(req.QoS), req.Retain
	if p := req.Properties; p != nil {
		if p.PayloadFormatIndicator < 0 || p.PayloadFormatIndicator > 1 {
			return nil, at + "properties.payload_format_indicator", "must be 0 or 1"
		}
		if p.MessageExpiryInterval < 0 || p.MessageExpiryInterval > 1<<32-1 {
			return nil, at + "properties.message_expiry_interval", "must be from 0 to 4294967295 seconds"
		}
		if p.ResponseTopic != "" && topic.ValidateName(p.ResponseTopic, 0) != nil {
			return nil, at + "properties.response_topic", "is not a valid topic name"
		}
		m.PayloadFormat, m.ResponseTopic, m.ContentType = byte(p.PayloadFormatIndicator), p.ResponseTopic, p.ContentType
		if p.CorrelationData != "" {
			m.CorrelationData = []byte(p.CorrelationData)
		}
		if p.MessageExpiryInterval > 0 {
			m.Expiry = time.Now().Add(time.Duration(p.MessageExpiryInterval) * time.Second)
		}
		keys := make([]string, 0, len(p.UserProperties))
		for k := range p.UserProperties {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			m.UserProperties = append(m.UserProperties, core.UserProperty{Key: k, Value: p.UserProperties[k]})
		}
	}
	return m, "", ""
}

// publishResult is one message's outcome: its id and how many sessions it
// was queued for, or why it was refused.
type publishResult struct {
	ID      string `json:"id,omitempty"`
	Matched *int   `json:"matched,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Field   string `json:"field,omitempty"`
	status  int
}

func refused(status int, code, field, msg string) publishResult {
	return publishResult{Code: code, Field: field, Message: msg, status: status}
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// publishOne publishes one checked message and waits until the core
// accepted it and, at QoS 1 and 2, the store holds it.
func (s *Server) publishOne(r *http.Request, m *core.Message, at string) publishResult {
	// The ACL sees the API as client http-api with the key's name as
	// username; without keys, nobody was authenticated, so no username.
	info := &core.ClientInfo{Protocol: "http", ClientID: "http-api"}
	if s.keys.Load() != nil {
		if name, _, ok := r.BasicAuth(); ok {
			info.Username = name
		} else if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			info.Username, _, _ = strings.Cut(strings.TrimSpace(tok), ".")
		}
	}
	n, err := s.cfg.Publish(r.Context(), info, m)
	switch {
	case err == nil:
		return publishResult{ID: newID(), Matched: &n, status: http.StatusOK}
	case errors.Is(err, core.NotAuthorized):
		return refused(http.StatusForbidden, "NOT_AUTHORIZED", "", "publishing to "+strconv.Quote(m.Topic)+" is not authorized")
	case errors.Is(err, core.TopicNameInvalid):
		return refused(http.StatusBadRequest, "BAD_REQUEST", at+"topic", at+"topic: "+strconv.Quote(m.Topic)+" may not be published to")
	case errors.Is(err, core.QuotaExceeded):
		return refused(http.StatusBadRequest, "QUOTA_EXCEEDED", at+"retain", at+"retain: the retained message is refused: "+err.Error())
	}
	return refused(http.StatusServiceUnavailable, "UNAVAILABLE", "", err.Error())
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	var req publishRequest
	if !decode(w, r, &req) {
		return
	}
	m, field, problem := req.message("")
	if m == nil {
		badRequest(w, field, problem)
		return
	}
	res := s.publishOne(r, m, "")
	if res.status != http.StatusOK {
		writeJSON(w, res.status, apiError{Code: res.Code, Message: res.Message, Field: res.Field})
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// publishBulk publishes each message in order and answers once every one
// is accepted and durable or refused, with one result per message. A
// malformed message refuses the whole request, naming it ("[2].qos").
func (s *Server) publishBulk(w http.ResponseWriter, r *http.Request) {
	var reqs []publishRequest
	if !decode(w, r, &reqs) {
		return
	}
	if len(reqs) == 0 {
		badRequest(w, "body", "is an empty list; at least one message is required")
		return
	}
	ms := make([]*core.Message, len(reqs))
	for i := range reqs {
		at := "[" + strconv.Itoa(i) + "]."
		m, field, problem := reqs[i].message(at)
		if m == nil {
			badRequest(w, field, problem)
			return
		}
		ms[i] = m
	}
	out := make([]publishResult, len(ms))
	for i, m := range ms {
		out[i] = s.publishOne(r, m, "["+strconv.Itoa(i)+"].")
	}
	writeJSON(w, http.StatusOK, out)
}
