package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"github.com/mqgate/mqgate/conf"
	"github.com/mqgate/mqgate/core/auth"
	"github.com/mqgate/mqgate/gateway"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

func start(t *testing.T, yaml string) *gateway.Gateway {
	t.Helper()
	return startLogging(t, yaml, nil)
}

// startLogging starts a gateway from yaml that logs to log.
func startLogging(t *testing.T, yaml string, log *slog.Logger) *gateway.Gateway {
	t.Helper()
	cfg, err := conf.Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if cfg.Storage.Dir == "./data" {
		cfg.Storage.Dir = t.TempDir() // never the repository's ./data
	}
	if cfg.HTTP.Address == conf.DefaultHTTPAddress {
		cfg.HTTP.Address = "127.0.0.1:0" // never a fixed port
	}
	g, err := gateway.New(cfg, log)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return g
}

func connect(t *testing.T, g *gateway.Gateway, id, user, pass string) (paho3.Client, chan string, error) {
	t.Helper()
	msgs := make(chan string, 10)
	o := paho3.NewClientOptions().AddBroker("tcp://" + g.MQTTAddr("tcp").String()).SetClientID(id).
		SetUsername(user).SetPassword(pass).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
		SetDefaultPublishHandler(func(_ paho3.Client, m paho3.Message) { msgs <- m.Topic() + "=" + string(m.Payload()) })
	c := paho3.NewClient(o)
	tok := c.Connect()
	tok.WaitTimeout(5 * time.Second)
	if tok.Error() != nil {
		return nil, nil, tok.Error()
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c, msgs, nil
}

// TestGatewayWiresFileAndHTTPAuth builds a gateway from YAML with a
// password file, an ACL file and an HTTP authorization callback, and
// checks that each source decides what it should over a real MQTT client.
func TestGatewayWiresFileAndHTTPAuth(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "passwd")
	if err := auth.SetPassword(pw, "alice", "secret", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	acl := filepath.Join(dir, "acl")
	os.WriteFile(acl, []byte("allow all all devices/%c/#\ndeny all all #\n"), 0o600)
	var calls atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct{ Topic string }
		json.NewDecoder(r.Body).Decode(&req)
		result := "ignore"
		if req.Topic == "hook/allowed" {
			result = "allow"
		}
		fmt.Fprintf(w, `{"result":%q}`, result)
	}))
	defer hook.Close()
	g := start(t, fmt.Sprintf(`
mqtt:
  listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]
sys: {interval: 0s}
auth:
  allow_anonymous: false
  password_file: %s
  acl_file: %s
  acl_default: deny
  http: {authz_url: %s/authz}
`, pw, acl, hook.URL))

	if _, _, err := connect(t, g, "x", "alice", "bad"); err == nil {
		t.Fatal("bad password accepted")
	}
	c, msgs, err := connect(t, g, "dev1", "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"devices/dev1/#", "hook/allowed", "other/x"} {
		tok := c.Subscribe(f, 1, nil)
		tok.WaitTimeout(5 * time.Second)
		got := tok.(*paho3.SubscribeToken).Result()[f]
		want := byte(1)
		if f == "other/x" {
			want = 0x80
		}
		if got != want {
			t.Fatalf("subscribe %s: got 0x%02X want 0x%02X", f, got, want)
		}
	}
	for _, tp := range []string{"other/x", "hook/allowed", "devices/dev1/t"} {
		c.Publish(tp, 1, false, "m").WaitTimeout(5 * time.Second)
	}
	for _, want := range []string{"hook/allowed=m", "devices/dev1/t=m"} {
		select {
		case got := <-msgs:
			if got != want {
				t.Fatalf("got %s want %s", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for %s", want)
		}
	}
	if calls.Load() == 0 {
		t.Fatal("HTTP authorization callback never called")
	}
}

// TestGatewayStartFailsOnBusyPort starts a gateway whose second MQTT
// listener's port is taken: Start fails naming the adapter, and what it
// had opened (the first listener, the pprof endpoint) is closed again.
func TestGatewayStartFailsOnBusyPort(t *testing.T) {
	g := start(t, `mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}`)
	busy := g.MQTTAddr("tcp").String()
	for _, typ := range []string{"tcp", "ws"} {
		t.Run("first listener "+typ, func(t *testing.T) {
			first := freeAddr(t)
			cfg, err := conf.Parse([]byte(fmt.Sprintf(`{storage: {type: memory}, debug: {pprof_address: "127.0.0.1:0"}, http: {address: "127.0.0.1:0"}, mqtt: {listeners: [{name: a, type: %s, address: %q}, {name: b, type: tcp, address: %q}]}}`, typ, first, busy)))
			if err != nil {
				t.Fatal(err)
			}
			rec := newRecorder()
			g2, err := gateway.New(cfg, slog.New(rec))
			if err != nil {
				t.Fatal(err)
			}
			err = g2.Start(context.Background())
			if err == nil {
				g2.Stop(context.Background())
				t.Fatal("started on a port already in use")
			}
			if !strings.HasPrefix(err.Error(), "start mqtt: ") {
				t.Fatalf("start error %q does not name the mqtt adapter", err)
			}
			pprof := rec.attr("pprof profiling endpoint enabled", "addr")
			httpAddr := rec.attr("HTTP API serving without credentials on a loopback address: anyone on this machine may call it; set http.api_key_file or http.users_file to require credentials", "addr")
			if pprof == "" || httpAddr == "" {
				t.Fatal("no pprof or HTTP log line with its address")
			}
			for _, addr := range []string{first, pprof, httpAddr} {
				if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
					c.Close()
					t.Errorf("%s still accepts after the failed start", addr)
				}
			}
		})
	}
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestDeprecatedKeyIsAppliedAndLogged starts a gateway whose file sets
// broker settings under their old mqtt keys: the broker runs with them and
// the log warns about each key.
func TestDeprecatedKeyIsAppliedAndLogged(t *testing.T) {
	rec := newRecorder()
	g := startLogging(t, `
storage: {type: memory}
sys: {interval: 0s}
mqtt:
  listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]
  max_topic_levels: 3
  max_subscriptions: 7
`, slog.New(rec))
	if got := g.Broker.Config(); got.MaxTopicLevels != 3 || got.MaxSubscriptions != 7 {
		t.Fatalf("broker max topic levels %d, max subscriptions %d; want 3 and 7 from the old keys", got.MaxTopicLevels, got.MaxSubscriptions)
	}
	for _, want := range []string{
		"mqtt.max_topic_levels is deprecated, use broker.max_topic_levels",
		"mqtt.max_subscriptions is deprecated, use broker.max_subscriptions",
	} {
		if !rec.logged(slog.LevelWarn, want) {
			t.Errorf("no warning %q", want)
		}
	}
}

// TestReloadAppliesNewACLToExistingSubscriptions rewrites the ACL file and
// reloads: a subscription the new rules deny stops receiving.
func TestReloadAppliesNewACLToExistingSubscriptions(t *testing.T) {
	dir := t.TempDir()
	acl := filepath.Join(dir, "acl")
	os.WriteFile(acl, []byte("allow all all #\n"), 0o600)
	g := start(t, fmt.Sprintf(`
mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}
sys: {interval: 0s}
auth: {acl_file: %s}
`, acl))
	c, msgs, err := connect(t, g, "watcher", "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"secret/#", "open/#"} {
		c.Subscribe(f, 1, nil).WaitTimeout(5 * time.Second)
	}
	os.WriteFile(acl, []byte("deny all subscribe secret/#\nallow all all #\n"), 0o600)
	if err := g.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.Publish("secret/x", 1, false, "s").WaitTimeout(5 * time.Second)
	c.Publish("open/x", 1, false, "o").WaitTimeout(5 * time.Second)
	select {
	case got := <-msgs:
		if got != "open/x=o" {
			t.Fatalf("got %s after the ACL denied secret/#", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("timed out")
	}
	os.WriteFile(acl, []byte("this is not a rule\n"), 0o600)
	if err := g.Reload(context.Background()); err == nil {
		t.Fatal("a broken ACL file reloaded without error")
	}
}

// TestRuntimeSettingsApplyUnlessEnvironmentSetsThem starts gateways with a
// runtime section and reads back Go's collector settings: the section
// applies, unless GOGC or GOMEMLIMIT is set.
func TestRuntimeSettingsApplyUnlessEnvironmentSetsThem(t *testing.T) {
	gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(gc); debug.SetMemoryLimit(limit) })
	const doc = `{storage: {type: memory}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}, runtime: {gc_percent: 150, memory_limit: 3GiB}}`
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		if v, set := os.LookupEnv(env); set {
			os.Unsetenv(env)
			t.Cleanup(func() { os.Setenv(env, v) })
		}
	}
	debug.SetGCPercent(100)
	start(t, doc)
	if got := debug.SetGCPercent(100); got != 150 {
		t.Fatalf("gc percent %d, want 150 from runtime.gc_percent", got)
	}
	if got := debug.SetMemoryLimit(limit); got != 3<<30 {
		t.Fatalf("memory limit %d, want 3 GiB from runtime.memory_limit", got)
	}

	// GOGC and GOMEMLIMIT win: the runtime applied them at start, and the
	// gateway leaves them be.
	t.Setenv("GOGC", "100")
	t.Setenv("GOMEMLIMIT", "off")
	start(t, doc)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("gc percent %d with GOGC set, want 100", got)
	}
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Fatalf("memory limit %d with GOMEMLIMIT set, want %d", got, limit)
	}
}
