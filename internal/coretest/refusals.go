package coretest

import (
	"testing"
	"time"

	"github.com/mqgate/mqgate/core"
)

// NoRefusal is the reason of an attempt that must count nothing.
const NoRefusal = core.LastRefusal + 1

// Refusals returns b's refused connections of protocol by reason.
func Refusals(b *core.Broker, protocol string) map[core.Refusal]int64 {
	m := map[core.Refusal]int64{}
	for _, rc := range b.RefusalCounts() {
		if rc.Protocol == protocol {
			m[rc.Reason] = rc.N
		}
	}
	return m
}

// CheckRefusal runs try as the subtest name and checks that it added one
// refused connection of protocol to b's counts under want, within five
// seconds, and none under any other reason (want NoRefusal: none at all).
func CheckRefusal(t *testing.T, b *core.Broker, protocol, name string, try func(t *testing.T), want core.Refusal) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		before := Refusals(b, protocol)
		try(t)
		if want != NoRefusal {
			for deadline := time.Now().Add(5 * time.Second); Refusals(b, protocol)[want] <= before[want]; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%s not counted", want)
				}
			}
		}
		after := Refusals(b, protocol)
		for r := core.Refusal(0); r <= core.LastRefusal; r++ {
			n := before[r]
			if r == want {
				n++
			}
			if after[r] != n {
				t.Errorf("%s: %d, want %d", r, after[r], n)
			}
		}
	})
}
