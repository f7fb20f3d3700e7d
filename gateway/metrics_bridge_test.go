package gateway_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestMetricsAgeABridgesHeldMessage: a bridge whose upstream is not there
// holds a message; the metrics show it queued and its age growing with
// the clock, never ahead of it.
func TestMetricsAgeABridgesHeldMessage(t *testing.T) {
	g := start(t, fmt.Sprintf(`{storage: {type: memory}, sys: {interval: 0s}, http: {address: "127.0.0.1:0"}, mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]},
bridges: [{name: nowhere, address: %q, rules: [{direction: out, local: "x/#", qos: 1}]}]}`, freeAddr(t)))
	a := newAPI(t, g)
	published := time.Now()
	if code := a.call("POST", "/api/v1/publish", `{"topic": "x/held", "payload": "1", "qos": 1}`, nil); code != 200 {
		t.Fatalf("publish = %d", code)
	}
	const queued, age = `mqgate_bridge_queued_messages{bridge="nowhere"}`, `mqgate_bridge_oldest_age_seconds{bridge="nowhere"}`
	var text string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, text = httpDo(t, http.DefaultClient, "GET", a.base+"/metrics", nil, "")
		if metricValue(text, age) >= 1 || time.Now().After(deadline) {
			break
		}
	}
	elapsed := time.Since(published).Seconds()
	if q, s := metricValue(text, queued), metricValue(text, age); q != 1 || s < 1 || s > elapsed {
		t.Errorf("queued %v, oldest age %vs after %.2fs; want 1 message at least 1s old:\n%s", q, s, elapsed, text)
	}
}
