package httpapi_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/core"
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
