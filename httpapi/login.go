package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxLoginBody bounds the body of a login, which anyone may send.
const maxLoginBody = 4 << 10

// loginRequest is the body of POST /api/v1/login, as EMQX's dashboard
// sends it.
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// loginResponse is a signed-in user's bearer token.
type loginResponse struct {
	Token     string `json:"token"`
	ExpiresAt string `json:"expires_at"` // RFC 3339
	Username  string `json:"username"`
}

// login checks a username and password against the users file and
// answers a bearer token for the API.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	from := clientPrefix(r)
	if ok, retry := s.limit.allow(from, now); !ok {
		secs := int((retry + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS",
			"too many failed logins from this address; try again in "+strconv.Itoa(secs)+"s")
		return
	}
	var req loginRequest
	if !decodeLimit(w, r, &req, maxLoginBody) {
		return
	}
	switch {
	case req.Username == "":
		badRequest(w, "username", "is required")
		return
	case req.Password == "":
		badRequest(w, "password", "is required")
		return
	}
	users := s.cfg.Users
	if users == nil || !users.Verify(req.Username, []byte(req.Password)) {
		s.limit.failed(from, now)
		s.cfg.Log.Warn("dashboard login refused", "username", req.Username, "peer", r.RemoteAddr)
		msg := "the username or the password is wrong"
		if users == nil {
			msg = "no one can sign in: the server has no users file (http.users_file)"
		}
		writeError(w, http.StatusUnauthorized, "BAD_USERNAME_OR_PWD", msg)
		return
	}
	token, expires := s.sessions.create(req.Username, now, s.ttl)
	s.cfg.Log.Info("dashboard login", "username", req.Username, "peer", r.RemoteAddr)
	writeJSON(w, http.StatusOK, loginResponse{Token: token, ExpiresAt: expires.UTC().Format(time.RFC3339), Username: req.Username})
}

// logout revokes the login token the request was authenticated with; a
// request signed with an API key has none to revoke.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if tok, ok := loginToken(r); ok {
		s.sessions.revoke(tok)
	}
	w.WriteHeader(http.StatusNoContent)
}

// loginToken returns the request's bearer token when it is a login token:
// an API key's bearer token is NAME.SECRET, and base64url has no '.'.
func loginToken(r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	tok = strings.TrimSpace(tok)
	return tok, ok && tok != "" && !strings.Contains(tok, ".")
}

// checkLogin reports whether token is a live login token of a user the
// users file still lists; the token of a user no longer listed is revoked.
func (s *Server) checkLogin(token string) bool {
	users := s.cfg.Users
	if users == nil {
		return false
	}
	user, ok := s.sessions.lookup(token, s.now())
	if ok && !users.Has(user) {
		s.sessions.revoke(token)
		ok = false
	}
	return ok
}
