package coap

import (
	"testing"

	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/mqgate/mqgate/internal/coretest"
)

// TestPublishRefusedWhenASubscriberRefusesWhenFull: a CON publish that a
// subscriber opened with RefuseWhenFull (a bridge under the outbox policy
// refuse) has no room for gets 5.03.
func TestPublishRefusedWhenASubscriberRefusesWhenFull(t *testing.T) {
	e := startEnv(t)
	coretest.FullSubscriber(t, e.broker, "refuse/#")
	c := e.coapClient()
	if code, d := post(t, c, "/ps/refuse/a", "fits", false); code != codes.Changed.String() {
		t.Fatalf("first publish: %s %q", code, d)
	}
	if code, d := post(t, c, "/ps/refuse/a", "no room", false); code != codes.ServiceUnavailable.String() {
		t.Fatalf("publish to a full refusing subscriber: %s %q, want 5.03", code, d)
	}
}
