package gateway

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/conf"
)

// fakeAdapter appends "start NAME" and "stop NAME" to the call log it
// shares with the other adapters of a test, and returns startErr and
// stopErr from those calls.
type fakeAdapter struct {
	name     string
	startErr error
	stopErr  error
	calls    *[]string
}

func (f *fakeAdapter) Name() string { return f.name }

func (f *fakeAdapter) Start(context.Context) error {
	*f.calls = append(*f.calls, "start "+f.name)
	return f.startErr
}

func (f *fakeAdapter) Stop(context.Context) error {
	*f.calls = append(*f.calls, "stop "+f.name)
	return f.stopErr
}

// addrAdapter is a fakeAdapter with listeners.
type addrAdapter struct {
	fakeAdapter
	addrs map[string]net.Addr
}

func (a *addrAdapter) Addrs() map[string]net.Addr { return a.addrs }

// newGateway builds a gateway on the in-memory store whose adapters are
// replaced by adapters.
func newGateway(t *testing.T, adapters ...Adapter) *Gateway {
	t.Helper()
	cfg := conf.Default()
	cfg.MQTT.Listeners = []conf.Listener{{Name: "tcp", Type: "tcp", Address: "127.0.0.1:0"}}
	cfg.Storage.Type = "memory" // never the repository's ./data
	cfg.HTTP.Address = ""
	cfg.Sys.Interval = 0
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.adapters = adapters
	t.Cleanup(func() { g.Stop(context.Background()) })
	return g
}

func adapterNames(g *Gateway) []string {
	var names []string
	for _, a := range g.adapters {
		names = append(names, a.Name())
	}
	return names
}

var (
	errStart = errors.New("address already in use")
	errStop  = errors.New("clients still closing")
)

func TestAdaptersStartInOrderAndStopInReverse(t *testing.T) {
	for _, tc := range []struct {
		name       string
		adapters   []fakeAdapter
		startErr   string   // the adapter Start must name in its error; "" for none
		afterStart []string // the calls Start made
		stopErr    string   // the adapter Stop must name in its error; "" for none
		afterStop  []string // the calls Stop added
	}{
		{
			name:       "stop runs in reverse order of start",
			adapters:   []fakeAdapter{{name: "a"}, {name: "b"}, {name: "c"}},
			afterStart: []string{"start a", "start b", "start c"},
			afterStop:  []string{"stop c", "stop b", "stop a"},
		},
		{
			name:       "a failed start stops the adapters started before it, in reverse",
			adapters:   []fakeAdapter{{name: "a"}, {name: "b"}, {name: "c", startErr: errStart}, {name: "d"}},
			startErr:   "c",
			afterStart: []string{"start a", "start b", "start c", "stop b", "stop a"},
		},
		{
			name:       "the first adapter failing to start leaves nothing to stop",
			adapters:   []fakeAdapter{{name: "a", startErr: errStart}, {name: "b"}},
			startErr:   "a",
			afterStart: []string{"start a"},
		},
		{
			name:       "an adapter failing to stop does not keep the others running",
			adapters:   []fakeAdapter{{name: "a"}, {name: "b", stopErr: errStop}, {name: "c"}},
			afterStart: []string{"start a", "start b", "start c"},
			stopErr:    "b",
			afterStop:  []string{"stop c", "stop b", "stop a"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls []string
			var adapters []Adapter
			for i := range tc.adapters {
				tc.adapters[i].calls = &calls
				adapters = append(adapters, &tc.adapters[i])
			}
			g := newGateway(t, adapters...)
			ctx := context.Background()

			err := g.Start(ctx)
			switch {
			case tc.startErr == "" && err != nil:
				t.Fatalf("start: %v", err)
			case tc.startErr != "" && (!errors.Is(err, errStart) || !strings.HasPrefix(err.Error(), "start "+tc.startErr+": ")):
				t.Fatalf("start error %v, want the %q of adapter %s wrapped and named", err, errStart, tc.startErr)
			}
			if !slices.Equal(calls, tc.afterStart) {
				t.Fatalf("start called %q, want %q", calls, tc.afterStart)
			}

			calls = nil
			err = g.Stop(ctx)
			switch {
			case tc.stopErr == "" && err != nil:
				t.Fatalf("stop: %v", err)
			case tc.stopErr != "" && (!errors.Is(err, errStop) || !strings.Contains(err.Error(), "stop "+tc.stopErr+": ")):
				t.Fatalf("stop error %v, want the %q of adapter %s wrapped and named", err, errStop, tc.stopErr)
			}
			if !slices.Equal(calls, tc.afterStop) {
				t.Fatalf("stop called %q, want %q", calls, tc.afterStop)
			}

			// Each adapter that started is stopped once.
			calls = nil
			if err := g.Stop(ctx); err != nil {
				t.Fatalf("second stop: %v", err)
			}
			if len(calls) != 0 {
				t.Fatalf("second stop called %q, want nothing", calls)
			}
		})
	}
}

func TestAddrsComeFromAdaptersWithListeners(t *testing.T) {
	var calls []string
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1883}
	g := newGateway(t,
		&addrAdapter{fakeAdapter{name: "listens", calls: &calls}, map[string]net.Addr{"tcp": addr}},
		&fakeAdapter{name: "silent", calls: &calls},
	)
	if got := g.Addrs("listens")["tcp"]; got != addr {
		t.Fatalf("Addrs(listens)[tcp] = %v, want %v", got, addr)
	}
	if got := g.Addrs("silent"); got != nil {
		t.Fatalf("Addrs(silent) = %v, want nil: it has no listeners", got)
	}
	if got := g.Addrs("coap"); got != nil {
		t.Fatalf("Addrs(coap) = %v, want nil: no such adapter", got)
	}
}
