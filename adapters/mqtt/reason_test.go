package mqtt

import (
	"testing"

	"github.com/mqgate/mqgate/adapters/mqtt/packet"
	"github.com/mqgate/mqgate/core"
)

// TestEveryCoreCodeHasAReasonCode: each core outcome maps to its own MQTT
// 5 reason code, failures to failures (0x80 and above).
func TestEveryCoreCodeHasAReasonCode(t *testing.T) {
	seen := map[byte]core.Code{}
	for c := core.Success; c <= core.Banned; c++ {
		r := reasonCode(c)
		if c != core.UnspecifiedError && r == packet.UnspecifiedError {
			t.Errorf("%v has no reason code of its own", c)
		}
		if c.Failed() != (r >= 0x80) {
			t.Errorf("%v (failed %v) maps to 0x%02X", c, c.Failed(), r)
		}
		if o, dup := seen[r]; dup {
			t.Errorf("%v and %v both map to 0x%02X", o, c, r)
		}
		seen[r] = c
	}
	if r := reasonCode(core.Code(200)); r != packet.UnspecifiedError {
		t.Errorf("an unknown code maps to 0x%02X", r)
	}
}
