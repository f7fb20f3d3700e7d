package stomp_test

import (
	"testing"

	gostomp "github.com/go-stomp/stomp/v3"
)

func TestSendReachesMQTTSubscriber(t *testing.T) {
	ts := startServer(t)
	m := connectMQTT(t, ts, "dev")
	m.sub(t, "sensors/+/temp", 1)
	s := dial(t, ts)
	if err := s.Send("sensors/k1/temp", "text/plain", []byte("21.5"), gostomp.SendOpt.Receipt); err != nil {
		t.Fatal(err)
	}
	got := m.next(t)
	if got.Topic() != "sensors/k1/temp" || string(got.Payload()) != "21.5" || got.Qos() != 1 {
		t.Fatalf("got %s %q qos %d", got.Topic(), got.Payload(), got.Qos())
	}
}

func TestMQTTPublishReachesStompSubscribers(t *testing.T) {
	ts := startServer(t)
	s := dial(t, ts)
	exact := subscribe(t, s, "a/b", gostomp.AckAuto)
	wild := subscribe(t, s, "a/#", gostomp.AckAuto)
	m := connectMQTT(t, ts, "dev")
	m.pub(t, "a/b", 1, "hello")
	for _, sub := range []*gostomp.Subscription{exact, wild} {
		got := next(t, sub)
		if got.Destination != "a/b" || string(got.Body) != "hello" || got.Header.Get("subscription") != sub.Id() {
			t.Fatalf("got %s %q on %s", got.Destination, got.Body, got.Header.Get("subscription"))
		}
	}
}

func TestHeadersTravelAsUserProperties(t *testing.T) {
	ts := startServer(t)
	s := dial(t, ts)
	sub := subscribe(t, s, "x", gostomp.AckAuto)
	p := dial(t, ts)
	err := p.Send("x", "application/json", []byte(`{}`),
		gostomp.SendOpt.Header("app", "v:1\nz"),
		// Reserved names do not reach consumers.
		gostomp.SendOpt.Header("message-id", "forged"),
		gostomp.SendOpt.Header("subscription", "forged"))
	if err != nil {
		t.Fatal(err)
	}
	got := next(t, sub)
	if got.ContentType != "application/json" || got.Header.Get("app") != "v:1\nz" {
		t.Fatalf("content-type %q, app %q", got.ContentType, got.Header.Get("app"))
	}
	if got.Header.Get("message-id") == "forged" || got.Header.Get("subscription") != sub.Id() {
		t.Fatalf("reserved headers passed through: %v", got.Header)
	}
}
