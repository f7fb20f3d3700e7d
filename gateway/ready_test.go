package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mqgate/mqgate/conf"
)

// gateAdapter is an adapter whose Start and Stop say they were called and
// then wait until the test lets them return.
type gateAdapter struct {
	started, stopping chan struct{} // closed when Start, Stop is called
	startGo, stopGo   chan struct{} // closed by the test to let them return
}

func newGateAdapter() *gateAdapter {
	return &gateAdapter{started: make(chan struct{}), stopping: make(chan struct{}), startGo: make(chan struct{}), stopGo: make(chan struct{})}
}

func (a *gateAdapter) Name() string { return "gate" }

func (a *gateAdapter) Start(context.Context) error {
	close(a.started)
	<-a.startGo
	return nil
}

func (a *gateAdapter) Stop(context.Context) error {
	close(a.stopping)
	<-a.stopGo
	return nil
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: not within 5s", what)
	}
}

// TestReadyzOnlyWhileEveryListenerIsOpen holds the first adapter's Start
// and Stop: /readyz answers 503 while the HTTP server is up but no
// adapter has opened its listeners, 200 once Start has returned, and 503
// again once Stop has begun (asked of the handler: the HTTP server closes
// first).
func TestReadyzOnlyWhileEveryListenerIsOpen(t *testing.T) {
	cfg := conf.Default()
	cfg.MQTT.Listeners = []conf.Listener{{Name: "tcp", Type: "tcp", Address: "127.0.0.1:0"}}
	cfg.Storage.Type = "memory" // never the repository's ./data
	cfg.HTTP.Address = "127.0.0.1:0"
	cfg.Sys.Interval = 0
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	gate := newGateAdapter()
	g.adapters = append([]Adapter{gate}, g.adapters...)
	started := make(chan error, 1)
	go func() { started <- g.Start(context.Background()) }()
	waitFor(t, gate.started, "the first adapter's Start")

	readyz := func() int {
		t.Helper()
		resp, err := http.Get("http://" + g.HTTPAddr().String() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := readyz(); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before the listeners are open = %d, want 503", code)
	}
	close(gate.startGo)
	if err := <-started; err != nil {
		t.Fatalf("start: %v", err)
	}
	if code := readyz(); code != http.StatusOK {
		t.Errorf("/readyz once started = %d, want 200", code)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- g.Stop(context.Background()) }()
	waitFor(t, gate.stopping, "the first adapter's Stop")
	w := httptest.NewRecorder()
	g.http.api.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while stopping = %d %s, want 503", w.Code, w.Body)
	}
	close(gate.stopGo)
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
}
