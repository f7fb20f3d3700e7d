package httpapi

import (
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/topic"
)

// clientJSON is a session, named as EMQX names a client's fields.
type clientJSON struct {
	ClientID         string             `json:"clientid"`
	Namespace        string             `json:"namespace,omitempty"`
	Username         string             `json:"username"`
	ProtoName        string             `json:"proto_name"`
	ProtoVer         int                `json:"proto_ver"`
	Listener         string             `json:"listener"`
	IPAddress        string             `json:"ip_address"`
	Port             int                `json:"port"`
	Connected        bool               `json:"connected"`
	ConnectedAt      *time.Time         `json:"connected_at,omitempty"`
	DisconnectedAt   *time.Time         `json:"disconnected_at,omitempty"`
	KeepAlive        int64              `json:"keepalive"`       // seconds
	ExpiryInterval   int64              `json:"expiry_interval"` // seconds; -1: never
	SubscriptionsCnt int                `json:"subscriptions_cnt"`
	MqueueLen        int                `json:"mqueue_len"`
	MqueueBytes      int                `json:"mqueue_bytes"`
	InflightCnt      int                `json:"inflight_cnt"`
	Subscriptions    []subscriptionJSON `json:"subscriptions,omitempty"`
}

type subscriptionJSON struct {
	ClientID string `json:"clientid"`
	ID       string `json:"id"` // what DELETE .../subscriptions?topic= takes
	Topic    string `json:"topic"`
	QoS      byte   `json:"qos"`
	NL       int    `json:"nl"`
	RAP      int    `json:"rap"`
	RH       byte   `json:"rh"`
	SubID    uint32 `json:"subid,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func toClient(i *core.SessionInfo) clientJSON {
	c := clientJSON{
		ClientID: i.ClientID, Namespace: i.Namespace, Username: i.Username, ProtoName: i.Protocol,
		ProtoVer: int(i.Version), Listener: i.Listener, Connected: i.Connected,
		ConnectedAt: timePtr(i.ConnectedAt), DisconnectedAt: timePtr(i.DisconnectedAt),
		KeepAlive: int64(i.KeepAlive / time.Second), ExpiryInterval: int64(i.Expiry / time.Second),
		SubscriptionsCnt: i.Subscriptions, MqueueLen: i.Queued, MqueueBytes: i.QueuedBytes, InflightCnt: i.Inflight,
	}
	if i.Expiry == core.NeverExpire {
		c.ExpiryInterval = -1
	}
	if ap, err := netip.ParseAddrPort(i.Peer); err == nil {
		c.IPAddress, c.Port = ap.Addr().Unmap().String(), int(ap.Port())
	} else {
		c.IPAddress = i.Peer
	}
	return c
}

func toSubscription(clientID string, s *core.SubscriptionInfo) subscriptionJSON {
	o := &s.Options
	return subscriptionJSON{
		ClientID: clientID, ID: s.ID, Topic: s.Filter, QoS: o.QoS, NL: b2i(o.NoLocal), RAP: b2i(o.RetainAsPublished),
		RH: o.RetainHandling, SubID: o.SubscriptionID,
	}
}

func (s *Server) listClients(w http.ResponseWriter, r *http.Request) {
	limit, cursor, ok := pageQuery(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	sq := core.SessionQuery{
		Namespace: q.Get("namespace"), ClientIDPrefix: q.Get("clientid_prefix"), Username: q.Get("username"),
		Protocol: strings.ToLower(q.Get("proto_name")), Cursor: cursor, Limit: limit,
	}
	switch q.Get("conn_state") {
	case "":
	case "connected":
		sq.Connected = new(true)
	case "disconnected":
		sq.Connected = new(false)
	default:
		badRequest(w, "conn_state", "must be connected or disconnected")
		return
	}
	p := s.cfg.Admin.Sessions(sq)
	out := page[clientJSON]{Data: make([]clientJSON, 0, len(p.Sessions)), Meta: pageMeta{Limit: limit, HasNext: p.Next != "", Cursor: p.Next}}
	for i := range p.Sessions {
		out.Data = append(out.Data, toClient(&p.Sessions[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

func clientNotFound(w http.ResponseWriter, id string) {
	writeError(w, http.StatusNotFound, "CLIENTID_NOT_FOUND", "no session of client "+strconv.Quote(id))
}

func (s *Server) getClient(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("clientid")
	d, ok := s.cfg.Admin.Session(r.URL.Query().Get("namespace"), id)
	if !ok {
		clientNotFound(w, id)
		return
	}
	c := toClient(&d.SessionInfo)
	c.Subscriptions = make([]subscriptionJSON, 0, len(d.Subscriptions))
	for i := range d.Subscriptions {
		c.Subscriptions = append(c.Subscriptions, toSubscription(id, &d.Subscriptions[i]))
	}
	writeJSON(w, http.StatusOK, c)
}

// kickClient closes the client's connection and keeps its session; with
// ?discard_session=true it ends the session too.
func (s *Server) kickClient(w http.ResponseWriter, r *http.Request) {
	id, ns := r.PathValue("clientid"), r.URL.Query().Get("namespace")
	discard := false
	if v := r.URL.Query().Get("discard_session"); v != "" {
		var err error
		if discard, err = strconv.ParseBool(v); err != nil {
			badRequest(w, "discard_session", "must be true or false")
			return
		}
	}
	if discard {
		if !s.cfg.Admin.DeleteSession(ns, id) {
			clientNotFound(w, id)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if _, ok := s.cfg.Admin.Session(ns, id); !ok {
		clientNotFound(w, id)
		return
	}
	if !s.cfg.Admin.Kick(ns, id) {
		writeError(w, http.StatusConflict, "CLIENT_NOT_CONNECTED", "client "+strconv.Quote(id)+" has a session but no connection; DELETE with ?discard_session=true ends the session")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("clientid")
	d, ok := s.cfg.Admin.Session(r.URL.Query().Get("namespace"), id)
	if !ok {
		clientNotFound(w, id)
		return
	}
	out := make([]subscriptionJSON, 0, len(d.Subscriptions))
	for i := range d.Subscriptions {
		out = append(out, toSubscription(id, &d.Subscriptions[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

type subscribeRequest struct {
	Topic string `json:"topic"`
	QoS   int    `json:"qos"`
	NL    int    `json:"nl"`
	RAP   int    `json:"rap"`
	RH    int    `json:"rh"`
	SubID int64  `json:"subid"`
}

func (s *Server) addSubscription(w http.ResponseWriter, r *http.Request) {
	id, ns := r.PathValue("clientid"), r.URL.Query().Get("namespace")
	var req subscribeRequest
	if !decode(w, r, &req) {
		return
	}
	switch {
	case req.Topic == "":
		badRequest(w, "topic", "is required")
		return
	case topic.ValidateFilter(req.Topic, 0) != nil:
		badRequest(w, "topic", strconv.Quote(req.Topic)+" is not a valid topic filter")
		return
	case req.QoS < 0 || req.QoS > 2:
		badRequest(w, "qos", "must be 0, 1 or 2")
		return
	case req.NL < 0 || req.NL > 1:
		badRequest(w, "nl", "must be 0 or 1")
		return
	case req.RAP < 0 || req.RAP > 1:
		badRequest(w, "rap", "must be 0 or 1")
		return
	case req.RH < 0 || req.RH > 2:
		badRequest(w, "rh", "must be 0, 1 or 2")
		return
	case req.SubID < 0 || req.SubID > 268435455:
		badRequest(w, "subid", "must be from 1 to 268435455, or 0 for none")
		return
	}
	sr := core.SubscribeRequest{Filter: req.Topic, Options: topic.Options{
		QoS: byte(req.QoS), NoLocal: req.NL == 1, RetainAsPublished: req.RAP == 1,
		RetainHandling: byte(req.RH), SubscriptionID: uint32(req.SubID),
	}}
	res, err := s.cfg.Admin.AddSubscription(r.Context(), ns, id, sr)
	switch {
	case errors.Is(err, core.ClientIDNotValid):
		clientNotFound(w, id)
		return
	case errors.Is(err, core.TopicFilterInvalid):
		badRequest(w, "topic", strconv.Quote(req.Topic)+" is not a valid topic filter")
		return
	case err != nil && res.Code == core.UnspecifiedError:
		writeError(w, http.StatusServiceUnavailable, "STORE_FAILED", err.Error())
		return
	case err != nil:
		writeError(w, http.StatusConflict, "SUBSCRIBE_FAILED", err.Error())
		return
	}
	d, _ := s.cfg.Admin.Session(ns, id)
	for i := range d.Subscriptions {
		if d.Subscriptions[i].Filter == req.Topic {
			writeJSON(w, http.StatusOK, toSubscription(id, &d.Subscriptions[i]))
			return
		}
	}
	writeJSON(w, http.StatusOK, subscriptionJSON{ClientID: id, ID: req.Topic, Topic: req.Topic, QoS: res.QoS})
}

func (s *Server) removeSubscription(w http.ResponseWriter, r *http.Request) {
	id, q := r.PathValue("clientid"), r.URL.Query()
	sub := q.Get("topic")
	if sub == "" {
		badRequest(w, "topic", "is required: the subscription's id (its filter for MQTT)")
		return
	}
	err := s.cfg.Admin.RemoveSubscription(q.Get("namespace"), id, sub)
	switch {
	case errors.Is(err, core.ClientIDNotValid):
		clientNotFound(w, id)
	case errors.Is(err, core.NoSubscriptionExisted):
		writeError(w, http.StatusNotFound, "SUBSCRIPTION_NOT_FOUND", "client "+strconv.Quote(id)+" has no subscription "+strconv.Quote(sub))
	case err != nil:
		writeError(w, http.StatusConflict, "UNSUBSCRIBE_FAILED", err.Error())
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
