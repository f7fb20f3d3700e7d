package mqtt_test

import (
	"testing"
	"time"
)

// TestTakeoverReasonReachesPahoGolang: the connection a takeover closes
// gets DISCONNECT 0x8E [MQTT-3.1.4-3] in a form paho.golang reads: it
// needs the property length after the reason code, which the spec lets a
// server leave out.
func TestTakeoverReasonReachesPahoGolang(t *testing.T) {
	ts := startServer(t)
	a := connect5(t, ts.tcp(), "taken")
	connect5(t, ts.tcp(), "taken")
	select {
	case d := <-a.serverDC:
		if d.ReasonCode != 0x8E {
			t.Fatalf("DISCONNECT reason %#x, want 0x8E", d.ReasonCode)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the client whose session was taken over saw no DISCONNECT")
	}
}
