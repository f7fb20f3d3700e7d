package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqgate/mqgate/gateway"
	"github.com/mqgate/mqgate/httpapi"
)

// api is a client of a gateway's REST API.
type api struct {
	t    *testing.T
	base string
}

func newAPI(t *testing.T, g *gateway.Gateway) *api {
	return &api{t: t, base: "http://" + g.HTTPAddr().String()}
}

// call sends body (JSON, "" for none) and decodes the answer into out
// (nil to skip); it returns the status.
func (a *api) call(method, path, body string, out any) int {
	a.t.Helper()
	code, resp := httpDo(a.t, http.DefaultClient, method, a.base+path, nil, body)
	if strings.HasPrefix(resp, "{") || strings.HasPrefix(resp, "[") {
		if out != nil {
			if err := json.Unmarshal([]byte(resp), out); err != nil {
				a.t.Fatalf("%s %s: %v in %s", method, path, err, resp)
			}
		}
	} else if code != http.StatusNoContent {
		a.t.Fatalf("%s %s = %d with a body that is not JSON: %q", method, path, code, resp)
	}
	if code >= 500 && code != http.StatusServiceUnavailable {
		a.t.Fatalf("%s %s = %d %s", method, path, code, resp)
	}
	return code
}

type apiErr struct{ Code, Message, Field string }

type clientJSON struct {
	ClientID      string `json:"clientid"`
	Username      string `json:"username"`
	ProtoName     string `json:"proto_name"`
	Connected     bool   `json:"connected"`
	Subscriptions []struct {
		ID    string `json:"id"`
		Topic string `json:"topic"`
		QoS   int    `json:"qos"`
	} `json:"subscriptions"`
	SubscriptionsCnt int `json:"subscriptions_cnt"`
	MqueueLen        int `json:"mqueue_len"`
	MqueueBytes      int `json:"mqueue_bytes"`
	InflightCnt      int `json:"inflight_cnt"`
}

type clientPage struct {
	Data []clientJSON
	Meta struct {
		HasNext bool   `json:"hasnext"`
		Cursor  string `json:"cursor"`
	}
}

func startAPIGateway(t *testing.T) (*gateway.Gateway, *api) {
	g := start(t, `{storage: {type: memory}, sys: {interval: 0s}, http: {address: "127.0.0.1:0"}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`)
	return g, newAPI(t, g)
}

// mqttClient connects a paho client; lost receives when its connection drops.
func mqttClient(t *testing.T, g *gateway.Gateway, id, user string, clean bool) (c paho3.Client, msgs chan paho3.Message, lost chan error) {
	t.Helper()
	msgs, lost = make(chan paho3.Message, 16), make(chan error, 1)
	o := paho3.NewClientOptions().AddBroker("tcp://" + g.MQTTAddr("tcp").String()).SetClientID(id).SetUsername(user).
		SetCleanSession(clean).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
		SetDefaultPublishHandler(func(_ paho3.Client, m paho3.Message) { msgs <- m }).
		SetConnectionLostHandler(func(_ paho3.Client, err error) { lost <- err })
	c = paho3.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c, msgs, lost
}

func receive(t *testing.T, msgs chan paho3.Message) paho3.Message {
	t.Helper()
	select {
	case m := <-msgs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
		return nil
	}
}

func TestAPIListsGetsAndKicksClients(t *testing.T) {
	g, a := startAPIGateway(t)
	mqttClient(t, g, "sensor-1", "alice", true)
	mqttClient(t, g, "sensor-2", "bob", true)
	_, _, lost := mqttClient(t, g, "panel", "alice", false)

	var p clientPage
	if code := a.call("GET", "/api/v1/clients", "", &p); code != 200 || len(p.Data) != 3 {
		t.Fatalf("list = %d %+v", code, p)
	}
	for _, tc := range []struct {
		query string
		want  string
	}{
		{"clientid_prefix=sensor", "sensor-1,sensor-2"},
		{"username=alice", "panel,sensor-1"},
		{"proto_name=MQTT&conn_state=connected", "panel,sensor-1,sensor-2"},
		{"conn_state=disconnected", ""},
	} {
		var p clientPage
		a.call("GET", "/api/v1/clients?"+tc.query, "", &p)
		var ids []string
		for _, c := range p.Data {
			ids = append(ids, c.ClientID)
		}
		if got := strings.Join(ids, ","); got != tc.want {
			t.Errorf("?%s = %s, want %s", tc.query, got, tc.want)
		}
	}
	// Paging one at a time visits each client once, in order.
	var ids []string
	for cursor, n := "", 0; n < 5; n++ {
		var p clientPage
		a.call("GET", "/api/v1/clients?limit=1&cursor="+url.QueryEscape(cursor), "", &p)
		for _, c := range p.Data {
			ids = append(ids, c.ClientID)
		}
		if !p.Meta.HasNext {
			break
		}
		cursor = p.Meta.Cursor
	}
	if got := strings.Join(ids, ","); got != "panel,sensor-1,sensor-2" {
		t.Errorf("paged = %s", got)
	}

	var c clientJSON
	if code := a.call("GET", "/api/v1/clients/sensor-1", "", &c); code != 200 || c.Username != "alice" || !c.Connected || c.ProtoName != "mqtt" {
		t.Errorf("get sensor-1 = %d %+v", code, c)
	}
	var e apiErr
	if code := a.call("GET", "/api/v1/clients/nobody", "", &e); code != 404 || e.Code != "CLIENTID_NOT_FOUND" {
		t.Errorf("get nobody = %d %+v", code, e)
	}

	// Kicking closes the connection; the persistent session stays.
	if code := a.call("DELETE", "/api/v1/clients/panel", "", nil); code != 204 {
		t.Fatalf("kick = %d", code)
	}
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("the kicked client is still connected")
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.call("GET", "/api/v1/clients/panel", "", &c); c.Connected && time.Now().Before(deadline); a.call("GET", "/api/v1/clients/panel", "", &c) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.Connected {
		t.Fatal("the kicked client's session still says connected")
	}
	if code := a.call("DELETE", "/api/v1/clients/panel", "", &e); code != 409 || e.Code != "CLIENT_NOT_CONNECTED" {
		t.Errorf("kick again = %d %+v", code, e)
	}
	if code := a.call("DELETE", "/api/v1/clients/panel?discard_session=true", "", nil); code != 204 {
		t.Errorf("discard = %d", code)
	}
	if code := a.call("GET", "/api/v1/clients/panel", "", nil); code != 404 {
		t.Errorf("get after discard = %d, want 404", code)
	}
}

// waitClient polls GET /api/v1/clients/{id} until ok holds of the answer,
// for up to 5s, and returns the last answer.
func (a *api) waitClient(id string, ok func(clientJSON) bool) clientJSON {
	a.t.Helper()
	var c clientJSON
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c = clientJSON{}
		if code := a.call("GET", "/api/v1/clients/"+url.PathEscape(id), "", &c); code == 200 && ok(c) || time.Now().After(deadline) {
			return c
		}
	}
}

// TestAPIClientShowsQueueAndInflight: GET /api/v1/clients/{clientid}
// counts what waits for a persistent session away (mqueue_len and
// mqueue_bytes) and what a connected client has not acknowledged yet
// (inflight_cnt).
func TestAPIClientShowsQueueAndInflight(t *testing.T) {
	g, a := startAPIGateway(t)
	away, _, _ := mqttClient(t, g, "away", "", false)
	if tok := away.Subscribe("q/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	away.Disconnect(0)
	if c := a.waitClient("away", func(c clientJSON) bool { return !c.Connected }); c.Connected {
		t.Fatalf("away still connected: %+v", c)
	}
	for i := range 3 {
		if code := a.call("POST", "/api/v1/publish", fmt.Sprintf(`{"topic": "q/%d", "payload": "12345", "qos": 1}`, i), nil); code != 200 {
			t.Fatalf("publish = %d", code)
		}
	}
	var c clientJSON
	if code := a.call("GET", "/api/v1/clients/away", "", &c); code != 200 || c.MqueueLen != 3 || c.MqueueBytes < 3*5 || c.InflightCnt != 0 {
		t.Errorf("away = %d %+v, want mqueue_len 3, mqueue_bytes >= 15, inflight_cnt 0", code, c)
	}

	// A client that holds back its PUBACKs.
	msgs := make(chan paho3.Message, 4)
	slow := paho3.NewClient(paho3.NewClientOptions().AddBroker("tcp://" + g.MQTTAddr("tcp").String()).SetClientID("slow").
		SetAutoReconnect(false).SetAutoAckDisabled(true).SetDefaultPublishHandler(func(_ paho3.Client, m paho3.Message) { msgs <- m }))
	if tok := slow.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect slow: %v", tok.Error())
	}
	defer slow.Disconnect(0)
	if tok := slow.Subscribe("s/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	for i := range 2 {
		if code := a.call("POST", "/api/v1/publish", fmt.Sprintf(`{"topic": "s/%d", "payload": "x", "qos": 1}`, i), nil); code != 200 {
			t.Fatalf("publish = %d", code)
		}
	}
	held := []paho3.Message{receive(t, msgs), receive(t, msgs)}
	if code := a.call("GET", "/api/v1/clients/slow", "", &c); code != 200 || !c.Connected || c.InflightCnt != 2 || c.MqueueLen != 0 {
		t.Errorf("slow = %d %+v, want inflight_cnt 2, mqueue_len 0", code, c)
	}
	for _, m := range held {
		m.Ack()
	}
	if c := a.waitClient("slow", func(c clientJSON) bool { return c.InflightCnt == 0 }); c.InflightCnt != 0 {
		t.Errorf("slow after its acks = %+v, want inflight_cnt 0", c)
	}
}

func TestAPISubscriptionsAddListRemove(t *testing.T) {
	g, a := startAPIGateway(t)
	_, msgs, _ := mqttClient(t, g, "dev", "", true)
	pub, _, _ := mqttClient(t, g, "pub", "", true)

	var sub struct {
		ID    string `json:"id"`
		Topic string `json:"topic"`
		QoS   int    `json:"qos"`
	}
	if code := a.call("POST", "/api/v1/clients/dev/subscriptions", `{"topic": "cmd/dev/#", "qos": 1}`, &sub); code != 200 || sub.Topic != "cmd/dev/#" || sub.QoS != 1 {
		t.Fatalf("add = %d %+v", code, sub)
	}
	if tok := pub.Publish("cmd/dev/reboot", 1, false, "now"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if m := receive(t, msgs); m.Topic() != "cmd/dev/reboot" || string(m.Payload()) != "now" {
		t.Errorf("got %s=%s", m.Topic(), m.Payload())
	}
	var subs []struct{ ID, Topic string }
	if code := a.call("GET", "/api/v1/clients/dev/subscriptions", "", &subs); code != 200 || len(subs) != 1 || subs[0].ID != "cmd/dev/#" {
		t.Errorf("list = %d %+v", code, subs)
	}
	if code := a.call("DELETE", "/api/v1/clients/dev/subscriptions?topic="+url.QueryEscape("cmd/dev/#"), "", nil); code != 204 {
		t.Errorf("remove = %d", code)
	}
	var e apiErr
	if code := a.call("DELETE", "/api/v1/clients/dev/subscriptions?topic="+url.QueryEscape("cmd/dev/#"), "", &e); code != 404 || e.Code != "SUBSCRIPTION_NOT_FOUND" {
		t.Errorf("remove again = %d %+v", code, e)
	}
	if code := a.call("POST", "/api/v1/clients/ghost/subscriptions", `{"topic": "a"}`, &e); code != 404 {
		t.Errorf("add for no session = %d %+v", code, e)
	}
}

type publishResult struct {
	ID      string `json:"id"`
	Matched *int   `json:"matched"`
	Code    string `json:"code"`
	Field   string `json:"field"`
}

func TestAPIPublishReachesSubscribers(t *testing.T) {
	g, a := startAPIGateway(t)
	c, msgs, _ := mqttClient(t, g, "sub", "", true)
	if tok := c.Subscribe("alerts/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	var r publishResult
	if code := a.call("POST", "/api/v1/publish", `{"topic": "alerts/fire", "payload": "hot", "qos": 1}`, &r); code != 200 || r.ID == "" || r.Matched == nil || *r.Matched != 1 {
		t.Fatalf("publish = %d %+v", code, r)
	}
	if m := receive(t, msgs); m.Topic() != "alerts/fire" || string(m.Payload()) != "hot" || m.Qos() != 1 {
		t.Errorf("got %s=%s qos %d", m.Topic(), m.Payload(), m.Qos())
	}
	b64 := base64.StdEncoding.EncodeToString([]byte{0, 1, 2})
	var rs []publishResult
	body := fmt.Sprintf(`[{"topic": "alerts/a", "payload": "1"}, {"topic": "$SYS/x", "payload": "2"}, {"topic": "alerts/b", "payload": %q, "payload_encoding": "base64", "qos": 2}]`, b64)
	if code := a.call("POST", "/api/v1/publish/bulk", body, &rs); code != 200 || len(rs) != 3 {
		t.Fatalf("bulk = %d %+v", code, rs)
	}
	if rs[0].ID == "" || rs[1].Code != "NOT_AUTHORIZED" || rs[2].ID == "" || *rs[2].Matched != 1 {
		t.Errorf("bulk results = %+v", rs)
	}
	if m := receive(t, msgs); m.Topic() != "alerts/a" {
		t.Errorf("first bulk message on %s", m.Topic())
	}
	if m := receive(t, msgs); m.Topic() != "alerts/b" || string(m.Payload()) != "\x00\x01\x02" {
		t.Errorf("third bulk message %s=%q", m.Topic(), m.Payload())
	}
}

// TestAPIPublishUserPropertiesReachMQTT5: an MQTT 5 subscriber receives
// the user properties, and the other properties, an API publish carried.
func TestAPIPublishUserPropertiesReachMQTT5(t *testing.T) {
	g, a := startAPIGateway(t)
	nc, err := net.Dial("tcp", g.MQTTAddr("tcp").String())
	if err != nil {
		t.Fatal(err)
	}
	msgs := make(chan *paho.Publish, 4)
	c := paho.NewClient(paho.ClientConfig{Conn: nc, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(pr paho.PublishReceived) (bool, error) { msgs <- pr.Packet; return true, nil },
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "v5", CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer c.Disconnect(&paho.Disconnect{})
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "props/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	body := `{"topic": "props/a", "payload": "21.5", "qos": 1, "properties": {"user_properties": {"unit": "°C", "site": "north"},
"content_type": "text/plain", "response_topic": "reply/a", "correlation_data": "req-1"}}`
	if code := a.call("POST", "/api/v1/publish", body, nil); code != 200 {
		t.Fatalf("publish = %d", code)
	}
	var p *paho.Publish
	select {
	case p = <-msgs:
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
	}
	if p.Topic != "props/a" || string(p.Payload) != "21.5" || p.Properties == nil {
		t.Fatalf("got %s=%s properties %+v", p.Topic, p.Payload, p.Properties)
	}
	pp := p.Properties
	if len(pp.User) != 2 || pp.User.Get("site") != "north" || pp.User.Get("unit") != "°C" {
		t.Errorf("user properties = %+v, want site=north and unit=°C", pp.User)
	}
	if pp.ContentType != "text/plain" || pp.ResponseTopic != "reply/a" || string(pp.CorrelationData) != "req-1" {
		t.Errorf("properties = %+v", pp)
	}
}

func TestAPIRetainedListGetDelete(t *testing.T) {
	_, a := startAPIGateway(t)
	for _, tp := range []string{"home/kitchen/temp", "home/hall/temp", "office/temp"} {
		if code := a.call("POST", "/api/v1/publish", fmt.Sprintf(`{"topic": %q, "payload": "21", "retain": true, "qos": 1}`, tp), nil); code != 200 {
			t.Fatalf("publish %s = %d", tp, code)
		}
	}
	var p struct {
		Data []struct{ Topic string }
		Meta struct {
			HasNext bool   `json:"hasnext"`
			Cursor  string `json:"cursor"`
		}
	}
	if code := a.call("GET", "/api/v1/retained?topic="+url.QueryEscape("home/#")+"&limit=1", "", &p); code != 200 || len(p.Data) != 1 || p.Data[0].Topic != "home/hall/temp" || !p.Meta.HasNext {
		t.Fatalf("list page 1 = %d %+v", code, p)
	}
	a.call("GET", "/api/v1/retained?topic="+url.QueryEscape("home/#")+"&limit=1&cursor="+url.QueryEscape(p.Meta.Cursor), "", &p)
	if len(p.Data) != 1 || p.Data[0].Topic != "home/kitchen/temp" || p.Meta.HasNext {
		t.Fatalf("list page 2 = %+v", p)
	}
	var m struct {
		Topic, Payload string
		QoS            int `json:"qos"`
	}
	for _, path := range []string{"/api/v1/retained/office/temp", "/api/v1/retained/" + url.PathEscape("office/temp")} {
		if code := a.call("GET", path, "", &m); code != 200 || m.Topic != "office/temp" || m.Payload != base64.StdEncoding.EncodeToString([]byte("21")) || m.QoS != 1 {
			t.Errorf("GET %s = %d %+v", path, code, m)
		}
	}
	if code := a.call("DELETE", "/api/v1/retained/office/temp", "", nil); code != 204 {
		t.Errorf("delete = %d", code)
	}
	if code := a.call("GET", "/api/v1/retained/office/temp", "", nil); code != 404 {
		t.Errorf("get after delete = %d", code)
	}
	if code := a.call("DELETE", "/api/v1/retained/office/temp", "", nil); code != 404 {
		t.Errorf("delete again = %d", code)
	}
}

// TestAPIBadInputIs400NamingTheField: every malformed request gets a 400
// whose field names the input at fault, never a 500.
func TestAPIBadInputIs400NamingTheField(t *testing.T) {
	g, a := startAPIGateway(t)
	mqttClient(t, g, "dev", "", true)
	for _, tc := range []struct {
		method, path, body, field string
	}{
		{"GET", "/api/v1/clients?limit=0", "", "limit"},
		{"GET", "/api/v1/clients?limit=abc", "", "limit"},
		{"GET", "/api/v1/clients?conn_state=maybe", "", "conn_state"},
		{"DELETE", "/api/v1/clients/dev?discard_session=perhaps", "", "discard_session"},
		{"GET", "/api/v1/retained?topic=" + url.QueryEscape("a/#/b"), "", "topic"},
		{"POST", "/api/v1/publish", ``, "body"},
		{"POST", "/api/v1/publish", `{"topic": "a"`, "body"},
		{"POST", "/api/v1/publish", `{"payload": "x"}`, "topic"},
		{"POST", "/api/v1/publish", `{"topic": "a/+"}`, "topic"},
		{"POST", "/api/v1/publish", `{"topic": "a", "qos": 3}`, "qos"},
		{"POST", "/api/v1/publish", `{"topic": "a", "qos": "one"}`, "qos"},
		{"POST", "/api/v1/publish", `{"topic": "a", "colour": "red"}`, "colour"},
		{"POST", "/api/v1/publish", `{"topic": "a", "payload": "!", "payload_encoding": "base64"}`, "payload"},
		{"POST", "/api/v1/publish", `{"topic": "a", "payload_encoding": "hex"}`, "payload_encoding"},
		{"POST", "/api/v1/publish", `{"topic": "a", "properties": {"payload_format_indicator": 2}}`, "properties.payload_format_indicator"},
		{"POST", "/api/v1/publish", `{"topic": "a", "properties": {"user_properties": {"k": 1}}}`, "properties.user_properties"},
		{"POST", "/api/v1/publish/bulk", `[]`, "body"},
		{"POST", "/api/v1/publish/bulk", `{"topic": "a"}`, "body"},
		{"POST", "/api/v1/publish/bulk", `[{"topic": "a"}, {"topic": "b", "qos": 7}]`, "[1].qos"},
		{"POST", "/api/v1/clients/dev/subscriptions", `{"topic": "a/#/b"}`, "topic"},
		{"POST", "/api/v1/clients/dev/subscriptions", `{"topic": "a", "rh": 3}`, "rh"},
		{"POST", "/api/v1/clients/dev/subscriptions", `{}`, "topic"},
		{"DELETE", "/api/v1/clients/dev/subscriptions", "", "topic"},
		{"PUT", "/api/v1/bridges/cloud/enable/maybe", "", "enable"},
		{"POST", "/api/v1/banned", `{"as": "ip", "who": "127.0.0.1"}`, "as"},
		{"POST", "/api/v1/banned", `{"as": "clientid"}`, "who"},
		{"POST", "/api/v1/banned", `{"as": "peerhost", "who": "127.0.0.300"}`, "who"},
		{"POST", "/api/v1/banned", `{"as": "peerhost", "who": "10.0.0.0/33"}`, "who"},
		{"POST", "/api/v1/banned", `{"as": "clientid", "who": "x", "until": "tomorrow"}`, "until"},
		{"POST", "/api/v1/banned", `{"as": "clientid", "who": "x", "until": "2001-02-03T04:05:06Z"}`, "until"},
		{"DELETE", "/api/v1/banned/ip/127.0.0.1", "", "as"},
	} {
		t.Run(tc.method+" "+tc.path+" "+tc.body, func(t *testing.T) {
			var e apiErr
			a.t = t
			if code := a.call(tc.method, tc.path, tc.body, &e); code != 400 || e.Code != "BAD_REQUEST" || e.Field != tc.field || e.Message == "" {
				t.Errorf("= %d %+v, want 400 naming %s", code, e, tc.field)
			}
		})
	}
	// A method the path does not have: a JSON 405 that says which it has.
	for _, tc := range []struct{ method, path, allow string }{
		{"PUT", "/api/v1/publish", "POST"},
		{"GET", "/api/v1/bridges/cloud/enable/true", "PUT"},
		{"POST", "/api/v1/clients/dev", "GET, HEAD, DELETE"},
	} {
		req, _ := http.NewRequest(tc.method, a.base+tc.path, strings.NewReader(`{}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e apiErr
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 405 || e.Code != "METHOD_NOT_ALLOWED" || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s = %d %+v, Allow %q; want a JSON 405, Allow %q", tc.method, tc.path, resp.StatusCode, e, resp.Header.Get("Allow"), tc.allow)
		}
	}
}

func TestAPIStatusListsListenersWithConnections(t *testing.T) {
	g, a := startAPIGateway(t)
	mqttClient(t, g, "one", "", true)
	var st struct {
		Version, Node, Store string
		Connections          int64
		Listeners            []struct {
			Protocol, Name, Address string
			Connections             int64
		}
	}
	if code := a.call("GET", "/api/v1/status", "", &st); code != 200 {
		t.Fatalf("status = %d", code)
	}
	if st.Version != gateway.Version || st.Store != "memory" || st.Connections != 1 || len(st.Listeners) != 1 {
		t.Fatalf("status = %+v", st)
	}
	var mem struct {
		StoreState map[string]any `json:"store_state"`
	}
	a.call("GET", "/api/v1/status", "", &mem)
	if ss := mem.StoreState; ss["type"] != "memory" || ss["state"] != "ok" || ss["failures"] != 0.0 || ss["dir"] != nil {
		t.Errorf("memory store state = %v", ss)
	}
	if l := st.Listeners[0]; l.Protocol != "mqtt" || l.Name != "tcp" || l.Address != g.MQTTAddr("tcp").String() || l.Connections != 1 {
		t.Errorf("listener = %+v", l)
	}
}

// TestAPIStatusShowsTheStore: with the disk store, status says where it
// keeps its data, how it syncs, what it takes and that it is well.
func TestAPIStatusShowsTheStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	g := start(t, fmt.Sprintf(`{storage: {type: disk, dir: %q, sync: batch}, sys: {interval: 0s}, http: {address: "127.0.0.1:0"}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`, dir))
	a := newAPI(t, g)
	if code := a.call("POST", "/api/v1/publish", `{"topic": "kept", "payload": "x", "qos": 1, "retain": true}`, nil); code != 200 {
		t.Fatalf("publish = %d", code)
	}
	var st struct {
		Store      string
		StoreState struct {
			Type, State, Dir, Sync string
			SizeBytes              int64 `json:"size_bytes"`
			Failures               int64
			LastError              string     `json:"last_error"`
			LastErrorAt            *time.Time `json:"last_error_at"`
		} `json:"store_state"`
	}
	if code := a.call("GET", "/api/v1/status", "", &st); code != 200 {
		t.Fatalf("status = %d", code)
	}
	ss := st.StoreState
	if st.Store != "disk" || ss.Type != "disk" || ss.State != "ok" || ss.Dir != dir || ss.Sync != "batch" || ss.SizeBytes <= 0 ||
		ss.Failures != 0 || ss.LastError != "" || ss.LastErrorAt != nil {
		t.Errorf("store state = %+v (store %q)", ss, st.Store)
	}
}

// TestAPIPublishGoesThroughTheACLAsTheKey: the ACL sees an API publish as
// client http-api with the API key's name as username.
func TestAPIPublishGoesThroughTheACLAsTheKey(t *testing.T) {
	dir := t.TempDir()
	keyFile, acl := filepath.Join(dir, "api_keys"), filepath.Join(dir, "acl")
	secret, err := httpapi.CreateKey(keyFile, "ops")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(acl, []byte("allow user:ops publish ops/#\n"), 0o600)
	g := start(t, fmt.Sprintf(`{storage: {type: memory}, sys: {interval: 0s}, auth: {acl_file: %q, acl_default: deny}, http: {address: "127.0.0.1:0", api_key_file: %q}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`, acl, keyFile))
	auth := func(r *http.Request) { r.SetBasicAuth("ops", secret) }
	url := "http://" + g.HTTPAddr().String() + "/api/v1/publish"
	if code, body := httpDo(t, http.DefaultClient, "POST", url, auth, `{"topic": "ops/deploy", "payload": "1"}`); code != 200 {
		t.Errorf("publish to ops/deploy = %d %s", code, body)
	}
	if code, body := httpDo(t, http.DefaultClient, "POST", url, auth, `{"topic": "plant/valve", "payload": "1"}`); code != 403 || !strings.Contains(body, "NOT_AUTHORIZED") {
		t.Errorf("publish to plant/valve = %d %s, want 403", code, body)
	}
}

// TestAPIGatewaysListsMQTTSNWithItsClients connects an MQTT-SN client with
// a raw CONNECT datagram and finds it counted under the mqtt-sn gateway.
func TestAPIGatewaysListsMQTTSNWithItsClients(t *testing.T) {
	g := start(t, `{storage: {type: memory}, sys: {interval: 0s}, http: {address: "127.0.0.1:0"}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}, mqttsn: {enabled: true, listeners: [{name: udp, type: udp, address: "127.0.0.1:0"}]}}`)
	a := newAPI(t, g)
	conn, err := net.Dial("udp", g.Addrs("mqtt-sn")["udp"].String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	id := "sn-1"
	// [MQTT-SN 5.4.4] CONNECT: length, type 0x04, flags (clean session),
	// protocol id 0x01, duration 60s, client id.
	conn.Write(append([]byte{byte(6 + len(id)), 0x04, 0x04, 0x01, 0x00, 60}, id...))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	ack := make([]byte, 16)
	if n, err := conn.Read(ack); err != nil || n != 3 || ack[1] != 0x05 || ack[2] != 0 {
		t.Fatalf("CONNACK = % x, %v", ack[:n], err)
	}
	type gw struct {
		Name      string
		Status    string
		Current   int64 `json:"current_connections"`
		Listeners []struct {
			Name, Address string
			Connections   int64
		}
	}
	var list []gw
	if code := a.call("GET", "/api/v1/gateways", "", &list); code != 200 || len(list) != 1 {
		t.Fatalf("gateways = %d %+v", code, list)
	}
	if sn := list[0]; sn.Name != "mqtt-sn" || sn.Status != "running" || sn.Current != 1 || len(sn.Listeners) != 1 ||
		sn.Listeners[0].Address != g.Addrs("mqtt-sn")["udp"].String() || sn.Listeners[0].Connections != 1 {
		t.Errorf("mqtt-sn gateway = %+v", sn)
	}
	var one gw
	if code := a.call("GET", "/api/v1/gateways/mqtt-sn", "", &one); code != 200 || one.Name != "mqtt-sn" {
		t.Errorf("gateways/mqtt-sn = %d %+v", code, one)
	}
	if code := a.call("GET", "/api/v1/gateways/coap", "", nil); code != 404 {
		t.Errorf("gateways/coap = %d, want 404 while it is not enabled", code)
	}
	var c clientJSON
	if code := a.call("GET", "/api/v1/clients/sn-1?namespace=mqttsn", "", &c); code != 200 || c.ProtoName != "mqtt-sn" || !c.Connected {
		t.Errorf("the MQTT-SN client = %d %+v", code, c)
	}
}

func TestAPIRefusesABodyOverTheLimit(t *testing.T) {
	_, a := startAPIGateway(t)
	body := `{"topic": "big", "payload": "` + strings.Repeat("x", 17<<20) + `"}`
	var e apiErr
	if code := a.call("POST", "/api/v1/publish", body, &e); code != 413 || e.Code != "BODY_TOO_LARGE" {
		t.Errorf("a 17 MiB body = %d %+v, want 413", code, e)
	}
}

// TestAPIBridgesShowTheirState bridges an edge gateway to an upstream
// gateway and to an address nothing listens on: the API shows the first
// connected, carrying a message to the upstream, and the second not.
func TestAPIBridgesShowTheirState(t *testing.T) {
	up := start(t, `{storage: {type: memory}, sys: {interval: 0s}, http: {address: ""}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`)
	closed := freeAddr(t)
	edge := start(t, fmt.Sprintf(`{storage: {type: memory}, sys: {interval: 0s}, http: {address: "127.0.0.1:0"}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]},
bridges: [{name: cloud, address: %q, rules: [{direction: out, local: "up/#", qos: 1}]}, {name: nowhere, address: %q, rules: [{direction: out, local: "x/#"}]}]}`,
		up.MQTTAddr("tcp").String(), closed))
	a := newAPI(t, edge)
	type bridgeJSON struct {
		Name, Status string
		Queued       int
	}
	var list []bridgeJSON
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		a.call("GET", "/api/v1/bridges", "", &list)
		if len(list) == 2 && list[0].Status == "connected" || time.Now().After(deadline) {
			break
		}
	}
	if len(list) != 2 || list[0].Name != "cloud" || list[0].Status != "connected" || list[1].Name != "nowhere" || list[1].Status != "disconnected" {
		t.Fatalf("bridges = %+v", list)
	}
	c, upMsgs, _ := mqttClient(t, up, "cloud-sub", "", true)
	if tok := c.Subscribe("up/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if code := a.call("POST", "/api/v1/publish", `{"topic": "up/temp", "payload": "7", "qos": 1}`, nil); code != 200 {
		t.Fatalf("publish = %d", code)
	}
	if m := receive(t, upMsgs); m.Topic() != "up/temp" || string(m.Payload()) != "7" {
		t.Errorf("upstream got %s=%s", m.Topic(), m.Payload())
	}
	var one bridgeJSON
	if code := a.call("GET", "/api/v1/bridges/cloud", "", &one); code != 200 || one.Name != "cloud" {
		t.Errorf("bridges/cloud = %d %+v", code, one)
	}
	if code := a.call("GET", "/api/v1/bridges/nope", "", nil); code != 404 {
		t.Errorf("bridges/nope = %d", code)
	}
	// The switch: disabled, the bridge shows so; enabled, it connects again.
	if code := a.call("PUT", "/api/v1/bridges/cloud/enable/false", "", nil); code != 204 {
		t.Fatalf("disable = %d", code)
	}
	if a.call("GET", "/api/v1/bridges/cloud", "", &one); one.Status != "disabled" {
		t.Errorf("disabled bridge shows %+v", one)
	}
	if code := a.call("PUT", "/api/v1/bridges/cloud/enable/true", "", nil); code != 204 {
		t.Fatalf("enable = %d", code)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		a.call("GET", "/api/v1/bridges/cloud", "", &one)
		if one.Status == "connected" || time.Now().After(deadline) {
			break
		}
	}
	if one.Status != "connected" {
		t.Errorf("enabled bridge shows %+v", one)
	}
	if code := a.call("PUT", "/api/v1/bridges/cloud/enable/maybe", "", nil); code != 400 {
		t.Errorf("enable/maybe = %d, want 400", code)
	}
	if code := a.call("PUT", "/api/v1/bridges/nope/enable/false", "", nil); code != 404 {
		t.Errorf("enable an unknown bridge = %d, want 404", code)
	}
	var gws []struct{ Name string }
	if a.call("GET", "/api/v1/gateways", "", &gws); len(gws) != 0 {
		t.Errorf("gateways = %+v, want none: bridges are not protocol gateways", gws)
	}
	_, text := httpDo(t, http.DefaultClient, "GET", a.base+"/metrics", nil, "")
	if metricValue(text, `mqgate_bridge_connected{bridge="cloud"}`) != 1 || metricValue(text, `mqgate_bridge_connected{bridge="nowhere"}`) != 0 ||
		metricValue(text, `mqgate_bridge_queued_messages{bridge="nowhere"}`) < 0 || metricValue(text, `mqgate_bridge_reconnects_total{bridge="cloud"}`) < 0 {
		t.Errorf("bridge metrics missing or wrong:\n%s", text)
	}
}
