package gateway_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metricValue returns the value of the series line that starts with
// series ("name" or `name{labels}`); -1 when there is none.
func metricValue(text, series string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func TestMetricsCountConnectionsMessagesAndDrops(t *testing.T) {
	g := start(t, `{storage: {type: memory}, sys: {interval: 0s}, sessions: {max_queued_messages: 1}, http: {address: "127.0.0.1:0"}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`)
	a := newAPI(t, g)
	sub, msgs, _ := mqttClient(t, g, "sub", "", true)
	if tok := sub.Subscribe("m/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	// A persistent session whose connection left queues one message; the
	// second is dropped, reason queue full.
	away, _, _ := mqttClient(t, g, "away", "", false)
	if tok := away.Subscribe("m/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	away.Disconnect(0)
	deadline := time.Now().Add(5 * time.Second)
	var c clientJSON
	for a.call("GET", "/api/v1/clients/away", "", &c); c.Connected && time.Now().Before(deadline); a.call("GET", "/api/v1/clients/away", "", &c) {
		time.Sleep(10 * time.Millisecond)
	}
	for range 2 {
		if code := a.call("POST", "/api/v1/publish", `{"topic": "m/1", "payload": "hello", "qos": 1}`, nil); code != 200 {
			t.Fatalf("publish = %d", code)
		}
		receive(t, msgs)
	}

	// The subscriber's acknowledgements settle the sent count.
	var text string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var code int
		code, text = httpDo(t, http.DefaultClient, "GET", a.base+"/metrics", nil, "")
		if code != 200 {
			t.Fatalf("GET /metrics = %d", code)
		}
		if metricValue(text, `mqgate_messages_sent_total{protocol="mqtt",qos="1"}`) == 2 || time.Now().After(deadline) {
			break
		}
	}
	for _, tc := range []struct {
		series string
		want   float64 // -2: present with any value
	}{
		{`mqgate_connections{listener="tcp",protocol="mqtt"}`, 1},
		{`mqgate_connects_total{listener="tcp",protocol="mqtt"}`, 2},
		{`mqgate_disconnects_total{listener="tcp",protocol="mqtt"}`, 1},
		// Published through the HTTP API at QoS 1, delivered to an MQTT
		// client at QoS 1.
		{`mqgate_messages_received_total{protocol="http",qos="1"}`, 2},
		{`mqgate_messages_sent_total{protocol="mqtt",qos="1"}`, 2},
		// Their payloads, "hello" twice.
		{`mqgate_message_bytes_received_total{protocol="http",qos="1"}`, 10},
		{`mqgate_message_bytes_sent_total{protocol="mqtt",qos="1"}`, 10},
		{`mqgate_messages_dropped_total{reason="queue full"}`, 1},
		{`mqgate_messages_dropped_total{reason="offline"}`, 0},
		{`mqgate_sessions`, 2},
		{`mqgate_subscriptions`, 2},
		{`mqgate_retained_messages`, 0},
		{`mqgate_authorization_denied_total{action="publish"}`, 0},
		{`mqgate_authorization_denied_total{action="subscribe"}`, 0},
		{`mqgate_bytes_received_total{protocol="mqtt"}`, -2},
		{`mqgate_bytes_sent_total{protocol="mqtt"}`, -2},
		// "away" has one message queued, "sub" none.
		{`mqgate_session_queue_messages_count`, 2},
		{`mqgate_session_queue_messages_bucket{le="0"}`, 1},
		{`mqgate_session_queue_messages_bucket{le="1"}`, 2},
		{`mqgate_session_queue_messages_sum`, 1},
		{`mqgate_session_inflight_messages_bucket{le="0"}`, 2},
		{`go_goroutines`, -2},
		{`process_resident_memory_bytes`, -2},
	} {
		got := metricValue(text, tc.series)
		if got == -1 || tc.want != -2 && got != tc.want {
			t.Errorf("%s = %v, want %v", tc.series, got, tc.want)
		}
	}
	// Nothing was published over MQTT nor delivered over HTTP; a protocol
	// and QoS with no message either way has no series.
	for series, want := range map[string]float64{
		`mqgate_messages_received_total{protocol="mqtt",qos="1"}`:      0,
		`mqgate_messages_sent_total{protocol="http",qos="1"}`:          0,
		`mqgate_messages_received_total{protocol="coap",qos="0"}`:      -1,
		`mqgate_message_bytes_received_total{protocol="mqtt",qos="1"}`: 0,
		`mqgate_message_bytes_sent_total{protocol="http",qos="1"}`:     0,
		`mqgate_message_bytes_sent_total{protocol="coap",qos="0"}`:     -1,
		// No connection was refused (allow_anonymous is on by default).
		`mqgate_connects_refused_total{protocol="mqtt",reason="not_authorized"}`: -1,
	} {
		if got := metricValue(text, series); got != want {
			t.Errorf("%s = %v, want %v (-1: no series)", series, got, want)
		}
	}
	if strings.Contains(text, "sub\"") || strings.Contains(text, "clientid") {
		t.Error("metrics have a series per client")
	}
}

// TestMetricsCountMessageBytesOfMQTTPublishes: an MQTT client's publishes
// at each QoS count their payload bytes received at the QoS published and,
// delivered to another MQTT client, sent at the QoS delivered; the wire
// bytes, framing included, are more.
func TestMetricsCountMessageBytesOfMQTTPublishes(t *testing.T) {
	g := start(t, `{storage: {type: memory}, sys: {interval: 0s}, http: {address: "127.0.0.1:0"}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`)
	a := newAPI(t, g)
	sub, msgs, _ := mqttClient(t, g, "sub", "", true)
	if tok := sub.Subscribe("b/#", 2, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	pub, _, _ := mqttClient(t, g, "pub", "", true)
	sizes := [3]int{7, 300, 1000} // by QoS
	for qos, n := range sizes {
		if tok := pub.Publish(fmt.Sprint("b/", qos), byte(qos), false, strings.Repeat("x", n)); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish at QoS %d: %v", qos, tok.Error())
		}
		if m := receive(t, msgs); len(m.Payload()) != n || int(m.Qos()) != qos {
			t.Fatalf("received %d bytes at QoS %d, want %d at QoS %d", len(m.Payload()), m.Qos(), n, qos)
		}
	}
	// The QoS 1 and 2 deliveries count once the subscriber has
	// acknowledged them (PUBACK, PUBCOMP).
	var text string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, text = httpDo(t, http.DefaultClient, "GET", a.base+"/metrics", nil, "")
		if metricValue(text, `mqgate_messages_sent_total{protocol="mqtt",qos="1"}`) == 1 &&
			metricValue(text, `mqgate_messages_sent_total{protocol="mqtt",qos="2"}`) == 1 || time.Now().After(deadline) {
			break
		}
	}
	var payloads float64
	for qos, n := range sizes {
		for _, series := range []string{"messages_received_total", "messages_sent_total", "message_bytes_received_total", "message_bytes_sent_total"} {
			name := fmt.Sprintf(`mqgate_%s{protocol="mqtt",qos="%d"}`, series, qos)
			want := 1.0
			if strings.HasPrefix(series, "message_bytes") {
				want = float64(n)
			}
			if got := metricValue(text, name); got != want {
				t.Errorf("%s = %v, want %v", name, got, want)
			}
		}
		payloads += float64(n)
	}
	for _, series := range []string{`mqgate_bytes_received_total{protocol="mqtt"}`, `mqgate_bytes_sent_total{protocol="mqtt"}`} {
		if got := metricValue(text, series); got <= payloads {
			t.Errorf("%s = %v, want more than the %v payload bytes", series, got, payloads)
		}
	}
}

func TestMetricsGiveTheDiskStoreSize(t *testing.T) {
	g := start(t, fmt.Sprintf(`{storage: {dir: %q}, sys: {interval: 0s}, http: {address: "127.0.0.1:0"}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`, t.TempDir()))
	a := newAPI(t, g)
	a.call("POST", "/api/v1/publish", `{"topic": "keep", "payload": "x", "retain": true, "qos": 1}`, nil)
	_, text := httpDo(t, http.DefaultClient, "GET", a.base+"/metrics", nil, "")
	if v := metricValue(text, "mqgate_store_size_bytes"); v <= 0 {
		t.Errorf("mqgate_store_size_bytes = %v, want the store's size", v)
	}
	// The retained QoS 1 publish was synced before the API answered.
	if v := metricValue(text, "mqgate_store_sync_seconds_count"); v < 1 {
		t.Errorf("mqgate_store_sync_seconds_count = %v, want the publish's sync at least", v)
	}
	if !strings.Contains(text, `mqgate_store_sync_seconds_bucket{le="0.001"}`) {
		t.Error("no sync-latency buckets in the metrics")
	}
}
