package auth

import (
	"bytes"
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mqgate/mqgate/core"
)

// HTTPConfig configures an HTTP callback source.
type HTTPConfig struct {
	// AuthnURL receives authentication requests; empty answers core.Ignore.
	AuthnURL string
	// AuthzURL receives authorization requests; empty answers core.Ignore.
	AuthzURL string
	// Timeout bounds each request; zero means 5s.
	Timeout time.Duration
	// CacheTTL is how long an authorization verdict is reused; zero means
	// 60s, negative disables the cache.
	CacheTTL time.Duration
	// CacheSize bounds the number of cached verdicts; zero means 10000,
	// negative disables the cache.
	CacheSize int
	// Headers are added to every request.
	Headers map[string]string
	// Client sends the requests; nil means a client of the source's own.
	Client *http.Client
}

// Validate checks the URLs and fills in defaults.
func (c *HTTPConfig) Validate() error {
	for _, u := range []struct{ name, url string }{{"authn url", c.AuthnURL}, {"authz url", c.AuthzURL}} {
		if u.url == "" {
			continue
		}
		p, err := url.Parse(u.url)
		if err != nil {
			return fmt.Errorf("http auth: %s: %w", u.name, err)
		}
		if (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("http auth: %s %q: want an http or https URL", u.name, u.url)
		}
	}
	if c.Timeout < 0 {
		return fmt.Errorf("http auth: negative timeout %v", c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = 60 * time.Second
	}
	if c.CacheSize == 0 {
		c.CacheSize = 10000
	}
	return nil
}

// HTTP asks an external HTTP service to authenticate and authorize clients.
// Each call makes at most one request, bounded by the configured timeout and
// the caller's context; it starts no goroutine of its own. Authorization
// verdicts are cached; authentication results never are, since they depend
// on a password.
type HTTP struct {
	cfg     HTTPConfig
	client  *http.Client
	ownPool bool // client is ours; Close releases its idle connections

	now func() time.Time // clock for the cache; replaced in tests

	mu    sync.Mutex // guards cache and order
	cache map[authzKey]*list.Element
	order *list.List // of *authzEntry, oldest insertion first
}

var (
	_ core.Authenticator = (*HTTP)(nil)
	_ core.Authorizer    = (*HTTP)(nil)
)

// maxResponse bounds how much of a response body is read.
const maxResponse = 64 << 10

// NewHTTP returns an HTTP callback source.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &HTTP{cfg: cfg, client: cfg.Client, now: time.Now}
	if h.client == nil {
		// A pool of our own, so Close can release it without touching
		// connections other packages keep in http.DefaultTransport.
		var rt http.RoundTripper = http.DefaultTransport
		if t, ok := rt.(*http.Transport); ok {
			rt = t.Clone()
			h.ownPool = true
		}
		h.client = &http.Client{Transport: rt}
	}
	if cfg.CacheTTL > 0 && cfg.CacheSize > 0 {
		h.cache = make(map[authzKey]*list.Element)
		h.order = list.New()
	}
	return h, nil
}

// Close releases idle connections of the source's own HTTP client. A client
// passed in HTTPConfig belongs to the caller and is left alone.
func (h *HTTP) Close() {
	if h.ownPool {
		h.client.CloseIdleConnections()
	}
}

type authnRequest struct {
	Protocol   string `json:"protocol"`
	Listener   string `json:"listener"`
	Namespace  string `json:"namespace"`
	ClientID   string `json:"clientid"`
	Username   string `json:"username"`
	Password   string `json:"password"`
	PeerHost   string `json:"peerhost"`
	CertCN     string `json:"cert_cn"`
	Mountpoint string `json:"mountpoint"`
}

type authzRequest struct {
	Protocol string `json:"protocol"`
	ClientID string `json:"clientid"`
	Username string `json:"username"`
	PeerHost string `json:"peerhost"`
	Action   string `json:"action"`
	Topic    string `json:"topic"`
}

// authzKey holds every field sent in an authorization request, so a cached
// verdict is reused only for a request the service would see as identical.
type authzKey authzRequest

type authzEntry struct {
	key     authzKey
	verdict core.Verdict
	expires time.Time
}

func peerHost(c *core.ClientInfo) string {
	if !c.PeerAddr.IsValid() {
		return ""
	}
	return c.PeerAddr.Addr().Unmap().String()
}

// Authenticate posts the client's identity and password to AuthnURL. A
// password that is not valid UTF-8 reaches the service with invalid bytes
// replaced by U+FFFD, as JSON strings require.
func (h *HTTP) Authenticate(ctx context.Context, c *core.ClientInfo, password []byte) (core.Verdict, error) {
	if h.cfg.AuthnURL == "" {
		return core.Ignore, nil
	}
	return h.post(ctx, h.cfg.AuthnURL, authnRequest{
		Protocol:   c.Protocol,
		Listener:   c.Listener,
		Namespace:  c.Namespace,
		ClientID:   c.ClientID,
		Username:   c.Username,
		Password:   string(password),
		PeerHost:   peerHost(c),
		CertCN:     c.CertCN,
		Mountpoint: c.Mountpoint,
	})
}

// Authorize posts the request to AuthzURL, or answers from the cache.
func (h *HTTP) Authorize(ctx context.Context, c *core.ClientInfo, a core.Action, topic string) (core.Verdict, error) {
	if h.cfg.AuthzURL == "" {
		return core.Ignore, nil
	}
	var action string
	switch a {
	case core.ActionPublish:
		action = "publish"
	case core.ActionSubscribe:
		action = "subscribe"
	default:
		// The service protocol has no combined action; ask twice.
		if a != core.ActionPublish|core.ActionSubscribe {
			return core.Deny, fmt.Errorf("http auth: invalid action %d", a)
		}
		v, err := h.Authorize(ctx, c, core.ActionPublish, topic)
		if err != nil || v != core.Allow {
			return v, err
		}
		return h.Authorize(ctx, c, core.ActionSubscribe, topic)
	}
	key := authzKey{
		Protocol: c.Protocol,
		ClientID: c.ClientID,
		Username: c.Username,
		PeerHost: peerHost(c),
		Action:   action,
		Topic:    topic,
	}
	if v, ok := h.cached(key); ok {
		return v, nil
	}
	v, err := h.post(ctx, h.cfg.AuthzURL, authzRequest(key))
	if err != nil {
		return v, err
	}
	h.store(key, v)
	return v, nil
}

func (h *HTTP) cached(k authzKey) (core.Verdict, bool) {
	if h.cache == nil {
		return 0, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	el, ok := h.cache[k]
	if !ok {
		return 0, false
	}
	e := el.Value.(*authzEntry)
	if !h.now().Before(e.expires) {
		h.order.Remove(el)
		delete(h.cache, k)
		return 0, false
	}
	return e.verdict, true
}

func (h *HTTP) store(k authzKey, v core.Verdict) {
	if h.cache == nil {
		return
	}
	expires := h.now().Add(h.cfg.CacheTTL)
	h.mu.Lock()
	defer h.mu.Unlock()
	if el, ok := h.cache[k]; ok {
		e := el.Value.(*authzEntry)
		e.verdict, e.expires = v, expires
		h.order.MoveToBack(el)
		return
	}
	// The topic can be a view into a message the cache must not keep
	// alive.
	k.Topic = strings.Clone(k.Topic)
	// Entries share one TTL, so the oldest insertion expires first: evicting
	// from the front drops expired entries before live ones.
	for h.order.Len() >= h.cfg.CacheSize {
		old := h.order.Remove(h.order.Front()).(*authzEntry)
		delete(h.cache, old.key)
	}
	h.cache[k] = h.order.PushBack(&authzEntry{key: k, verdict: v, expires: expires})
}

// post sends body as JSON and turns the response into a verdict. Any
// failure returns core.Deny with an error.
func (h *HTTP) post(ctx context.Context, endpoint string, body any) (core.Verdict, error) {
	buf, err := json.Marshal(body)
	if err != nil {
		return core.Deny, fmt.Errorf("http auth: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(buf))
	if err != nil {
		return core.Deny, fmt.Errorf("http auth: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return core.Deny, fmt.Errorf("http auth: %w", err)
	}
	defer func() {
		// Drain a little so the connection can be reused.
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
		resp.Body.Close()
	}()
	switch {
	case resp.StatusCode == http.StatusNoContent:
		return core.Allow, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return core.Deny, fmt.Errorf("http auth: %s: status %s", endpoint, resp.Status)
	}
	var out struct {
		Result string `json:"result"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponse)).Decode(&out); err != nil {
		return core.Deny, fmt.Errorf("http auth: %s: decode response: %w", endpoint, err)
	}
	switch out.Result {
	case "allow":
		return core.Allow, nil
	case "deny":
		return core.Deny, nil
	case "ignore":
		return core.Ignore, nil
	}
	return core.Deny, fmt.Errorf("http auth: %s: %w %q", endpoint, errBadResult, out.Result)
}

var errBadResult = errors.New("unknown result")
