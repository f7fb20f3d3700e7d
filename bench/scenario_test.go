package bench

import (
	"context"
	"flag"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/mqgate/mqgate/conf"
	"github.com/mqgate/mqgate/gateway"
)

// startBroker runs the real mqgate on loopback ports and returns its TCP
// and WebSocket addresses.
func startBroker(t *testing.T) (tcp, ws string) {
	t.Helper()
	g := startGateway(t, testConfig())
	a := g.Addrs("mqtt")
	return a["tcp"].String(), a["ws"].String()
}

// testConfig is mqgate on loopback ports with the in-memory store.
func testConfig() *conf.Config {
	cfg := conf.Default()
	cfg.MQTT.Listeners = []conf.Listener{
		{Name: "tcp", Type: "tcp", Address: "127.0.0.1:0", MaxConnections: 10000},
		{Name: "ws", Type: "ws", Address: "127.0.0.1:0", Path: "/mqtt", MaxConnections: 10000},
	}
	cfg.Sys.Interval = 0
	cfg.Storage.Type = "memory" // never the repository's ./data
	cfg.HTTP.Address = ""       // no fixed port
	return cfg
}

// startGateway starts mqgate on cfg and stops it when the test ends.
func startGateway(t *testing.T, cfg *conf.Config) *gateway.Gateway {
	t.Helper()
	g, err := gateway.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.Stop(ctx)
	})
	return g
}

func TestScenariosDeliverEverything(t *testing.T) {
	tcp, ws := startBroker(t)
	tests := []struct {
		name string
		args []string
		idle bool // no messages, only connections
	}{
		{"fanin qos0", []string{"scenario", "fanin", "-c", "5", "-r", "200"}, false},
		{"fanin qos1", []string{"scenario", "fanin", "-c", "5", "-r", "200", "-q", "1"}, false},
		{"fanout qos2 v5", []string{"scenario", "fanout", "-c", "5", "-r", "200", "-q", "2", "-V", "5"}, false},
		{"p2p qos1 websocket", []string{"scenario", "p2p", "-c", "4", "-r", "200", "-q", "1", "-ws"}, false},
		{"shared qos1", []string{"scenario", "shared", "-c", "4", "-subs", "3", "-r", "200", "-q", "1"}, false},
		{"latency", []string{"scenario", "latency", "-c", "2", "-R", "500"}, false},
		{"conns", []string{"scenario", "conns", "-c", "50"}, true},
		{"pubsub unthrottled qos1", []string{"pubsub", "-c", "3", "-q", "1", "-t", "bench/ps/%i", "-window", "100"}, false},
		{"conn", []string{"conn", "-c", "10", "-rate", "1000"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := tcp
			for _, a := range tt.args {
				if a == "-ws" {
					addr = ws
				}
			}
			s := runBench(t, append(tt.args, "-h", addr, "-d", "300ms", "-prefix", "t-"+tt.name+"-"))
			if s.Errors != 0 || s.ConnFailed != 0 {
				t.Fatalf("errors %d, failed connections %d", s.Errors, s.ConnFailed)
			}
			if want := int64(s.Pubs + s.Subs + s.Idle); s.Connected != want {
				t.Fatalf("connected %d of %d", s.Connected, want)
			}
			if tt.idle {
				return
			}
			if s.Received == 0 || s.Sent == 0 {
				t.Fatalf("sent %d, delivered %d: want some of each", s.Sent, s.Received)
			}
			if s.Expected == nil || *s.Lost != 0 {
				t.Fatalf("losses not computed or not zero: %+v", s)
			}
			if s.Samples != uint64(s.Received) || s.P99 <= 0 {
				t.Fatalf("latency: %d samples for %d deliveries, p99 %vus", s.Samples, s.Received, s.P99)
			}
			if s.QoS > 0 && s.Acked != s.Sent {
				t.Fatalf("QoS %d: %d acknowledged of %d sent", s.QoS, s.Acked, s.Sent)
			}
		})
	}
}

// TestConnsReportBrokerCPUPerConnection checks that a run of connections
// only, given the broker's PID (here this process's, which also runs the
// bench), reports the broker's CPU per connection, connect to disconnect,
// and no CPU per message.
func TestConnsReportBrokerCPUPerConnection(t *testing.T) {
	tcp, _ := startBroker(t)
	s := runBench(t, []string{"scenario", "conns", "-c", "200", "-h", tcp, "-d", "100ms", "-pid", strconv.Itoa(os.Getpid())})
	if s.Connected != 200 {
		t.Fatalf("connected %d of 200", s.Connected)
	}
	if s.CPUPerConn == nil || *s.CPUPerConn <= 0 {
		t.Fatalf("broker cpu per connection %v, want a positive figure", s.CPUPerConn)
	}
	if s.CPUPerMillion != nil {
		t.Fatalf("cpu per million messages %v for a run without messages", *s.CPUPerMillion)
	}
}

func TestPublishersAloneCountNoLosses(t *testing.T) {
	tcp, _ := startBroker(t)
	s := runBench(t, []string{"pub", "-c", "2", "-q", "1", "-I", "5ms", "-h", tcp, "-d", "200ms"})
	if s.Sent == 0 || s.Acked != s.Sent || s.Expected != nil {
		t.Fatalf("sent %d acked %d expected %v", s.Sent, s.Acked, s.Expected)
	}
}

func runBench(t *testing.T, args []string) *Summary {
	t.Helper()
	cmd, name := args[0], args[0]
	args = args[1:]
	if cmd == "scenario" {
		name, args = args[0], args[1:]
	}
	o := &Options{}
	fs := newFlags(o, io.Discard)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	r, err := plan(cmd, name, o, set)
	if err != nil {
		t.Fatal(err)
	}
	r.out = &reporter{w: io.Discard, ew: testWriter{t}, quiet: true}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := r.execute(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
