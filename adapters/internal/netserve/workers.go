package netserve

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// workers runs a server's short-lived goroutines (handshakes, bursts of
// input, writer runs) on goroutines that outlive one task. A new goroutine
// starts on a small stack that a handshake or a disconnect grows two or
// three times, each growth a copy; a worker's stack has already grown. At
// most maxIdle workers wait for work, the rest end with their task, and the
// runtime shrinks the stacks of the waiting ones as it collects garbage.
type workers struct {
	tasks   chan func() // unbuffered: a send succeeds only to a waiting worker
	quit    chan struct{}
	maxIdle int32
	idle    atomic.Int32

	mu      sync.Mutex
	n       int // workers alive
	started int // workers started in all
	stopped bool
	done    chan struct{} // closed when stopped and n is 0
}

// newWorkers returns a pool with no worker yet.
func newWorkers() *workers {
	return &workers{
		tasks:   make(chan func()),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		maxIdle: int32(max(128, 64*runtime.GOMAXPROCS(0))),
	}
}

// Go runs f on a waiting worker, or on a new one if none waits. Once stop
// has begun, f runs on a goroutine of its own.
func (w *workers) Go(f func()) {
	if w.hand(f) {
		return
	}
	w.start(f)
}

// GoAfterYield is Go for a goroutine that hands out many tasks in a row
// (the poller): when no worker waits, it first lets the workers it gave
// work run. On one CPU they run only once the giver stops, so a long
// batch found no worker waiting after the first few, and started new ones
// that ended after it, past the idle limit, batch after batch.
func (w *workers) GoAfterYield(f func()) {
	if w.hand(f) {
		return
	}
	runtime.Gosched()
	if w.hand(f) {
		return
	}
	w.start(f)
}

// hand gives f to a waiting worker, if one waits.
func (w *workers) hand(f func()) bool {
	select {
	case w.tasks <- f:
		return true
	default:
		return false
	}
}

// start runs f on a new worker.
func (w *workers) start(f func()) {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		go f()
		return
	}
	w.n++
	w.started++
	w.mu.Unlock()
	go w.run(f)
}

func (w *workers) run(f func()) {
	defer w.exit()
	growStack()
	for {
		f()
		if w.idle.Add(1) > w.maxIdle {
			w.idle.Add(-1)
			return
		}
		select {
		case f = <-w.tasks:
			w.idle.Add(-1)
		case <-w.quit:
			w.idle.Add(-1)
			return
		}
	}
}

func (w *workers) exit() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n--; w.n == 0 && w.stopped {
		close(w.done)
	}
}

// stop ends the waiting workers and waits for the busy ones.
func (w *workers) stop() {
	w.release()
	<-w.done
}

// release ends the waiting workers; the busy ones end with their tasks.
// Tasks given after it run on goroutines of their own.
func (w *workers) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	w.stopped = true
	close(w.quit)
	if w.n == 0 {
		close(w.done)
	}
}

// stackRoom is about the stack a handshake or a disconnect needs.
const stackRoom = 14 << 10

// growStack makes a new goroutine's stack large enough for any task while
// it is still nearly empty: growing it then copies almost nothing, where
// growing it deep inside a task copies and adjusts every frame, two or
// three times over.
//
//go:noinline
func growStack() byte {
	var room [stackRoom]byte
	// An index the compiler cannot know (stackProbe is only ever read)
	// keeps the array, and the frame.
	room[stackProbe] = 1
	return room[len(room)-1-stackProbe]
}

var stackProbe = 0
