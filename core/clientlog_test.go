package core

import (
	"fmt"
	"testing"
	"time"
)

func TestLogLimiterWindowAndSuppressedCount(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLogLimiter()
	l.now = func() time.Time { return now }
	k := SessionKey{"", "dev"}
	for i := range clientLogBurst {
		if ok, n := l.allow(k); !ok || n != 0 {
			t.Fatalf("line %d: allow = %v, %d", i, ok, n)
		}
	}
	for range 5 {
		if ok, _ := l.allow(k); ok {
			t.Fatal("line beyond the burst allowed")
		}
	}
	if ok, _ := l.allow(SessionKey{"", "other"}); !ok {
		t.Fatal("another client limited by the first")
	}
	now = now.Add(clientLogWindow)
	if ok, n := l.allow(k); !ok || n != 5 {
		t.Fatalf("after the window: allow = %v, suppressed %d, want true, 5", ok, n)
	}
	if ok, n := l.allow(k); !ok || n != 0 {
		t.Fatalf("suppressed count reported twice: %v, %d", ok, n)
	}
}

func TestLogLimiterIsBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLogLimiter()
	l.now = func() time.Time { return now }
	for i := range clientLogKeys {
		l.allow(SessionKey{"", fmt.Sprint(i)})
	}
	if ok, _ := l.allow(SessionKey{"", "one too many"}); ok {
		t.Fatal("a new key allowed with the limiter full of live windows")
	}
	now = now.Add(clientLogWindow)
	if ok, _ := l.allow(SessionKey{"", "later"}); !ok {
		t.Fatal("ended windows not swept")
	}
	if len(l.counts) != 1 {
		t.Fatalf("%d keys kept after the sweep, want 1", len(l.counts))
	}
}
