package bench

import (
	"strings"
	"testing"

	"github.com/mqgate/mqgate/conf"
)

// startCoAPGateway runs mqgate with the CoAP gateway on a loopback UDP
// port and returns its MQTT and CoAP addresses.
func startCoAPGateway(t *testing.T) (mqtt, coap string) {
	t.Helper()
	cfg := testConfig()
	cfg.CoAP.Enabled = true
	cfg.CoAP.Listeners = []conf.CoAPListener{{Name: "udp", Type: "udp", Address: "127.0.0.1:0"}}
	cfg.CoAP.MaxRequestsPerSecond = 0
	// Every message, not only the newest: the bench counts each one.
	cfg.CoAP.ObserveQueue = "all"
	g := startGateway(t, cfg)
	return g.Addrs("mqtt")["tcp"].String(), g.Addrs("coap")["udp"].String()
}

func TestCoAPDeliversEverything(t *testing.T) {
	t.Parallel()
	mqtt, coap := startCoAPGateway(t)
	tests := []struct {
		name string
		args []string
	}{
		{"pubsub coap publishers to mqtt subscribers", []string{"pubsub", "-pub-proto", "coap", "-sub-proto", "mqtt", "-c", "4", "-subs", "2", "-r", "200", "-t", "bench/coap/%i"}},
		{"fanout mqtt publisher to coap observers", []string{"scenario", "fanout", "-pub-proto", "mqtt", "-sub-proto", "coap", "-c", "20", "-r", "100"}},
		{"fanin coap publishers to a coap wildcard observer", []string{"scenario", "fanin", "-proto", "coap", "-c", "5", "-r", "200"}},
		{"qos 1 coap publishers with a window to mqtt subscribers", []string{"pubsub", "-pub-proto", "coap", "-sub-proto", "mqtt", "-q", "1", "-inflight", "8", "-c", "4", "-subs", "2", "-t", "bench/coapq1/%i"}},
		{"qos 1 fanout to coap observers", []string{"scenario", "fanout", "-pub-proto", "mqtt", "-sub-proto", "coap", "-q", "1", "-c", "10", "-r", "100", "-t", "bench/coapq1fanout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(tt.name, "fanout") {
				// The fanout scenario publishes on bench/fanout whatever
				// -t says: the two fanout runs may not overlap.
				t.Parallel()
			}
			prefix := "t-" + strings.ReplaceAll(tt.name, " ", "-") + "-"
			s := runBench(t, append(tt.args, "-h", mqtt, "-coap-host", coap, "-d", "300ms", "-prefix", prefix))
			if s.Errors != 0 || s.ConnFailed != 0 {
				t.Fatalf("errors %d, failed connections %d", s.Errors, s.ConnFailed)
			}
			if s.Sent == 0 || s.Expected == nil || *s.Expected == 0 {
				t.Fatalf("sent %d, expected %v: want some", s.Sent, s.Expected)
			}
			if s.Received != *s.Expected || *s.Lost != 0 {
				t.Fatalf("delivered %d of %d expected, lost %d", s.Received, *s.Expected, *s.Lost)
			}
			if s.QoS == 1 && s.PubProto == "coap" && s.Acked != s.Sent {
				t.Fatalf("%d of %d CON publishes answered 2.04", s.Acked, s.Sent)
			}
		})
	}
}

func TestCoAPRefusesQoSAbove1AndDefaultsToPort5683(t *testing.T) {
	o := &Options{}
	if err := newFlags(o, testWriter{t}).Parse([]string{"-proto", "coap", "-q", "2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := plan("pub", "pub", o, map[string]bool{}); err == nil || !strings.Contains(err.Error(), "QoS 0 or 1") {
		t.Fatalf("plan: %v, want the QoS 2 refusal", err)
	}
	o = &Options{}
	if err := newFlags(o, testWriter{t}).Parse([]string{"-proto", "coap", "-h", "10.1.2.3:1883"}); err != nil {
		t.Fatal(err)
	}
	if _, err := plan("pub", "pub", o, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	if o.CoAPAddr != "10.1.2.3:5683" {
		t.Fatalf("-coap-host %q, want 10.1.2.3:5683", o.CoAPAddr)
	}
}
