package mainstack

import "testing"

// TestGrowKeepsItsFrame: grow's frame is not optimised away, or the
// stack would not grow.
func TestGrowKeepsItsFrame(t *testing.T) {
	if got := grow(); got != 0 {
		t.Fatalf("grow() = %d, want 0: the far end of the frame is zeroed", got)
	}
	if n := testing.AllocsPerRun(10, func() { grow() }); n != 0 {
		t.Fatalf("grow allocates %v times: its array escaped to the heap", n)
	}
}
