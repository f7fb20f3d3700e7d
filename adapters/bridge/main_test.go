package bridge

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that stopped bridges leave no goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}
