package httpapi

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/mqgate/mqgate/core"
)

// banJSON is a core.Ban as EMQX's /banned names its fields.
type banJSON struct {
	As     string     `json:"as"` // clientid, username or peerhost
	Who    string     `json:"who"`
	Reason string     `json:"reason,omitempty"`
	At     time.Time  `json:"at"`
	Until  *time.Time `json:"until,omitempty"` // absent: until removed
}

func toBan(b *core.Ban) banJSON {
	out := banJSON{As: string(b.Kind), Who: b.Value, Reason: b.Reason, At: b.At.UTC()}
	if !b.Until.IsZero() {
		u := b.Until.UTC()
		out.Until = &u
	}
	return out
}

func (s *Server) listBans(w http.ResponseWriter, _ *http.Request) {
	bans := s.cfg.Admin.Bans()
	out := page[banJSON]{Data: make([]banJSON, 0, len(bans))}
	for i := range bans {
		out.Data = append(out.Data, toBan(&bans[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

// addBan takes {"as", "who", "reason", "until" (RFC 3339)}; the core
// stores the ban durably and closes the connections it matches.
func (s *Server) addBan(w http.ResponseWriter, r *http.Request) {
	var req struct {
		As     string `json:"as"`
		Who    string `json:"who"`
		Reason string `json:"reason"`
		Until  string `json:"until"` // RFC 3339; "" bans until removed
	}
	if !decode(w, r, &req) {
		return
	}
	ban := core.Ban{Kind: core.BanKind(req.As), Value: req.Who, Reason: req.Reason, At: time.Now().UTC().Truncate(time.Second)}
	if !validBanKind(ban.Kind) {
		badRequest(w, "as", strconv.Quote(req.As)+" is not one of clientid, username, peerhost")
		return
	}
	if req.Who == "" {
		badRequest(w, "who", "is required")
		return
	}
	if ban.Kind == core.BanPeerHost && !validPeer(req.Who) {
		badRequest(w, "who", strconv.Quote(req.Who)+" is not an IP address or a CIDR")
		return
	}
	if req.Until != "" {
		u, err := time.Parse(time.RFC3339, req.Until)
		if err != nil {
			badRequest(w, "until", "is not an RFC 3339 time such as 2030-01-02T15:04:05Z")
			return
		}
		if !u.After(ban.At) {
			badRequest(w, "until", "must be in the future")
			return
		}
		ban.Until = u
	}
	kicked, err := s.cfg.Admin.AddBan(ban)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "STORE_FAILED", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, struct {
		banJSON
		Kicked int `json:"kicked"`
	}{toBan(&ban), kicked})
}

func validBanKind(k core.BanKind) bool {
	return k == core.BanClientID || k == core.BanUsername || k == core.BanPeerHost
}

func validPeer(v string) bool {
	if strings.Contains(v, "/") {
		_, err := netip.ParsePrefix(v)
		return err == nil
	}
	_, err := netip.ParseAddr(v)
	return err == nil
}

func (s *Server) removeBan(w http.ResponseWriter, r *http.Request) {
	as, who := r.PathValue("as"), r.PathValue("who")
	if !validBanKind(core.BanKind(as)) {
		badRequest(w, "as", strconv.Quote(as)+" is not one of clientid, username, peerhost")
		return
	}
	found, err := s.cfg.Admin.RemoveBan(core.BanKind(as), who)
	switch {
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "STORE_FAILED", err.Error())
	case !found:
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no ban of "+as+" "+strconv.Quote(who))
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
