package bench

import (
	"strings"
	"testing"

	"github.com/mqgate/mqgate/conf"
)

// startSTOMPGateway runs mqgate with the STOMP gateway on a loopback port
// and returns its MQTT and STOMP addresses.
func startSTOMPGateway(t *testing.T) (mqtt, stomp string) {
	t.Helper()
	cfg := testConfig()
	cfg.STOMP.Enabled = true
	cfg.STOMP.Listeners = []conf.STOMPListener{{Name: "tcp", Type: "tcp", Address: "127.0.0.1:0", MaxConnections: 1000}}
	g := startGateway(t, cfg)
	return g.Addrs("mqtt")["tcp"].String(), g.Addrs("stomp")["tcp"].String()
}

func TestSTOMPDeliversEverything(t *testing.T) {
	t.Parallel()
	mqtt, stomp := startSTOMPGateway(t)
	tests := []struct {
		name string
		args []string
	}{
		{"stomp senders to mqtt subscribers qos0", []string{"pubsub", "-pub-proto", "stomp", "-sub-proto", "mqtt", "-c", "4", "-subs", "2", "-r", "200", "-t", "bench/st/%i"}},
		{"stomp senders to mqtt subscribers qos1 unthrottled", []string{"pubsub", "-pub-proto", "stomp", "-sub-proto", "mqtt", "-c", "3", "-q", "1", "-t", "bench/st1/%i", "-window", "100"}},
		{"mqtt publishers to stomp subscribers qos1", []string{"pubsub", "-pub-proto", "mqtt", "-sub-proto", "stomp", "-c", "3", "-q", "1", "-r", "200", "-t", "bench/st2/%i"}},
		{"fanin stomp both ends qos0", []string{"scenario", "fanin", "-proto", "stomp", "-c", "5", "-r", "200"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			prefix := "t-" + strings.ReplaceAll(tt.name, " ", "-") + "-"
			s := runBench(t, append(tt.args, "-h", mqtt, "-stomp-host", stomp, "-d", "300ms", "-prefix", prefix))
			if s.Errors != 0 || s.ConnFailed != 0 {
				t.Fatalf("errors %d, failed connections %d", s.Errors, s.ConnFailed)
			}
			if want := int64(s.Pubs + s.Subs); s.Connected != want {
				t.Fatalf("connected %d of %d", s.Connected, want)
			}
			if s.Sent == 0 || s.Expected == nil || *s.Expected == 0 {
				t.Fatalf("sent %d, expected %v: want some", s.Sent, s.Expected)
			}
			if s.Received != *s.Expected || *s.Lost != 0 {
				t.Fatalf("delivered %d of %d expected, lost %d", s.Received, *s.Expected, *s.Lost)
			}
			if s.QoS > 0 && s.Acked != s.Sent {
				t.Fatalf("QoS %d: %d acknowledged of %d sent", s.QoS, s.Acked, s.Sent)
			}
		})
	}
}
