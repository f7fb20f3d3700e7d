package gateway_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/mqgate/mqgate/conf"
	"github.com/mqgate/mqgate/core/auth"
	"github.com/mqgate/mqgate/gateway"
	"github.com/mqgate/mqgate/httpapi"
	"github.com/mqgate/mqgate/internal/testcert"
)

// httpGet calls the gateway's HTTP server and returns the status and body.
func httpDo(t *testing.T, c *http.Client, method, url string, auth func(*http.Request), body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != nil {
		auth(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHTTPServerOnLoopbackRunsWithoutCredentialsAndSaysSo(t *testing.T) {
	rec := newRecorder()
	g := startLogging(t, `{storage: {type: memory}, http: {address: "127.0.0.1:0"}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`, slog.New(rec))
	base := "http://" + g.HTTPAddr().String()
	if !rec.logged(slog.LevelWarn, "HTTP API serving without credentials on a loopback address: anyone on this machine may call it; set http.api_key_file or http.users_file to require credentials") {
		t.Error("no warning that the API runs without credentials")
	}
	for _, tc := range []struct {
		path string
		want int
		body string
	}{
		{"/healthz", 200, `"status":"ok"`},
		{"/readyz", 200, `"status":"ready"`},
		{"/api/v1/status", 200, `"node":"mqgate"`},
		{"/api/v1/nothing", 404, `"code":"NOT_FOUND"`},
	} {
		code, body := httpDo(t, http.DefaultClient, "GET", base+tc.path, nil, "")
		if code != tc.want || !strings.Contains(body, tc.body) {
			t.Errorf("GET %s = %d %s, want %d with %s", tc.path, code, body, tc.want, tc.body)
		}
	}
}

func TestHTTPServerWithAPIKeysTakesBasicAndBearer(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "api_keys")
	secret, err := httpapi.CreateKey(keyFile, "ops")
	if err != nil {
		t.Fatal(err)
	}
	g := start(t, fmt.Sprintf(`{storage: {type: memory}, http: {address: "127.0.0.1:0", api_key_file: %q}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`, keyFile))
	base := "http://" + g.HTTPAddr().String()
	basic := func(user, pass string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(user, pass) }
	}
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	for _, tc := range []struct {
		name string
		path string
		auth func(*http.Request)
		want int
	}{
		{"health needs no key", "/healthz", nil, 200},
		{"readiness needs no key", "/readyz", nil, 200},
		{"the API needs a key", "/api/v1/status", nil, 401},
		{"metrics need a key", "/metrics", nil, 401},
		{"metrics with a key", "/metrics", basic("ops", secret), 200},
		{"basic auth with the secret", "/api/v1/status", basic("ops", secret), 200},
		{"bearer NAME.SECRET", "/api/v1/status", bearer("ops." + secret), 200},
		{"a wrong secret", "/api/v1/status", basic("ops", secret+"x"), 401},
		{"an unknown key", "/api/v1/status", basic("dev", secret), 401},
		{"a bearer token without the name", "/api/v1/status", bearer(secret), 401},
		{"an unknown path still needs a key", "/api/v1/nothing", nil, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := httpDo(t, http.DefaultClient, "GET", base+tc.path, tc.auth, "")
			if code != tc.want {
				t.Fatalf("GET %s = %d %s, want %d", tc.path, code, body, tc.want)
			}
			if code == 401 {
				var e struct{ Code, Message string }
				if json.Unmarshal([]byte(body), &e) != nil || e.Code != "BAD_API_KEY_OR_SECRET" || e.Message == "" {
					t.Errorf("401 body = %s, want a JSON error with code and message", body)
				}
			}
		})
	}
}

func TestHTTPServerServesTLS(t *testing.T) {
	dir := t.TempDir()
	certs := testcert.Write(t, dir, "client")
	g := start(t, fmt.Sprintf(`{storage: {type: memory}, http: {address: "127.0.0.1:0", tls: {cert_file: %q, key_file: %q}}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`, certs.Cert, certs.Key))
	ca, err := os.ReadFile(certs.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer c.CloseIdleConnections()
	code, body := httpDo(t, c, "GET", "https://"+g.HTTPAddr().String()+"/healthz", nil, "")
	if code != 200 {
		t.Fatalf("GET /healthz over TLS = %d %s", code, body)
	}
}

func TestReloadRereadsAPIKeys(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "api_keys")
	old, err := httpapi.CreateKey(keyFile, "old")
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	g := startLogging(t, fmt.Sprintf(`{storage: {type: memory}, http: {address: "127.0.0.1:0", api_key_file: %q}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`, keyFile), slog.New(rec))
	url := "http://" + g.HTTPAddr().String() + "/api/v1/status"
	status := func(name, secret string) int {
		code, _ := httpDo(t, http.DefaultClient, "GET", url, func(r *http.Request) { r.SetBasicAuth(name, secret) }, "")
		return code
	}
	added, err := httpapi.CreateKey(keyFile, "new")
	if err != nil {
		t.Fatal(err)
	}
	httpapi.DeleteKey(keyFile, "old")
	if status("new", added) != 401 || status("old", old) != 200 {
		t.Fatal("the key file changed the keys before a reload")
	}
	if err := g.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if status("new", added) != 200 || status("old", old) != 401 {
		t.Fatal("after a reload the new key is refused or the deleted one accepted")
	}
	if rec.attr("API key file reloaded", "api_keys") != "1" {
		t.Error("the reload is not logged with the key count")
	}
	os.WriteFile(keyFile, []byte("broken\n"), 0o600)
	if err := g.Reload(context.Background()); err == nil || !strings.Contains(err.Error(), "http.api_key_file") {
		t.Fatalf("reload of a broken file: %v", err)
	}
	if status("new", added) != 200 {
		t.Fatal("a broken key file dropped the keys in force")
	}
}

// dashboardLogin signs in at the gateway's HTTP server and returns the
// status and, on success, the token.
func dashboardLogin(t *testing.T, base, user, password string) (int, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"username": user, "password": password})
	code, body := httpDo(t, http.DefaultClient, "POST", base+"/api/v1/login", nil, string(b))
	var resp struct{ Token, Username string }
	if code == 200 && (json.Unmarshal([]byte(body), &resp) != nil || resp.Token == "" || resp.Username != user) {
		t.Fatalf("login answer %s", body)
	}
	return code, resp.Token
}

// TestDashboardUsersSignInAndReload: with only http.users_file the API
// needs credentials, and a login token is one; a reload takes in the
// users the file gained, drops the ones it lost (and their tokens), and a
// broken file keeps the users in force.
func TestDashboardUsersSignInAndReload(t *testing.T) {
	usersFile := filepath.Join(t.TempDir(), "dashboard_users")
	if err := auth.SetPassword(usersFile, "alice", "wonderland", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	g := startLogging(t, fmt.Sprintf(`{storage: {type: memory}, http: {address: "127.0.0.1:0", users_file: %q}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`, usersFile), slog.New(rec))
	base := "http://" + g.HTTPAddr().String()
	if rec.attr("HTTP API listening", "users") != "1" {
		t.Error("the start is not logged with the user count")
	}
	status := func(token string) int {
		code, _ := httpDo(t, http.DefaultClient, "GET", base+"/api/v1/status", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }, "")
		return code
	}
	if code, _ := httpDo(t, http.DefaultClient, "GET", base+"/api/v1/status", nil, ""); code != 401 {
		t.Fatalf("without credentials /api/v1/status = %d, want 401", code)
	}
	code, alice := dashboardLogin(t, base, "alice", "wonderland")
	if code != 200 || status(alice) != 200 {
		t.Fatalf("alice's login = %d, or her token is refused", code)
	}

	if err := auth.SetPassword(usersFile, "bob", "builder", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	if err := auth.DeleteUser(usersFile, "alice"); err != nil {
		t.Fatal(err)
	}
	if code, _ := dashboardLogin(t, base, "bob", "builder"); code != 401 {
		t.Fatalf("bob signed in before a reload: %d", code)
	}
	if err := g.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rec.attr("dashboard users file reloaded", "users") != "1" {
		t.Error("the reload is not logged with the user count")
	}
	code, bob := dashboardLogin(t, base, "bob", "builder")
	if code != 200 || status(bob) != 200 {
		t.Fatalf("after the reload bob's login = %d, or his token is refused", code)
	}
	if code, _ := dashboardLogin(t, base, "alice", "wonderland"); code != 401 || status(alice) != 401 {
		t.Fatalf("after the reload alice, removed, signs in (%d) or her token still works", code)
	}

	os.WriteFile(usersFile, []byte("broken\n"), 0o600)
	if err := g.Reload(context.Background()); err == nil || !strings.Contains(err.Error(), "http.users_file") {
		t.Fatalf("reload of a broken file: %v", err)
	}
	if !rec.logged(slog.LevelError, "dashboard users file reload failed, previous users kept") {
		t.Error("the failed reload is not logged")
	}
	if code, _ := dashboardLogin(t, base, "bob", "builder"); code != 200 || status(bob) != 200 {
		t.Fatalf("a broken users file dropped the users in force: login %d", code)
	}
}

// TestHTTPServerOffLoopbackNeedsAKeyOrAUser: off loopback, the gateway
// starts when the key file or the users file holds an entry, and refuses
// to when neither does, naming the empty files.
func TestHTTPServerOffLoopbackNeedsAKeyOrAUser(t *testing.T) {
	dir := t.TempDir()
	emptyKeys, emptyUsers, users := filepath.Join(dir, "keys"), filepath.Join(dir, "users0"), filepath.Join(dir, "users")
	os.WriteFile(emptyKeys, nil, 0o600)
	os.WriteFile(emptyUsers, []byte("# none yet\n"), 0o600)
	if err := auth.SetPassword(users, "admin", "secret", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, http, err string
	}{
		{"an empty key file", fmt.Sprintf(`api_key_file: %q`, emptyKeys), "http.api_key_file: " + emptyKeys + " has no keys; create one with mqgate apikey"},
		{"an empty users file", fmt.Sprintf(`users_file: %q`, emptyUsers), "http.users_file: " + emptyUsers + " has no users; create one with mqgate passwd -f " + emptyUsers + " USER"},
		{"both empty", fmt.Sprintf(`api_key_file: %q, users_file: %q`, emptyKeys, emptyUsers), "http.api_key_file, http.users_file: "},
		{"an empty key file and a user", fmt.Sprintf(`api_key_file: %q, users_file: %q`, emptyKeys, users), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := conf.Parse([]byte(fmt.Sprintf(`{storage: {type: memory}, http: {address: ":0", %s}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`, tc.http)))
			if err != nil {
				t.Fatal(err)
			}
			g, err := gateway.New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = g.Start(context.Background())
			if err == nil {
				g.Stop(context.Background())
			}
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("start: %v, want an error with %q", err, tc.err)
			}
		})
	}
}
