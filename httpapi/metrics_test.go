package httpapi_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/store/memory"
	"github.com/mqgate/mqgate/core/topic"
	"github.com/mqgate/mqgate/httpapi"
)

// TestEveryDropReasonIsExported: a drop of any reason the core has shows
// under its own label.
func TestEveryDropReasonIsExported(t *testing.T) {
	b := core.NewBroker(core.Config{})
	b.Start()
	defer b.Close()
	var drops httpapi.Drops
	ev := drops.Events()
	for r := core.DropQueueFull; r <= core.LastDropReason; r++ {
		ev.Dropped("", "c", nil, r)
	}
	rec := httptest.NewRecorder()
	httpapi.Metrics(b, nil, &drops, nil, nil, nil, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for r := core.DropQueueFull; r <= core.LastDropReason; r++ {
		if want := `mqgate_messages_dropped_total{reason="` + r.String() + `"} 1`; !strings.Contains(string(body), want) {
			t.Errorf("no %s in the metrics", want)
		}
	}
}

func TestDisconnectReasonKinds(t *testing.T) {
	for reason, want := range map[string]string{
		"client sent DISCONNECT":                       "client",
		"client sent DISCONNECT with will":             "client",
		"client disconnected":                          "client",
		"connection lost: EOF":                         "lost",
		"no acknowledgement after max_retries":         "lost",
		"keep alive timeout":                           "timeout",
		"heart-beat timeout":                           "timeout",
		"sleep timer expired":                          "timeout",
		"malformed remaining length (DISCONNECT 0x81)": "protocol_error",
		"session taken over by a new connection":       "takeover",
		"server shutting down":                         "shutdown",
		"gateway stopping":                             "shutdown",
		"closed by an administrator":                   "admin",
		"session deleted by an administrator":          "admin",
		"something new":                                "other",
	} {
		if got := httpapi.DisconnectReason(reason); got != want {
			t.Errorf("%q: %s, want %s", reason, got, want)
		}
	}
}

func TestDisconnectsByReasonAreExported(t *testing.T) {
	b := core.NewBroker(core.Config{})
	b.Start()
	defer b.Close()
	var conns httpapi.Conns
	ev := conns.Events()
	info := &core.ClientInfo{Protocol: "mqtt", Listener: "tcp"}
	ev.Connected(info, false)
	ev.Disconnected(info, "keep alive timeout")
	rec := httptest.NewRecorder()
	httpapi.Metrics(b, &conns, nil, nil, nil, nil, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if want := `mqgate_disconnects_by_reason_total{protocol="mqtt",reason="timeout"} 1`; !strings.Contains(string(body), want) {
		t.Errorf("no %s in the metrics", want)
	}
}

// denySource is an authentication source that knows alice, refuses
// mallory and fails for down.
type denySource struct{}

func (denySource) Authenticate(_ context.Context, c *core.ClientInfo, _ []byte) (core.Verdict, error) {
	switch c.Username {
	case "alice":
		return core.Allow, nil
	case "mallory":
		return core.Deny, nil
	case "down":
		return core.Ignore, errors.New("source unreachable")
	}
	return core.Ignore, nil
}

// TestRefusedConnectsAreExported: each connection the core refuses shows
// under its protocol and reason in mqgate_connects_refused_total, and the
// authentication ones, only they, in mqgate_authentication_denied_total;
// the help names every reason the core has.
func TestRefusedConnectsAreExported(t *testing.T) {
	b := core.NewBroker(core.Config{Authenticator: denySource{}})
	b.Start()
	defer b.Close()
	if _, err := b.AddBan(core.Ban{Kind: core.BanClientID, Value: "banned"}); err != nil {
		t.Fatal(err)
	}
	for _, info := range []core.ClientInfo{
		{Protocol: "stomp", ClientID: "s", Username: "mallory"},
		{Protocol: "stomp", ClientID: "s", Username: "mallory"},
		{Protocol: "coap", ClientID: "c"},
		{Protocol: "mqtt-sn", ClientID: "n", Username: "down"},
		{Protocol: "mqtt", ClientID: "banned", Username: "alice"},
		{Protocol: "mqtt", Username: "alice"},
	} {
		if _, _, err := b.Open(context.Background(), &core.OpenRequest{Info: info}); err == nil {
			t.Fatalf("%+v: opened", info)
		}
	}
	rec := httptest.NewRecorder()
	httpapi.Metrics(b, nil, nil, nil, nil, nil, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		`mqgate_connects_refused_total{protocol="stomp",reason="bad_credentials"} 2`,
		`mqgate_connects_refused_total{protocol="coap",reason="not_authorized"} 1`,
		`mqgate_connects_refused_total{protocol="mqtt-sn",reason="auth_source_error"} 1`,
		`mqgate_connects_refused_total{protocol="mqtt",reason="banned"} 1`,
		`mqgate_connects_refused_total{protocol="mqtt",reason="client_id_invalid"} 1`,
		`mqgate_authentication_denied_total{protocol="stomp",reason="bad_credentials"} 2`,
		`mqgate_authentication_denied_total{protocol="coap",reason="not_authorized"} 1`,
		`mqgate_authentication_denied_total{protocol="mqtt-sn",reason="auth_source_error"} 1`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("no %s in the metrics", want)
		}
	}
	if n := strings.Count(text, "\nmqgate_authentication_denied_total{"); n != 3 {
		t.Errorf("%d authentication_denied series, want the 3 authentication refusals", n)
	}
	_, help, _ := strings.Cut(text, "# HELP mqgate_connects_refused_total ")
	help, _, _ = strings.Cut(help, "\n")
	for r := core.Refusal(0); r <= core.LastRefusal; r++ {
		if !strings.Contains(help, r.String()) {
			t.Errorf("the help of mqgate_connects_refused_total does not name %s", r)
		}
	}
}

// idleConn is a connection that nothing is written to.
type idleConn struct{}

func (idleConn) Notify()        {}
func (idleConn) Kick(core.Code) {}

// TestMessageBytesAreExported: the payload bytes of the messages counted
// in mqgate_messages_*_total show under the same protocol and QoS.
func TestMessageBytesAreExported(t *testing.T) {
	b := core.NewBroker(core.Config{AllowAnonymous: true})
	b.Start()
	defer b.Close()
	ctx := context.Background()
	sub, _, err := b.Open(ctx, &core.OpenRequest{Info: core.ClientInfo{Protocol: "stomp", ClientID: "sub"}, Conn: idleConn{}})
	if err != nil {
		t.Fatal(err)
	}
	if res := sub.Subscribe(ctx, []core.SubscribeRequest{{Filter: "t", Options: topic.Options{QoS: 1}}}, nil); res[0].Code.Failed() {
		t.Fatal(res[0].Code)
	}
	for _, m := range []struct {
		qos     byte
		payload string
	}{{0, "abc"}, {1, "hello"}, {1, "world!"}} {
		msg := core.NewMessage("t", []byte(m.payload))
		msg.QoS = m.qos
		if _, err := b.Publish(ctx, &core.ClientInfo{Protocol: "coap", ClientID: "pub"}, msg); err != nil {
			t.Fatal(err)
		}
	}
	ds := sub.Pull(nil, 10)
	if len(ds) != 3 {
		t.Fatalf("%d deliveries, want 3", len(ds))
	}
	for _, d := range ds[1:] {
		sub.Settle(d.Tag, core.Accepted)
	}
	rec := httptest.NewRecorder()
	httpapi.Metrics(b, nil, nil, nil, nil, nil, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		`mqgate_messages_received_total{protocol="coap",qos="1"} 2`,
		`mqgate_message_bytes_received_total{protocol="coap",qos="0"} 3`,
		`mqgate_message_bytes_received_total{protocol="coap",qos="1"} 11`,
		`mqgate_message_bytes_sent_total{protocol="coap",qos="1"} 0`,
		`mqgate_messages_sent_total{protocol="stomp",qos="1"} 2`,
		`mqgate_message_bytes_sent_total{protocol="stomp",qos="0"} 3`,
		`mqgate_message_bytes_sent_total{protocol="stomp",qos="1"} 11`,
		`mqgate_message_bytes_received_total{protocol="stomp",qos="1"} 0`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("no %s in the metrics", want)
		}
	}
	if n := strings.Count(text, "\nmqgate_message_bytes_sent_total{"); n != 4 {
		t.Errorf("%d message_bytes_sent series, want one for each of the 4 protocol and QoS pairs with messages either way", n)
	}
}

// syncFailing is a store whose syncs fail.
type syncFailing struct{ store.Store }

func (syncFailing) Sync() error { return errors.New("disk gone") }

// TestStoreFailuresAreExported: a QoS 1 publish the store cannot make
// durable shows in mqgate_store_failures_total.
func TestStoreFailuresAreExported(t *testing.T) {
	b := core.NewBroker(core.Config{Store: syncFailing{memory.New()}, AllowAnonymous: true})
	b.Start()
	defer b.Close()
	scrape := func() string {
		rec := httptest.NewRecorder()
		httpapi.Metrics(b, nil, nil, nil, nil, nil, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body, _ := io.ReadAll(rec.Body)
		return string(body)
	}
	if body := scrape(); !strings.Contains(body, "mqgate_store_failures_total 0\n") {
		t.Errorf("a fresh broker's failures are not 0:\n%s", body)
	}
	if _, err := b.Publish(context.Background(), &core.ClientInfo{ClientID: "p"}, &core.Message{Topic: "t", QoS: 1, Retain: true, Payload: []byte("x")}); err == nil {
		t.Fatal("a publish the store could not sync was accepted")
	}
	if body := scrape(); !strings.Contains(body, "mqgate_store_failures_total 1\n") {
		t.Errorf("the failed sync is not counted:\n%s", body)
	}
}
