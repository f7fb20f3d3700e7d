package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/crypto/bcrypt"

	"github.com/mqgate/mqgate/core/auth"
	"github.com/mqgate/mqgate/gateway"
)

// scrape returns the gateway's /metrics text.
func scrape(t *testing.T, g *gateway.Gateway) string {
	t.Helper()
	resp, err := http.Get("http://" + g.HTTPAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d, %v", resp.StatusCode, err)
	}
	return string(b)
}

// TestMetricsCountAuthenticationAndAuthorizationDenials: real MQTT
// clients refused for a wrong password, for no credentials and for a
// ban, and a client whose publish and subscription the ACL denies, each
// show once in /metrics under their reason.
func TestMetricsCountAuthenticationAndAuthorizationDenials(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "passwd")
	if err := auth.SetPassword(pw, "alice", "secret", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	acl := filepath.Join(dir, "acl")
	bans := filepath.Join(dir, "bans")
	for f, text := range map[string]string{acl: "allow all all ok/#\n", bans: "clientid banned - a leaked key\n"} {
		if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	g := start(t, fmt.Sprintf(`{storage: {type: memory}, sys: {interval: 0s}, http: {address: "127.0.0.1:0"},
auth: {allow_anonymous: false, password_file: %q, acl_file: %q, acl_default: deny, ban_file: %q},
mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`, pw, acl, bans))

	for _, tc := range []struct{ name, id, user, pass string }{
		{"wrong password", "x", "alice", "bad"},
		{"no credentials", "anon", "", ""},
		{"banned client id", "banned", "alice", "secret"},
	} {
		// MQTT 3.1.1 only: paho would try again with 3.1 after a refusal.
		c := paho3.NewClient(paho3.NewClientOptions().AddBroker("tcp://" + g.MQTTAddr("tcp").String()).SetClientID(tc.id).
			SetUsername(tc.user).SetPassword(tc.pass).SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
		tok := c.Connect()
		if !tok.WaitTimeout(5 * time.Second) {
			t.Fatalf("%s: no CONNACK", tc.name)
		}
		if tok.Error() == nil {
			c.Disconnect(0)
			t.Fatalf("%s: connected", tc.name)
		}
	}
	c, _, err := connect(t, g, "dev", "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	tok := c.Subscribe("secret/#", 1, nil)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if got := tok.(*paho3.SubscribeToken).Result()["secret/#"]; got != 0x80 {
		t.Fatalf("subscribe to secret/#: 0x%02X, want the ACL's refusal 0x80", got)
	}
	// Whether the broker answers a denied QoS 1 publish or closes the
	// connection, the denial is counted before either.
	c.Publish("secret/x", 1, false, "m").WaitTimeout(5 * time.Second)

	var text string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		text = scrape(t, g)
		if metricValue(text, `mqgate_authorization_denied_total{action="publish"}`) >= 1 || time.Now().After(deadline) {
			break
		}
	}
	for _, tc := range []struct {
		series string
		want   float64
	}{
		{`mqgate_connects_refused_total{protocol="mqtt",reason="bad_credentials"}`, 1},
		{`mqgate_connects_refused_total{protocol="mqtt",reason="not_authorized"}`, 1},
		{`mqgate_connects_refused_total{protocol="mqtt",reason="banned"}`, 1},
		{`mqgate_authentication_denied_total{protocol="mqtt",reason="bad_credentials"}`, 1},
		{`mqgate_authentication_denied_total{protocol="mqtt",reason="not_authorized"}`, 1},
		// A ban is a refused connect, not an authentication denial.
		{`mqgate_authentication_denied_total{protocol="mqtt",reason="banned"}`, -1},
		{`mqgate_authorization_denied_total{action="publish"}`, 1},
		{`mqgate_authorization_denied_total{action="subscribe"}`, 1},
		{`mqgate_connects_total{listener="tcp",protocol="mqtt"}`, 1},
	} {
		if got := metricValue(text, tc.series); got != tc.want {
			t.Errorf("%s = %v, want %v (-1: no series)", tc.series, got, tc.want)
		}
	}
}
