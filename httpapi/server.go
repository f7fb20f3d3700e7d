package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/auth"
)

// Config is what the HTTP server serves.
type Config struct {
	Admin core.Admin
	// Publish publishes as core.Broker.Publish does: it returns once the
	// message is accepted and, at QoS 1 and 2, durable.
	Publish func(ctx context.Context, info *core.ClientInfo, m *core.Message) (int, error)
	// Keys are the API keys that may call the server. With neither Keys
	// nor Users the server serves without credentials (the gateway allows
	// that on loopback only).
	Keys *Keys
	// Users are the people who may sign in (POST /api/v1/login) for a
	// bearer login token; nil: no one. The gateway reloads the file.
	Users *auth.PasswordFile
	// SessionTTL is how long a login token lasts; 0 is DefaultSessionTTL.
	SessionTTL time.Duration
	// Ready says why the gateway is not ready, or nil when it is.
	Ready func() error
	// Gateway describes the gateway for /api/v1/status.
	Gateway func() GatewayInfo
	// Gateways lists the protocol gateways (every adapter but native
	// MQTT) for /api/v1/gateways.
	Gateways func() []ProtocolGateway
	// Bridges lists the upstream bridges for /api/v1/bridges.
	Bridges func() []BridgeStatus
	// EnableBridge enables or disables a bridge; its error wraps
	// ErrNoBridge for an unknown name.
	EnableBridge func(ctx context.Context, name string, on bool) error
	// Metrics serves /metrics; nil serves none.
	Metrics http.Handler
	Log     *slog.Logger
}

// GatewayInfo is what the gateway tells /api/v1/status about itself.
type GatewayInfo struct {
	Version    string     `json:"version"`
	Node       string     `json:"node"`
	Store      string     `json:"store"` // "disk" or "memory"
	StoreState StoreState `json:"store_state"`
	Listeners  []Listener `json:"listeners"`
}

// ProtocolGateway is one protocol gateway (MQTT-SN, CoAP, STOMP) as
// EMQX's /gateways describes it.
type ProtocolGateway struct {
	Name        string     `json:"name"`
	Status      string     `json:"status"` // running, or starting while the gateway starts or stops
	Connections int64      `json:"current_connections"`
	Listeners   []Listener `json:"listeners"`
}

// Listener is one bound listener and its current connections.
type Listener struct {
	Protocol    string `json:"protocol"`
	Name        string `json:"name"`
	Type        string `json:"type,omitempty"` // MQTT: tcp, tls, ws, wss
	Path        string `json:"path,omitempty"` // ws and wss
	Address     string `json:"address"`
	Connections int64  `json:"connections"`
}

// Server is the operations HTTP handler.
type Server struct {
	cfg      Config
	routing  func() routing       // the routes, registered on the first request
	keys     atomic.Pointer[Keys] // nil: API keys are not configured
	sessions *sessions            // login tokens
	limit    *loginLimit          // failed logins per address
	ttl      time.Duration        // of a login token
	now      func() time.Time     // a test's clock
}

// route is one endpoint. path is as the OpenAPI document writes it; rest
// marks a last {param} that takes the rest of the path, slashes included.
type route struct {
	method, path string
	rest         bool
	public       bool // no credentials needed
	handle       func(s *Server, w http.ResponseWriter, r *http.Request)
}

// routes are the server's endpoints; openapi.json documents each of those
// under /api/v1, and a test holds the two together.
var routes = []route{
	{method: "GET", path: "/healthz", public: true, handle: (*Server).healthz},
	{method: "GET", path: "/readyz", public: true, handle: (*Server).readyz},
	{method: "GET", path: "/metrics", handle: (*Server).metrics},
	{method: "GET", path: "/api/v1/openapi.json", public: true, handle: (*Server).openAPI},
	{method: "POST", path: "/api/v1/login", public: true, handle: (*Server).login},
	{method: "POST", path: "/api/v1/logout", handle: (*Server).logout},
	{method: "GET", path: "/api/v1/status", handle: (*Server).status},
	{method: "GET", path: "/api/v1/clients", handle: (*Server).listClients},
	{method: "GET", path: "/api/v1/clients/{clientid}", handle: (*Server).getClient},
	{method: "DELETE", path: "/api/v1/clients/{clientid}", handle: (*Server).kickClient},
	{method: "GET", path: "/api/v1/clients/{clientid}/subscriptions", handle: (*Server).listSubscriptions},
	{method: "POST", path: "/api/v1/clients/{clientid}/subscriptions", handle: (*Server).addSubscription},
	{method: "DELETE", path: "/api/v1/clients/{clientid}/subscriptions", handle: (*Server).removeSubscription},
	{method: "GET", path: "/api/v1/retained", handle: (*Server).listRetained},
	{method: "GET", path: "/api/v1/retained/{topic}", rest: true, handle: (*Server).getRetained},
	{method: "DELETE", path: "/api/v1/retained/{topic}", rest: true, handle: (*Server).deleteRetained},
	{method: "GET", path: "/api/v1/gateways", handle: (*Server).listGateways},
	{method: "GET", path: "/api/v1/gateways/{name}", handle: (*Server).getGateway},
	{method: "GET", path: "/api/v1/bridges", handle: (*Server).listBridges},
	{method: "GET", path: "/api/v1/bridges/{name}", handle: (*Server).getBridge},
	{method: "PUT", path: "/api/v1/bridges/{name}/enable/{enable}", handle: (*Server).enableBridge},
	{method: "GET", path: "/api/v1/banned", handle: (*Server).listBans},
	{method: "POST", path: "/api/v1/banned", handle: (*Server).addBan},
	{method: "DELETE", path: "/api/v1/banned/{as}/{who}", handle: (*Server).removeBan},
	{method: "POST", path: "/api/v1/publish", handle: (*Server).publish},
	{method: "POST", path: "/api/v1/publish/bulk", handle: (*Server).publishBulk},
}

// New returns the server for cfg.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, sessions: newSessions(maxSessions), limit: newLoginLimit(maxLimited), ttl: cfg.SessionTTL, now: time.Now}
	if s.ttl <= 0 {
		s.ttl = DefaultSessionTTL
	}
	s.keys.Store(cfg.Keys)
	s.routing = sync.OnceValue(s.newRouting)
	return s
}

// routing is the server's endpoints as two muxes: mux by method and path,
// and paths by path alone, whose handlers are the methods each path has.
type routing struct {
	mux, paths *http.ServeMux
}

// newRouting registers the endpoints. A ServeMux checks each pattern and
// notes where it was registered from, work the server does when it is
// first asked for something rather than for a gateway nobody queries.
func (s *Server) newRouting() routing {
	mux := http.NewServeMux()
	byPath := map[string]pathMethods{}
	handle := func(method, pattern string, h http.Handler) {
		mux.Handle(method+" "+pattern, h)
		byPath[pattern] = append(byPath[pattern], method)
	}
	for _, rt := range routes {
		pattern := rt.path
		if rt.rest {
			pattern = strings.TrimSuffix(pattern, "}") + "...}"
		}
		h := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rt.handle(s, w, r) }))
		if !rt.public {
			h = s.authenticate(h)
		}
		handle(rt.method, pattern, h)
	}
	handle("GET", "/dashboard/", dashboard())
	handle("GET", "/{$}", http.RedirectHandler("/dashboard/", http.StatusFound))
	mux.Handle("/", s.authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})))
	paths := http.NewServeMux()
	for pattern, ms := range byPath {
		paths.Handle(pattern, ms)
	}
	return routing{mux: mux, paths: paths}
}

// pathMethods are the methods one path has, in the order of the routes;
// as a handler it answers 405 naming them in Allow.
type pathMethods []string

// has reports whether the path has method; a GET route serves HEAD too.
func (ms pathMethods) has(method string) bool {
	return slices.Contains(ms, method) || method == http.MethodHead && slices.Contains(ms, http.MethodGet)
}

func (ms pathMethods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	allow := make([]string, 0, len(ms)+1)
	for _, m := range ms {
		allow = append(allow, m)
		if m == http.MethodGet {
			allow = append(allow, http.MethodHead)
		}
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", r.Method+" is not allowed on "+r.URL.Path+"; allowed: "+strings.Join(allow, ", "))
}

// SetKeys replaces the API keys, as when the key file is reloaded; the
// requests that follow are checked against k. k must not be nil: a server
// that needs keys never stops needing them.
func (s *Server) SetKeys(k *Keys) {
	if k != nil {
		s.keys.Store(k)
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt := s.routing()
	// A method the path does not have gets 405 with Allow, as JSON, before
	// the mux: its own 405 is plain text, its catch-all would answer 404,
	// and a path one slash short of a route would get a redirect.
	if h, pattern := rt.paths.Handler(r); pattern != "" {
		if ms, ok := h.(pathMethods); ok && !ms.has(r.Method) {
			ms.ServeHTTP(w, r)
			return
		}
	}
	rt.mux.ServeHTTP(w, r)
}

// authenticate lets through requests with a valid API key, basic
// (NAME:SECRET) or bearer (NAME.SECRET), or a bearer login token from
// POST /api/v1/login; and all requests when the server has neither API
// keys nor users.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, users := s.keys.Load(), s.cfg.Users
		if k == nil && users == nil {
			next.ServeHTTP(w, r)
			return
		}
		ok, login := false, false
		if name, secret, basic := r.BasicAuth(); basic {
			ok = k != nil && k.Check(name, secret)
		} else if tok, isLogin := loginToken(r); isLogin {
			ok, login = s.checkLogin(tok), true
		} else if tok, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); bearer {
			ok = k != nil && k.CheckToken(strings.TrimSpace(tok))
		}
		if !ok {
			// A script (the dashboard) says so with X-Requested-With and
			// gets no challenge: a browser would answer it with its own
			// login dialog instead of letting the page sign in.
			if r.Header.Get("X-Requested-With") == "" {
				w.Header().Set("WWW-Authenticate", `Basic realm="mqgate", charset="UTF-8"`)
			}
			code, msg := "BAD_API_KEY_OR_SECRET", "a valid API key is required: basic auth NAME:SECRET or Authorization: Bearer NAME.SECRET"
			switch {
			case login && users != nil:
				code, msg = "BAD_TOKEN", "the login token is unknown, expired or revoked: sign in again with POST /api/v1/login"
			case users != nil:
				msg = "an API key (basic auth NAME:SECRET or Authorization: Bearer NAME.SECRET) or a login token from POST /api/v1/login (Authorization: Bearer TOKEN) is required"
			}
			writeError(w, http.StatusUnauthorized, code, msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(); err != nil {
			writeError(w, http.StatusServiceUnavailable, "NOT_READY", err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Metrics == nil {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "metrics are not enabled")
		return
	}
	s.cfg.Metrics.ServeHTTP(w, r)
}

// apiError is the body of every error answer.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"` // the input at fault, for 400
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Code: code, Message: msg})
}

// badRequest answers 400 naming the field at fault.
func badRequest(w http.ResponseWriter, field, msg string) {
	writeJSON(w, http.StatusBadRequest, apiError{Code: "BAD_REQUEST", Message: field + ": " + msg, Field: field})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the server's own types are encoded; this is a bug.
		status, b = http.StatusInternalServerError, []byte(`{"code":"INTERNAL_ERROR","message":"response not encodable"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
