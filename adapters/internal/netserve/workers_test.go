package netserve

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

func (w *workers) alive() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// waitFor polls cond for up to 5 s: the workers park asynchronously.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestWorkersReuseAWaitingWorker(t *testing.T) {
	w := newWorkers()
	defer w.stop()
	done := make(chan struct{})
	for range 100 {
		w.Go(func() { done <- struct{}{} })
		<-done
		// idle is counted just before the worker waits on the channel:
		// the next task may still miss it now and then.
		waitFor(t, "a waiting worker", func() bool { return w.idle.Load() >= 1 })
		time.Sleep(100 * time.Microsecond)
	}
	if n := w.alive(); n > 10 {
		t.Fatalf("%d workers ran 100 tasks one after another", n)
	}
}

// TestWorkersGoAfterYieldReusesWorkers checks that a goroutine handing
// out long batches of tasks on one CPU keeps reusing the workers: before
// it yielded, each task after the first few found no worker waiting, and
// the workers started for them ended after the batch, past maxIdle.
func TestWorkersGoAfterYieldReusesWorkers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	w := newWorkers()
	defer w.stop()
	w.maxIdle = 8
	var wg sync.WaitGroup
	for range 20 {
		for range 50 {
			wg.Add(1)
			w.GoAfterYield(wg.Done)
		}
		wg.Wait()
	}
	w.mu.Lock()
	started := w.started
	w.mu.Unlock()
	if started > 2*int(w.maxIdle) {
		t.Fatalf("%d workers started for 20 batches of 50 tasks, with %d kept waiting", started, w.maxIdle)
	}
}

func TestWorkersKeepAtMostMaxIdle(t *testing.T) {
	w := newWorkers()
	w.maxIdle = 2
	release := make(chan struct{})
	var started sync.WaitGroup
	for range 5 {
		started.Add(1)
		w.Go(func() { started.Done(); <-release })
	}
	started.Wait()
	if n := w.alive(); n != 5 {
		t.Fatalf("%d workers for 5 blocked tasks", n)
	}
	close(release)
	waitFor(t, "surplus workers to end", func() bool { return w.alive() == 2 })
	w.stop()
	if n := w.alive(); n != 0 {
		t.Fatalf("%d workers after stop", n)
	}
}

func TestWorkersStopWaitsForBusyTasks(t *testing.T) {
	w := newWorkers()
	release := make(chan struct{})
	finished := make(chan struct{})
	w.Go(func() { <-release; close(finished) })
	stopped := make(chan struct{})
	go func() { w.stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("stop returned while a task ran")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	<-stopped
	select {
	case <-finished:
	default:
		t.Fatal("stop returned before the task finished")
	}
	// After stop a task still runs, on a goroutine of its own.
	ran := make(chan struct{})
	w.Go(func() { close(ran) })
	<-ran
}

func TestWorkersReleaseEndsWaitingWorkersOnly(t *testing.T) {
	w := newWorkers()
	release := make(chan struct{})
	w.Go(func() {})
	waitFor(t, "a waiting worker", func() bool { return w.idle.Load() == 1 })
	w.Go(func() { <-release }) // the waiting worker takes it
	w.Go(func() {})            // a second worker, which then waits
	waitFor(t, "a waiting worker", func() bool { return w.idle.Load() >= 1 })
	w.release()
	waitFor(t, "the waiting worker to end", func() bool { return w.alive() == 1 })
	close(release)
	w.stop()
	if n := w.alive(); n != 0 {
		t.Fatalf("%d workers after stop", n)
	}
}
