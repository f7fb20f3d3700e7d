package bridge

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that stopped bridges leave no goroutine behind. A
// paho.mqtt.golang Publish caught by a connection loss may wait out the
// library's write timeout (mqtt3.go says why): that one is expected.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreAnyFunction("github.com/eclipse/paho%2emqtt%2egolang.(*client).Publish"))
}
