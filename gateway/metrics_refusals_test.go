package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
)

// TestMetricsCountConnectsTheAdaptersRefuse: connections the adapters
// refuse before they ask the core (an MQTT listener at max_connections,
// an MQTT protocol level and a STOMP version the gateway does not speak)
// each show once in mqgate_connects_refused_total under their protocol
// and reason, and none is an authentication denial.
func TestMetricsCountConnectsTheAdaptersRefuse(t *testing.T) {
	g := start(t, `{storage: {type: memory}, sys: {interval: 0s}, http: {address: "127.0.0.1:0"},
mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0", max_connections: 1}, {name: open, type: tcp, address: "127.0.0.1:0"}]},
stomp: {enabled: true, listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}}`)

	// The listener's one connection.
	if _, _, err := connect(t, g, "first", "", ""); err != nil {
		t.Fatal(err)
	}
	// MQTT 3.1.1 only: paho would try again with 3.1 after a refusal.
	second := paho3.NewClient(paho3.NewClientOptions().AddBroker("tcp://" + g.MQTTAddr("tcp").String()).SetClientID("second").
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
	if tok := second.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() == nil {
		second.Disconnect(0)
		t.Fatal("a second client connected to a listener at max_connections: 1")
	}

	// A CONNECT of protocol level 9 is refused with CONNACK 0x01.
	nc := openTCP(t, g.MQTTAddr("open").String())
	if _, err := nc.Write([]byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 9, 0x02, 0, 30, 0, 1, 'x'}); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(nc, ack); err != nil || ack[0] != 0x20 || ack[3] != 0x01 {
		t.Fatalf("CONNACK % x (%v), want return code 0x01", ack, err)
	}

	// A STOMP CONNECT that accepts only versions the gateway does not
	// speak gets an ERROR.
	sc := openTCP(t, g.Addrs("stomp")["tcp"].String())
	if _, err := sc.Write([]byte("CONNECT\naccept-version:2.0\nhost:h\n\n\x00")); err != nil {
		t.Fatal(err)
	}
	if f, err := bufio.NewReader(sc).ReadString(0); err != nil || !strings.HasPrefix(f, "ERROR\n") {
		t.Fatalf("STOMP CONNECT answered %q (%v), want ERROR", f, err)
	}

	want := map[string]float64{
		`mqgate_connects_refused_total{protocol="mqtt",reason="server_busy"}`:           1,
		`mqgate_connects_refused_total{protocol="mqtt",reason="unsupported_protocol"}`:  1,
		`mqgate_connects_refused_total{protocol="stomp",reason="unsupported_protocol"}`: 1,
	}
	var text string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		text = scrape(t, g)
		all := true
		for series, n := range want {
			all = all && metricValue(text, series) >= n
		}
		if all || time.Now().After(deadline) {
			break
		}
	}
	for series, n := range want {
		if got := metricValue(text, series); got != n {
			t.Errorf("%s = %v, want %v", series, got, n)
		}
	}
	if n := strings.Count(text, "\nmqgate_connects_refused_total{"); n != len(want) {
		t.Errorf("%d connects_refused series, want %d:\n%s", n, len(want), seriesLines(text, "mqgate_connects_refused_total{"))
	}
	if strings.Contains(text, "\nmqgate_authentication_denied_total{") {
		t.Errorf("a refusal counts as an authentication denial:\n%s", seriesLines(text, "mqgate_authentication_denied_total{"))
	}
}

// openTCP opens a TCP connection that closes when the test ends.
func openTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	return nc
}

// seriesLines returns the lines of text that start with prefix.
func seriesLines(text, prefix string) string {
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			fmt.Fprintln(&b, l)
		}
	}
	return b.String()
}
