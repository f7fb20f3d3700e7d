package workqueue

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type item struct {
	queued atomic.Bool
	served atomic.Int32
}

func TestMarkedOnceServedOnceUntilMarkedAgain(t *testing.T) {
	q := New[*item]()
	stop := make(chan struct{})
	served := make(chan *item, 10)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		q.Run(stop, time.Hour, func(it *item) {
			it.queued.Store(false)
			it.served.Add(1)
			served <- it
		}, func(time.Time) {})
	}()
	a := &item{}
	a.queued.Store(true) // queued already: a second Mark adds nothing
	q.Mark(a, &a.queued)
	a.queued.Store(false)
	q.Mark(a, &a.queued)
	q.Mark(a, &a.queued)
	<-served
	q.Mark(a, &a.queued)
	<-served
	close(stop)
	wg.Wait()
	if n := a.served.Load(); n != 2 {
		t.Fatalf("served %d times, want 2", n)
	}
}

func TestTick(t *testing.T) {
	for retry, want := range map[time.Duration]time.Duration{
		time.Millisecond: 10 * time.Millisecond, 2 * time.Second: 500 * time.Millisecond, time.Minute: time.Second,
	} {
		if got := Tick(retry); got != want {
			t.Errorf("Tick(%v) = %v, want %v", retry, got, want)
		}
	}
}
