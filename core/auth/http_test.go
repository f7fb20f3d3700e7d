package auth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mqgate/mqgate/core"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// callbackServer is a fake auth service. It answers every request with
// status and body, and records what it received.
type callbackServer struct {
	*httptest.Server
	count atomic.Int32

	mu       sync.Mutex // guards the fields below
	status   int
	body     string
	requests []recordedRequest
}

type recordedRequest struct {
	path   string
	header http.Header
	fields map[string]any
}

func newCallbackServer(t *testing.T, status int, body string) *callbackServer {
	t.Helper()
	s := &callbackServer{status: status, body: body}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.count.Add(1)
		raw, _ := io.ReadAll(r.Body)
		var fields map[string]any
		if err := json.Unmarshal(raw, &fields); err != nil {
			t.Errorf("request body %q is not JSON: %v", raw, err)
		}
		if r.Method != http.MethodPost {
			t.Errorf("method = %s, want POST", r.Method)
		}
		s.mu.Lock()
		s.requests = append(s.requests, recordedRequest{r.URL.Path, r.Header.Clone(), fields})
		status, body := s.status, s.body
		s.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *callbackServer) respond(status int, body string) {
	s.mu.Lock()
	s.status, s.body = status, body
	s.mu.Unlock()
}

func (s *callbackServer) last(t *testing.T) recordedRequest {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		t.Fatal("server received no request")
	}
	return s.requests[len(s.requests)-1]
}

func newTestHTTP(t *testing.T, cfg HTTPConfig) *HTTP {
	t.Helper()
	h, err := NewHTTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

var httpClient = &core.ClientInfo{
	Protocol:   "mqtt",
	Listener:   "tcp-default",
	Namespace:  "ns1",
	ClientID:   "dev-7",
	Username:   "alice",
	PeerAddr:   netip.MustParseAddrPort("[::ffff:192.0.2.9]:51000"),
	CertCN:     "dev-7.example",
	Mountpoint: "tenant1/",
}

func TestHTTPVerdicts(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		want    core.Verdict
		wantErr bool
	}{
		{"allow", 200, `{"result":"allow"}`, core.Allow, false},
		{"deny", 200, `{"result":"deny"}`, core.Deny, false},
		{"ignore", 200, `{"result":"ignore"}`, core.Ignore, false},
		{"no content means allow", 204, "", core.Allow, false},
		{"other 2xx with result", 201, `{"result":"deny"}`, core.Deny, false},
		{"extra fields ignored", 200, `{"result":"allow","is_superuser":true}`, core.Allow, false},
		{"server error", 500, `{"result":"allow"}`, core.Deny, true},
		{"forbidden status is an error", 403, "", core.Deny, true},
		{"unknown result", 200, `{"result":"maybe"}`, core.Deny, true},
		{"missing result", 200, `{}`, core.Deny, true},
		{"not json", 200, `allow`, core.Deny, true},
		{"empty body", 200, ``, core.Deny, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newCallbackServer(t, tt.status, tt.body)
			h := newTestHTTP(t, HTTPConfig{
				AuthnURL: srv.URL + "/authn", AuthzURL: srv.URL + "/authz",
				Client: srv.Client(), CacheTTL: -1,
			})
			ctx := context.Background()
			v, err := h.Authenticate(ctx, httpClient, []byte("pw"))
			if (err != nil) != tt.wantErr || v != tt.want {
				t.Errorf("Authenticate = %v, %v; want %v, error %v", v, err, tt.want, tt.wantErr)
			}
			v, err = h.Authorize(ctx, httpClient, core.ActionPublish, "a/b")
			if (err != nil) != tt.wantErr || v != tt.want {
				t.Errorf("Authorize = %v, %v; want %v, error %v", v, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestHTTPEmptyURLIgnores(t *testing.T) {
	h := newTestHTTP(t, HTTPConfig{})
	ctx := context.Background()
	if v, err := h.Authenticate(ctx, httpClient, []byte("pw")); v != core.Ignore || err != nil {
		t.Errorf("Authenticate = %v, %v; want ignore", v, err)
	}
	if v, err := h.Authorize(ctx, httpClient, core.ActionSubscribe, "a"); v != core.Ignore || err != nil {
		t.Errorf("Authorize = %v, %v; want ignore", v, err)
	}
}

func TestNewHTTPRejectsBadConfig(t *testing.T) {
	for _, cfg := range []HTTPConfig{
		{AuthnURL: "ftp://example.com/authn"},
		{AuthzURL: "example.com/authz"},
		{AuthzURL: "http://%zz"},
		{AuthnURL: "http://example.com", Timeout: -time.Second},
	} {
		if _, err := NewHTTP(cfg); err == nil {
			t.Errorf("NewHTTP(%+v) succeeded", cfg)
		}
	}
}

func TestHTTPAuthenticateRequest(t *testing.T) {
	srv := newCallbackServer(t, 200, `{"result":"allow"}`)
	h := newTestHTTP(t, HTTPConfig{
		AuthnURL: srv.URL + "/authn",
		Client:   srv.Client(),
		Headers:  map[string]string{"Authorization": "Bearer t0ken"},
	})
	if _, err := h.Authenticate(context.Background(), httpClient, []byte("s3cret")); err != nil {
		t.Fatal(err)
	}
	req := srv.last(t)
	if req.path != "/authn" {
		t.Errorf("path = %s, want /authn", req.path)
	}
	if got := req.header.Get("Authorization"); got != "Bearer t0ken" {
		t.Errorf("Authorization header = %q", got)
	}
	if got := req.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	want := map[string]any{
		"protocol":   "mqtt",
		"listener":   "tcp-default",
		"namespace":  "ns1",
		"clientid":   "dev-7",
		"username":   "alice",
		"password":   "s3cret",
		"peerhost":   "192.0.2.9",
		"cert_cn":    "dev-7.example",
		"mountpoint": "tenant1/",
	}
	checkFields(t, req.fields, want)
}

func TestHTTPAuthorizeRequest(t *testing.T) {
	srv := newCallbackServer(t, 200, `{"result":"allow"}`)
	h := newTestHTTP(t, HTTPConfig{AuthzURL: srv.URL + "/authz", Client: srv.Client()})
	ctx := context.Background()
	for _, tt := range []struct {
		action core.Action
		name   string
	}{{core.ActionPublish, "publish"}, {core.ActionSubscribe, "subscribe"}} {
		if _, err := h.Authorize(ctx, httpClient, tt.action, "sensors/+/temp"); err != nil {
			t.Fatal(err)
		}
		req := srv.last(t)
		if req.path != "/authz" {
			t.Errorf("path = %s, want /authz", req.path)
		}
		checkFields(t, req.fields, map[string]any{
			"protocol": "mqtt",
			"clientid": "dev-7",
			"username": "alice",
			"peerhost": "192.0.2.9",
			"action":   tt.name,
			"topic":    "sensors/+/temp",
		})
	}
}

func TestHTTPAuthorizeBothActionsAsksTwice(t *testing.T) {
	srv := newCallbackServer(t, 200, `{"result":"allow"}`)
	h := newTestHTTP(t, HTTPConfig{AuthzURL: srv.URL, Client: srv.Client()})
	v, err := h.Authorize(context.Background(), httpClient, core.ActionPublish|core.ActionSubscribe, "a")
	if err != nil || v != core.Allow {
		t.Fatalf("Authorize = %v, %v; want allow", v, err)
	}
	if n := srv.count.Load(); n != 2 {
		t.Fatalf("server saw %d requests, want 2", n)
	}
}

func checkFields(t *testing.T, got, want map[string]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("request has %d fields %v, want %d", len(got), got, len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("field %q = %v, want %v", k, got[k], w)
		}
	}
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	// Cleanups run last-in first-out: release the handler, then close.
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	h := newTestHTTP(t, HTTPConfig{
		AuthnURL: srv.URL, AuthzURL: srv.URL,
		Client: srv.Client(), Timeout: 20 * time.Millisecond,
	})
	v, err := h.Authorize(context.Background(), httpClient, core.ActionPublish, "a")
	if v != core.Deny || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Authorize = %v, %v; want deny and a deadline error", v, err)
	}
	v, err = h.Authenticate(context.Background(), httpClient, nil)
	if v != core.Deny || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Authenticate = %v, %v; want deny and a deadline error", v, err)
	}
}

func TestHTTPCallerCancellation(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	h := newTestHTTP(t, HTTPConfig{AuthzURL: srv.URL, Client: srv.Client()})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	v, err := h.Authorize(ctx, httpClient, core.ActionPublish, "a")
	if v != core.Deny || !errors.Is(err, context.Canceled) {
		t.Fatalf("Authorize = %v, %v; want deny and a cancellation error", v, err)
	}
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestHTTPAuthorizeCache(t *testing.T) {
	srv := newCallbackServer(t, 200, `{"result":"deny"}`)
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	h := newTestHTTP(t, HTTPConfig{AuthzURL: srv.URL, Client: srv.Client(), CacheTTL: time.Minute})
	h.now = clock.now
	ctx := context.Background()

	authorize := func(c *core.ClientInfo, a core.Action, topic string, wantRequests int32) {
		t.Helper()
		v, err := h.Authorize(ctx, c, a, topic)
		if err != nil || v != core.Deny {
			t.Fatalf("Authorize = %v, %v; want deny", v, err)
		}
		if n := srv.count.Load(); n != wantRequests {
			t.Fatalf("server saw %d requests, want %d", n, wantRequests)
		}
	}
	authorize(httpClient, core.ActionPublish, "a", 1)
	authorize(httpClient, core.ActionPublish, "a", 1) // cache hit

	other := *httpClient
	other.ClientID = "dev-8"
	authorize(&other, core.ActionPublish, "a", 2)       // another client misses
	authorize(httpClient, core.ActionSubscribe, "a", 3) // another action misses
	authorize(httpClient, core.ActionPublish, "b", 4)   // another topic misses

	clock.advance(time.Minute - time.Nanosecond)
	authorize(httpClient, core.ActionPublish, "a", 4) // still fresh
	clock.advance(time.Nanosecond)
	authorize(httpClient, core.ActionPublish, "a", 5) // expired, asked again
	authorize(httpClient, core.ActionPublish, "a", 5) // and cached again
	authorize(&other, core.ActionPublish, "a", 6)     // expired as well
}

func TestHTTPAuthorizeCacheEvictsOldest(t *testing.T) {
	srv := newCallbackServer(t, 200, `{"result":"allow"}`)
	h := newTestHTTP(t, HTTPConfig{AuthzURL: srv.URL, Client: srv.Client(), CacheSize: 2})
	ctx := context.Background()
	for _, tt := range []struct {
		topic string
		want  int32
	}{
		{"a", 1}, {"b", 2}, {"a", 2}, {"b", 2},
		{"c", 3}, // evicts a
		{"b", 3}, {"c", 3},
		{"a", 4}, // a was evicted; evicts b
		{"c", 4},
		{"b", 5},
	} {
		if _, err := h.Authorize(ctx, httpClient, core.ActionPublish, tt.topic); err != nil {
			t.Fatal(err)
		}
		if n := srv.count.Load(); n != tt.want {
			t.Fatalf("after %q: server saw %d requests, want %d", tt.topic, n, tt.want)
		}
	}
	if n := len(h.cache); n != 2 {
		t.Fatalf("cache holds %d entries, want 2", n)
	}
}

func TestHTTPErrorsAndAuthenticationAreNotCached(t *testing.T) {
	srv := newCallbackServer(t, 500, "")
	h := newTestHTTP(t, HTTPConfig{AuthnURL: srv.URL, AuthzURL: srv.URL, Client: srv.Client()})
	ctx := context.Background()
	for range 2 {
		if _, err := h.Authorize(ctx, httpClient, core.ActionPublish, "a"); err == nil {
			t.Fatal("Authorize succeeded against a failing server")
		}
	}
	if n := srv.count.Load(); n != 2 {
		t.Fatalf("server saw %d authorization requests, want 2", n)
	}
	srv.respond(200, `{"result":"allow"}`)
	for range 2 {
		if v, err := h.Authenticate(ctx, httpClient, []byte("pw")); v != core.Allow || err != nil {
			t.Fatalf("Authenticate = %v, %v", v, err)
		}
	}
	if n := srv.count.Load(); n != 4 {
		t.Fatalf("server saw %d requests, want 4", n)
	}
}

func TestHTTPCacheDisabled(t *testing.T) {
	for _, cfg := range []HTTPConfig{{CacheTTL: -1}, {CacheSize: -1}} {
		srv := newCallbackServer(t, 204, "")
		cfg.AuthzURL, cfg.Client = srv.URL, srv.Client()
		h := newTestHTTP(t, cfg)
		for range 3 {
			if _, err := h.Authorize(context.Background(), httpClient, core.ActionPublish, "a"); err != nil {
				t.Fatal(err)
			}
		}
		if n := srv.count.Load(); n != 3 {
			t.Fatalf("%+v: server saw %d requests, want 3", cfg, n)
		}
	}
}

func TestHTTPOwnClient(t *testing.T) {
	srv := newCallbackServer(t, 200, `{"result":"allow"}`)
	h := newTestHTTP(t, HTTPConfig{AuthnURL: srv.URL})
	if v, err := h.Authenticate(context.Background(), httpClient, []byte("pw")); v != core.Allow || err != nil {
		t.Fatalf("Authenticate = %v, %v", v, err)
	}
}
