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
	httpapi.Metrics(b, nil, &drops, nil, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for r := core.DropQueueFull; r <= core.LastDropReason; r++ {
		if want := `mqgate_messages_dropped_total{reason="` + r.String() + `"} 1`; !strings.Contains(string(body), want) {
			t.Errorf("no %s in the metrics", want)
		}
	}
}
