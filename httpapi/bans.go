package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Ban bans clients by client id, username or peer address (an IP or a
// CIDR), after EMQX's /banned.
type Ban struct {
	As     string     `json:"as"` // clientid, username or peerhost
	Who    string     `json:"who"`
	By     string     `json:"by,omitempty"`
	Reason string     `json:"reason,omitempty"`
	At     time.Time  `json:"at"`
	Until  *time.Time `json:"until,omitempty"` // nil: until removed
}

// Check validates the ban; for peerhost it returns the prefix it covers.
func (b *Ban) Check() (netip.Prefix, error) {
	if b.Who == "" {
		return netip.Prefix{}, errors.New("who: is required")
	}
	switch b.As {
	case "clientid", "username":
		return netip.Prefix{}, nil
	case "peerhost":
		if p, err := netip.ParsePrefix(b.Who); err == nil {
			return p.Masked(), nil
		}
		a, err := netip.ParseAddr(b.Who)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("who: %q is not an IP address or a CIDR", b.Who)
		}
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	return netip.Prefix{}, fmt.Errorf("as: %q is not one of clientid, username, peerhost", b.As)
}

// Bans is the gateway's ban list.
type Bans interface {
	List() []Ban
	// Ban stores a ban, durably, and kicks the connected clients it
	// matches; it returns how many.
	Ban(Ban) (kicked int, err error)
	Remove(as, who string) (bool, error)
}

func (s *Server) bansOr404(w http.ResponseWriter) Bans {
	if s.cfg.Bans == nil {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "bans are not available")
	}
	return s.cfg.Bans
}

func (s *Server) listBans(w http.ResponseWriter, _ *http.Request) {
	if b := s.bansOr404(w); b != nil {
		writeJSON(w, http.StatusOK, page[Ban]{Data: b.List(), Meta: pageMeta{Limit: 0}})
	}
}

// addBan takes {"as", "who", "reason", "until" (RFC 3339)}.
func (s *Server) addBan(w http.ResponseWriter, r *http.Request) {
	b := s.bansOr404(w)
	if b == nil {
		return
	}
	var req struct {
		As     string `json:"as"`
		Who    string `json:"who"`
		By     string `json:"by"`
		Reason string `json:"reason"`
		Until  string `json:"until"` // RFC 3339; "" bans until removed
	}
	if !decode(w, r, &req) {
		return
	}
	ban := Ban{As: req.As, Who: req.Who, By: req.By, Reason: req.Reason}
	if req.Until != "" {
		u, err := time.Parse(time.RFC3339, req.Until)
		if err != nil {
			badRequest(w, "until", "is not an RFC 3339 time such as 2030-01-02T15:04:05Z")
			return
		}
		ban.Until = &u
	}
	if _, err := ban.Check(); err != nil {
		field, msg, _ := strings.Cut(err.Error(), ": ")
		badRequest(w, field, msg)
		return
	}
	ban.At = time.Now().UTC().Truncate(time.Second)
	if ban.Until != nil && !ban.Until.After(ban.At) {
		badRequest(w, "until", "must be in the future")
		return
	}
	if ban.By == "" {
		ban.By = "http-api"
	}
	kicked, err := b.Ban(ban)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "STORE_FAILED", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Ban
		Kicked int `json:"kicked"`
	}{ban, kicked})
}

func (s *Server) removeBan(w http.ResponseWriter, r *http.Request) {
	b := s.bansOr404(w)
	if b == nil {
		return
	}
	as, who := r.PathValue("as"), r.PathValue("who")
	found, err := b.Remove(as, who)
	switch {
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "STORE_FAILED", err.Error())
	case !found:
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no ban of "+as+" "+strconv.Quote(who))
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
