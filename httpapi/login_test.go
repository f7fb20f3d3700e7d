package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/mqgate/mqgate/core/auth"
)

// loginServer is a server with the users alice (password "wonderland")
// and bob ("builder"), API keys if keys is set, and a clock the test
// moves. Its metrics endpoint answers 200, to show a request got through.
type loginServer struct {
	*Server
	users *auth.PasswordFile
	path  string
	clock time.Time
}

func newLoginServer(t *testing.T, keys *Keys) *loginServer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dashboard_users")
	for user, pw := range map[string]string{"alice": "wonderland", "bob": "builder"} {
		if err := auth.SetPassword(path, user, pw, bcrypt.MinCost); err != nil {
			t.Fatal(err)
		}
	}
	users, err := auth.LoadPasswordFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ls := &loginServer{users: users, path: path, clock: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	ls.Server = New(Config{Keys: keys, Users: users, SessionTTL: time.Hour,
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })})
	ls.now = func() time.Time { return ls.clock }
	return ls
}

// do sends a request from addr with the Authorization header auth ("" for
// none).
func (ls *loginServer) do(method, path, body, addr, auth string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = addr
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	ls.ServeHTTP(w, r)
	return w
}

func (ls *loginServer) login(addr, user, pw string) *httptest.ResponseRecorder {
	b, _ := json.Marshal(loginRequest{Username: user, Password: pw})
	return ls.do("POST", "/api/v1/login", string(b), addr, "")
}

// token signs user in and returns the token; the test fails otherwise.
func (ls *loginServer) token(t *testing.T, user, pw string) string {
	t.Helper()
	w := ls.login("192.0.2.1:5000", user, pw)
	var resp loginResponse
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &resp) != nil || resp.Token == "" {
		t.Fatalf("login %s = %d %s", user, w.Code, w.Body)
	}
	return resp.Token
}

// metrics reports the status of an authenticated request with auth.
func (ls *loginServer) metrics(auth string) int {
	return ls.do("GET", "/metrics", "", "192.0.2.1:5000", auth).Code
}

// testKeys is an API key file with the key ops.
func testKeys(t *testing.T) (k struct {
	*Keys
	secret string
}) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "api_keys")
	var err error
	if k.secret, err = CreateKey(path, "ops"); err != nil {
		t.Fatal(err)
	}
	if k.Keys, err = LoadKeys(path); err != nil {
		t.Fatal(err)
	}
	return k
}

func basicAuth(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

func errorCode(t *testing.T, w *httptest.ResponseRecorder) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" {
		t.Fatalf("body %s is not a JSON error with code and message", w.Body)
	}
	return e
}

func TestLoginAnswersABearerToken(t *testing.T) {
	ls := newLoginServer(t, nil)
	w := ls.login("192.0.2.1:5000", "alice", "wonderland")
	var resp loginResponse
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &resp) != nil {
		t.Fatalf("login = %d %s", w.Code, w.Body)
	}
	if resp.Username != "alice" || resp.ExpiresAt != "2025-03-01T13:00:00Z" {
		t.Errorf("login answer %+v, want alice until an hour from now", resp)
	}
	if len(resp.Token) != 43 || strings.ContainsAny(resp.Token, ".+/=") {
		t.Errorf("token %q is not 256 bits of base64url", resp.Token)
	}
	if code := ls.metrics("Bearer " + resp.Token); code != 200 {
		t.Fatalf("the token is refused: %d", code)
	}
	if code := ls.metrics(""); code != 401 {
		t.Fatalf("without the token: %d, want 401", code)
	}
	if other := ls.token(t, "alice", "wonderland"); other == resp.Token {
		t.Error("two logins got the same token")
	}
}

func TestLoginRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       int
		code       string
		field      string
	}{
		{"a wrong password", `{"username":"alice","password":"builder"}`, 401, "BAD_USERNAME_OR_PWD", ""},
		{"an unknown user", `{"username":"mallory","password":"wonderland"}`, 401, "BAD_USERNAME_OR_PWD", ""},
		{"a username in another case", `{"username":"Alice","password":"wonderland"}`, 401, "BAD_USERNAME_OR_PWD", ""},
		{"no username", `{"password":"wonderland"}`, 400, "BAD_REQUEST", "username"},
		{"no password", `{"username":"alice"}`, 400, "BAD_REQUEST", "password"},
		{"a password that is not a string", `{"username":"alice","password":1}`, 400, "BAD_REQUEST", "password"},
		{"an unknown field", `{"username":"alice","password":"wonderland","remember":true}`, 400, "BAD_REQUEST", "remember"},
		{"no body", ``, 400, "BAD_REQUEST", "body"},
		{"a body larger than a login", `{"username":"alice","password":"` + strings.Repeat("x", 5000) + `"}`, 413, "BODY_TOO_LARGE", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ls := newLoginServer(t, nil)
			w := ls.do("POST", "/api/v1/login", tc.body, "192.0.2.1:5000", "")
			if w.Code != tc.want {
				t.Fatalf("login = %d %s, want %d", w.Code, w.Body, tc.want)
			}
			if e := errorCode(t, w); e.Code != tc.code || e.Field != tc.field {
				t.Errorf("error %+v, want code %s field %q", e, tc.code, tc.field)
			}
			if ls.sessions.len() != 0 {
				t.Error("a refused login made a session")
			}
		})
	}
}

func TestLoginWithoutUsersFileIsRefused(t *testing.T) {
	keys := testKeys(t)
	s := New(Config{Keys: keys.Keys})
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("POST", "/api/v1/login", strings.NewReader(`{"username":"alice","password":"wonderland"}`)))
	if w.Code != 401 || !strings.Contains(w.Body.String(), "BAD_USERNAME_OR_PWD") || !strings.Contains(w.Body.String(), "http.users_file") {
		t.Fatalf("login = %d %s, want 401 naming http.users_file", w.Code, w.Body)
	}
}

func TestLoginTokenExpires(t *testing.T) {
	ls := newLoginServer(t, nil)
	tok := ls.token(t, "alice", "wonderland")
	ls.clock = ls.clock.Add(time.Hour - time.Second)
	if code := ls.metrics("Bearer " + tok); code != 200 {
		t.Fatalf("a second before it expires the token is refused: %d", code)
	}
	ls.clock = ls.clock.Add(time.Second)
	w := ls.do("GET", "/metrics", "", "192.0.2.1:5000", "Bearer "+tok)
	if w.Code != 401 || errorCode(t, w).Code != "BAD_TOKEN" {
		t.Fatalf("an expired token = %d %s, want 401 BAD_TOKEN", w.Code, w.Body)
	}
	if ls.sessions.len() != 0 {
		t.Error("the expired session is still held after it was refused")
	}
}

func TestLogoutRevokesTheToken(t *testing.T) {
	ls := newLoginServer(t, nil)
	tok, other := ls.token(t, "alice", "wonderland"), ls.token(t, "alice", "wonderland")
	if w := ls.do("POST", "/api/v1/logout", "", "192.0.2.1:5000", "Bearer "+tok); w.Code != 204 {
		t.Fatalf("logout = %d %s, want 204", w.Code, w.Body)
	}
	if code := ls.metrics("Bearer " + tok); code != 401 {
		t.Fatalf("after logout the token = %d, want 401", code)
	}
	if code := ls.metrics("Bearer " + other); code != 200 {
		t.Fatalf("logout revoked the user's other session too: %d", code)
	}
	if w := ls.do("POST", "/api/v1/logout", "", "192.0.2.1:5000", "Bearer "+tok); w.Code != 401 {
		t.Fatalf("logout with a revoked token = %d, want 401", w.Code)
	}
	if w := ls.do("POST", "/api/v1/logout", "", "192.0.2.1:5000", ""); w.Code != 401 {
		t.Fatalf("logout without a token = %d, want 401", w.Code)
	}
}

func TestLoginTokenOfARemovedUserIsRefused(t *testing.T) {
	ls := newLoginServer(t, nil)
	alice, bob := ls.token(t, "alice", "wonderland"), ls.token(t, "bob", "builder")
	if err := auth.DeleteUser(ls.path, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := ls.users.Reload(); err != nil {
		t.Fatal(err)
	}
	if code := ls.metrics("Bearer " + alice); code != 401 {
		t.Fatalf("the token of a user the file no longer lists = %d, want 401", code)
	}
	if code := ls.metrics("Bearer " + bob); code != 200 {
		t.Fatalf("another user's token = %d, want 200", code)
	}
}

func TestFailedLoginsAreLimitedPerAddress(t *testing.T) {
	ls := newLoginServer(t, nil)
	const guesser = "198.51.100.7:40000"
	for i := range loginBurst {
		if w := ls.login(guesser, "alice", "guess"); w.Code != 401 {
			t.Fatalf("failed login %d = %d, want 401", i+1, w.Code)
		}
	}
	w := ls.login(guesser, "alice", "wonderland")
	if w.Code != 429 || errorCode(t, w).Code != "TOO_MANY_REQUESTS" || w.Header().Get("Retry-After") != "6" {
		t.Fatalf("after %d failures the right password = %d %s Retry-After %q, want 429 and 6", loginBurst, w.Code, w.Body, w.Header().Get("Retry-After"))
	}
	if w := ls.login("198.51.100.7:40001", "alice", "wonderland"); w.Code != 429 {
		t.Fatalf("another port of the same address = %d, want 429", w.Code)
	}
	if w := ls.login("198.51.100.8:40000", "alice", "wonderland"); w.Code != 200 {
		t.Fatalf("another address = %d, want 200", w.Code)
	}
	ls.clock = ls.clock.Add(loginRefill)
	if w := ls.login(guesser, "alice", "wonderland"); w.Code != 200 {
		t.Fatalf("a refill later the right password = %d, want 200", w.Code)
	}
	if w := ls.login(guesser, "alice", "guess"); w.Code != 401 {
		t.Fatalf("one more guess = %d, want 401", w.Code)
	}
	if w := ls.login(guesser, "alice", "guess"); w.Code != 429 {
		t.Fatalf("the guess after it = %d, want 429", w.Code)
	}

	// One IPv6 host has a /64.
	for i := range loginBurst {
		ls.login("[2001:db8:1:2::a]:40000", "alice", "guess"+string(rune('a'+i)))
	}
	if w := ls.login("[2001:db8:1:2:ffff::1]:40000", "alice", "wonderland"); w.Code != 429 {
		t.Fatalf("another address of the same /64 = %d, want 429", w.Code)
	}
	if w := ls.login("[2001:db8:1:3::a]:40000", "alice", "wonderland"); w.Code != 200 {
		t.Fatalf("another /64 = %d, want 200", w.Code)
	}
}

func TestLoginLimitTracksBoundedAddresses(t *testing.T) {
	l := newLoginLimit(3)
	now := time.Unix(1000, 0)
	addr := func(i int) netip.Prefix {
		return clientPrefix(&http.Request{RemoteAddr: "10.0.0." + string(rune('0'+i)) + ":1"})
	}
	for i := range 5 {
		l.failed(addr(i), now)
		if len(l.fullAt) > 3 {
			t.Fatalf("%d addresses tracked, cap 3", len(l.fullAt))
		}
	}
	// Full buckets go before the others: a refill later the two
	// addresses that failed once are full again and make room, and the
	// one that failed twice is still counted.
	l.failed(addr(4), now)
	now = now.Add(loginRefill)
	l.failed(addr(5), now)
	if _, ok := l.fullAt[addr(4)]; !ok || len(l.fullAt) != 2 {
		t.Fatalf("tracked %v, want the address that failed twice and the new one", l.fullAt)
	}
}

func TestSessionsAreCappedOldestFirst(t *testing.T) {
	ss := newSessions(3)
	t0 := time.Unix(1000, 0)
	a, _ := ss.create("a", t0, time.Hour)
	b, _ := ss.create("b", t0.Add(time.Minute), time.Hour)
	c, _ := ss.create("c", t0.Add(2*time.Minute), time.Hour)
	now := t0.Add(3 * time.Minute)
	d, _ := ss.create("d", now, time.Hour)
	live := func(tok string) bool { _, ok := ss.lookup(tok, now); return ok }
	if live(a) || !live(b) || !live(c) || !live(d) || ss.len() != 3 {
		t.Fatalf("at the cap: a %v b %v c %v d %v, %d held; want the oldest, a, gone", live(a), live(b), live(c), live(d), ss.len())
	}
	// At the cap, every expired session is swept, not just the oldest.
	now = t0.Add(time.Hour + 2*time.Minute + time.Second) // b and c have expired
	e, _ := ss.create("e", now, time.Hour)
	if n := ss.len(); n != 2 || !live(d) || !live(e) {
		t.Fatalf("after b and c expired: %d held, d %v e %v; want d and e alone", n, live(d), live(e))
	}
}

func TestAuthenticationWithKeysAndUsers(t *testing.T) {
	keys := testKeys(t)
	ls := newLoginServer(t, keys.Keys)
	tok := ls.token(t, "alice", "wonderland")
	for _, tc := range []struct {
		name, auth string
		want       int
		code       string
	}{
		{"no credentials", "", 401, "BAD_API_KEY_OR_SECRET"},
		{"an API key, basic", basicAuth("ops", keys.secret), 200, ""},
		{"an API key, bearer", "Bearer ops." + keys.secret, 200, ""},
		{"a login token", "Bearer " + tok, 200, ""},
		{"a login token with blanks around it", "Bearer  " + tok + " ", 200, ""},
		{"an unknown login token", "Bearer " + strings.Repeat("A", 43), 401, "BAD_TOKEN"},
		{"a wrong API key", "Bearer ops.x" + keys.secret, 401, "BAD_API_KEY_OR_SECRET"},
		{"a user's password as basic auth", basicAuth("alice", "wonderland"), 401, "BAD_API_KEY_OR_SECRET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := ls.do("GET", "/metrics", "", "192.0.2.1:5000", tc.auth)
			if w.Code != tc.want {
				t.Fatalf("GET /metrics = %d %s, want %d", w.Code, w.Body, tc.want)
			}
			if tc.code != "" {
				if e := errorCode(t, w); e.Code != tc.code || !strings.Contains(e.Message, "/api/v1/login") {
					t.Errorf("error %+v, want %s naming the login", e, tc.code)
				}
			}
		})
	}
}
