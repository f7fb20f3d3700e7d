// Package workqueue is the service loop of the datagram gateways (CoAP,
// MQTT-SN): clients the core notified wait in a queue until the gateway's
// one service goroutine handles them, and a ticker runs the gateway's
// retransmission and keep-alive timers on the same goroutine.
package workqueue

import (
	"sync"
	"sync/atomic"
	"time"
)

// Queue holds the clients waiting for the service goroutine.
type Queue[C any] struct {
	mu    sync.Mutex // a leaf lock: Mark may be called under the core's locks
	items []C
	wake  chan struct{}
}

// New returns an empty queue.
func New[C any]() *Queue[C] {
	return &Queue[C]{wake: make(chan struct{}, 1)}
}

// Mark queues c unless queued, its flag of being queued already, is set;
// Run's serve clears the flag before handling c.
func (q *Queue[C]) Mark(c C, queued *atomic.Bool) {
	if queued.Swap(true) {
		return
	}
	q.mu.Lock()
	q.items = append(q.items, c)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Run calls serve for each queued client as they are marked, and timers
// every tick, until stop is closed.
func (q *Queue[C]) Run(stop <-chan struct{}, tick time.Duration, serve func(C), timers func(time.Time)) {
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	var batch []C
	var zero C
	for {
		select {
		case <-stop:
			return
		case <-q.wake:
			q.mu.Lock()
			batch, q.items = q.items, batch[:0]
			q.mu.Unlock()
			for i, c := range batch {
				serve(c)
				batch[i] = zero // let a client that left go
			}
		case now := <-ticker.C:
			timers(now)
		}
	}
}

// Tick is the timer resolution for a retransmission interval: a quarter
// of it, never finer than 10 ms nor coarser than a second.
func Tick(retry time.Duration) time.Duration {
	return min(max(retry/4, 10*time.Millisecond), time.Second)
}
