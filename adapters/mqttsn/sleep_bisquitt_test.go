//go:build !race

// bisquitt's sleep transaction races on its own timer field (its
// receive loop reads what its AfterFunc writes), so this test runs only
// without the race detector; TestSleepingClientWakesAndGetsQueuedMessages
// covers the same exchange with the raw client under -race.

package mqttsn

import (
	"fmt"
	"testing"
	"time"

	snclient "github.com/energomonitor/bisquitt/client"
)

func TestBisquittSleepingClientGetsQueuedMessages(t *testing.T) {
	e := startEnv(t)
	pub := e.mqttClient("paho-pub")
	c, ch := e.snClient(snclient.ClientConfig{ClientID: "sleeper", CleanSession: false, KeepAlive: 30 * time.Second}, e.snAddr)
	if err := c.Subscribe("sleep/#", 1, handler(ch)); err != nil {
		t.Fatal(err)
	}
	slept := make(chan error, 1)
	go func() { slept <- c.Sleep(time.Second) }()
	waitFor(t, "client asleep", func() bool { return e.clientState("sleeper") == stateAsleep })
	for i := range 3 {
		e.mqttPublish(pub, fmt.Sprintf("sleep/%d", i), byte(i%2), false, fmt.Sprintf("z%d", i))
	}
	if err := recv(t, slept, "wake-up and PINGRESP"); err != nil {
		t.Fatalf("Sleep: %v", err)
	}
	// Everything queued was delivered before the PINGRESP that ended
	// Sleep; handlers run on their own goroutines.
	got := map[string]string{}
	for range 3 {
		m := recv(t, ch, "queued message")
		got[m.topic] = m.payload
	}
	for i := range 3 {
		if got[fmt.Sprintf("sleep/%d", i)] != fmt.Sprintf("z%d", i) {
			t.Fatalf("got %v", got)
		}
	}
}
