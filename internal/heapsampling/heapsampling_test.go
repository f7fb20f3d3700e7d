package heapsampling

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestOffFromTheStartUntilResumed(t *testing.T) {
	if strings.Contains(os.Getenv("GODEBUG"), "memprofilerate=") {
		t.Skip("GODEBUG sets memprofilerate")
	}
	if runtime.MemProfileRate != 0 {
		t.Fatalf("MemProfileRate = %d as the test starts, want 0", runtime.MemProfileRate)
	}
	Resume()
	if runtime.MemProfileRate != defaultRate {
		t.Fatalf("MemProfileRate = %d after Resume, want %d", runtime.MemProfileRate, defaultRate)
	}
}
