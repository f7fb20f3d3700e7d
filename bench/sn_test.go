package bench

import (
	"strings"
	"testing"

	"github.com/mqgate/mqgate/conf"
)

// startSNGateway runs mqgate with the MQTT-SN gateway on a loopback UDP
// port, QoS -1 accepted and predefined ids 10 and 11 for bench/pre/0 and
// bench/pre/1, and returns its MQTT and MQTT-SN addresses.
func startSNGateway(t *testing.T) (mqtt, sn string) {
	t.Helper()
	cfg := testConfig()
	cfg.MQTTSN.Enabled = true
	cfg.MQTTSN.Listeners = []conf.MQTTSNListener{{Name: "udp", Type: "udp", Address: "127.0.0.1:0"}}
	cfg.MQTTSN.AdvertiseInterval = 0
	cfg.MQTTSN.QoSMinusOne = true
	cfg.MQTTSN.PredefinedTopics = map[string]string{"10": "bench/pre/0", "11": "bench/pre/1"}
	g := startGateway(t, cfg)
	return g.Addrs("mqtt")["tcp"].String(), g.Addrs("mqtt-sn")["udp"].String()
}

func TestMQTTSNDeliversEverything(t *testing.T) {
	t.Parallel()
	mqtt, sn := startSNGateway(t)
	tests := []struct {
		name string
		args []string
	}{
		{"pubsub sensors to mqtt subscribers qos0", []string{"pubsub", "-pub-proto", "mqttsn", "-sub-proto", "mqtt", "-c", "4", "-subs", "2", "-r", "200", "-t", "bench/sn/%i"}},
		{"pubsub sensors to mqtt subscribers qos1 unthrottled", []string{"pubsub", "-pub-proto", "mqttsn", "-sub-proto", "mqtt", "-c", "3", "-q", "1", "-t", "bench/sn1/%i", "-window", "100"}},
		{"pubsub mqttsn both ends qos2", []string{"pubsub", "-proto", "mqttsn", "-c", "3", "-q", "2", "-r", "200", "-t", "bench/sn2/%i"}},
		{"fanin mqttsn wildcard subscriber registers topics qos1", []string{"scenario", "fanin", "-proto", "mqttsn", "-c", "5", "-q", "1", "-r", "200"}},
		{"fanout mqtt publisher to mqttsn subscribers qos1", []string{"scenario", "fanout", "-pub-proto", "mqtt", "-sub-proto", "mqttsn", "-c", "4", "-q", "1", "-r", "200"}},
		{"p2p mqttsn to mqtt qos2", []string{"scenario", "p2p", "-pub-proto", "mqttsn", "-sub-proto", "mqtt", "-c", "3", "-q", "2", "-r", "200"}},
		{"qos -1 on a short topic", []string{"pubsub", "-pub-proto", "mqttsn", "-sub-proto", "mqtt", "-q", "-1", "-t", "sn", "-c", "2", "-subs", "1", "-r", "200"}},
		{"latency on predefined topic ids", []string{"pubsub", "-proto", "mqttsn", "-sn-topic-id", "10", "-t", "bench/pre/%i", "-c", "2", "-subs", "1", "-q", "1", "-R", "400"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // every case has topics of its own
			prefix := "t-" + strings.ReplaceAll(tt.name, " ", "-") + "-"
			s := runBench(t, append(tt.args, "-h", mqtt, "-sn-host", sn, "-d", "300ms", "-prefix", prefix))
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
			if s.Samples != uint64(s.Received) || s.P99 <= 0 {
				t.Fatalf("latency: %d samples for %d deliveries, p99 %vus", s.Samples, s.Received, s.P99)
			}
			if s.QoS > 0 && s.Acked != s.Sent {
				t.Fatalf("QoS %d: %d acknowledged of %d sent", s.QoS, s.Acked, s.Sent)
			}
		})
	}
}

// A run longer than the keep alive stays connected only if the idle
// clients ping: the gateway drops a client silent for 1.5 keep alives, and
// then has no DISCONNECT to answer ours with, which counts as an error.
// Its timers tick once a second, so 3s is long enough to be sure.
func TestMQTTSNKeepAlivePings(t *testing.T) {
	t.Parallel()
	mqtt, sn := startSNGateway(t)
	s := runBench(t, []string{"conn", "-proto", "mqttsn", "-c", "3", "-sn-keepalive", "1s", "-d", "3s",
		"-h", mqtt, "-sn-host", sn, "-prefix", "t-ka-"})
	if s.Errors != 0 || s.Connected != 3 {
		t.Fatalf("errors %d, connected %d of 3", s.Errors, s.Connected)
	}
}

func TestMQTTSNPlanRefusesWhatTheProtocolCannotDo(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown protocol", []string{"pubsub", "-proto", "amqp"}, "want mqtt, mqttsn, coap or stomp"},
		{"qos -1 from mqtt publishers", []string{"pubsub", "-q", "-1"}, "MQTT-SN publishers only"},
		{"qos -1 on a registered topic", []string{"pubsub", "-proto", "mqttsn", "-q", "-1"}, "needs -sn-topic-id"},
		{"qos below -1", []string{"pub", "-proto", "mqttsn", "-q", "-2"}, "QoS is 0, 1 or 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &Options{}
			fs := newFlags(o, testWriter{t})
			if err := fs.Parse(tt.args[1:]); err != nil {
				t.Fatal(err)
			}
			_, err := plan(tt.args[0], tt.args[0], o, map[string]bool{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("plan: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestMQTTSNHostDefaultsToMQTTHostPort1884(t *testing.T) {
	o := &Options{}
	if err := newFlags(o, testWriter{t}).Parse([]string{"-proto", "mqttsn", "-h", "10.1.2.3:1883"}); err != nil {
		t.Fatal(err)
	}
	if _, err := plan("pub", "pub", o, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	if o.SNAddr != "10.1.2.3:1884" {
		t.Fatalf("-sn-host %q, want 10.1.2.3:1884", o.SNAddr)
	}
}
