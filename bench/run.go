package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

const (
	lossTimeout    = 200 * time.Millisecond // no delivery for this long: outstanding ones are lost
	drainQuiet     = time.Second            // after publishing, wait this long without progress at most
	drainMax       = 5 * time.Second
	connectWorkers = 64
	gateMaxWindows = 40 // the flow-control gate holds at most this many -window
)

// stats are the run's counters, shared by every connection.
type stats struct {
	sent, acked, received, expected atomic.Int64
	errors, connected, connFailed   atomic.Int64
	retransmits                     atomic.Int64 // MQTT-SN messages resent
	latency                         Histogram
}

// run is one bench run: its clients, counters and the flow-control gate.
type run struct {
	o         *Options
	name      string
	subs      []*clientSpec // connected first, so no early publish is missed
	pubs      []*clientSpec
	idle      []*clientSpec
	lossKnown bool // every subscriber a publish reaches is in this run
	rate      float64
	phases    atomic.Int64 // publishers paced so far, for phase
	snWindow  int32        // QoS 1/2 publishes an MQTT-SN client leaves unacknowledged
	st        stats
	out       *reporter

	gateCap    int64
	writtenOff atomic.Int64
	gateMu     sync.Mutex
	gateCh     chan struct{}

	errMu    sync.Mutex
	errShown int
}

// noteError prints the first few connection errors; the rest are counted.
func (r *run) noteError(id string, err error) {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	if r.errShown < 5 {
		r.out.errorf("%s: %v", id, err)
	}
	r.errShown++
}

// execute connects every client, publishes for the duration, waits for
// deliveries to drain and returns the summary.
func (r *run) execute(ctx context.Context) (*Summary, error) {
	o := r.o
	r.gateCh = make(chan struct{})
	rss0, rssErr := int64(0), error(nil)
	if o.PID > 0 {
		rss0, rssErr = procRSS(o.PID)
		if rssErr != nil {
			return nil, fmt.Errorf("broker pid %d: %w", o.PID, rssErr)
		}
	}
	stopReport := make(chan struct{})
	reportDone := make(chan struct{})
	go func() {
		defer close(reportDone)
		r.out.loop(r, stopReport)
	}()
	defer func() {
		select {
		case <-stopReport:
		default:
			close(stopReport)
		}
		<-reportDone
	}()

	all := make([]*clientSpec, 0, len(r.subs)+len(r.pubs)+len(r.idle))
	all = append(append(append(all, r.subs...), r.pubs...), r.idle...)
	var cpuStart time.Duration
	if o.PID > 0 {
		cpuStart, _ = procCPU(o.PID)
	}
	connStart := time.Now()
	clients := r.connectAll(ctx, all)
	connTime := time.Since(connStart)
	defer closeAll(clients) // again after the summary: a no-op unless it returned early
	if r.st.connected.Load() == 0 {
		return nil, errors.New("no client could connect")
	}
	var rss1 int64
	if o.PID > 0 {
		rss1, _ = procRSS(o.PID)
	}
	r.setFan(clients)
	if r.lossKnown && r.rate == 0 && len(r.subs) > 0 {
		// Per subscriber, but bounded overall: with hundreds of subscribers
		// the product would only measure how deep the broker's queues go.
		r.gateCap = int64(min(o.Window*len(r.subs), gateMaxWindows*o.Window))
	}

	var cpu0 time.Duration
	if o.PID > 0 {
		cpu0, _ = procCPU(o.PID)
	}
	self0 := selfCPU()
	t0 := time.Now()
	stopPub := make(chan struct{})
	var pubWG sync.WaitGroup
	for _, c := range clients {
		if c != nil && c.role().topic != "" {
			pubWG.Add(1)
			go func() {
				defer pubWG.Done()
				c.publishLoop(stopPub, r.rate)
			}()
		}
	}
	if r.gateCap > 0 {
		pubWG.Add(1)
		go func() {
			defer pubWG.Done()
			r.gateLoop(stopPub)
		}()
	}
	var timeUp <-chan time.Time
	if o.Duration > 0 {
		tm := time.NewTimer(o.Duration)
		defer tm.Stop()
		timeUp = tm.C
	}
	select {
	case <-timeUp:
	case <-ctx.Done():
	}
	close(stopPub)
	pubWG.Wait()
	pubTime := time.Since(t0)
	lastDelivery := r.drain(ctx, clients)
	elapsed := time.Since(t0)
	recvTime := max(lastDelivery.Sub(t0), pubTime)
	close(stopReport)
	<-reportDone

	s := &Summary{
		Type: "summary", Scenario: r.name, Pubs: len(r.pubs), Subs: len(r.subs), Idle: len(r.idle),
		QoS: o.QoS, Version: o.Version, Size: o.Size,
		Seconds:   pubTime.Seconds(),
		Connected: r.st.connected.Load(), ConnFailed: r.st.connFailed.Load(),
		Sent: r.st.sent.Load(), Acked: r.st.acked.Load(), Received: r.st.received.Load(),
		Errors: r.st.errors.Load(), Retransmits: r.st.retransmits.Load(),
	}
	if len(r.pubs) > 0 {
		s.PubProto = r.pubs[0].proto
	}
	if len(r.subs) > 0 {
		s.SubProto = r.subs[0].proto
	}
	if len(r.idle) > 0 {
		s.IdleProto = r.idle[0].proto
	}
	if connTime > 0 {
		s.ConnRate = float64(s.Connected) / connTime.Seconds()
	}
	s.SendRate = float64(s.Sent) / pubTime.Seconds()
	s.RecvRate = float64(s.Received) / recvTime.Seconds()
	if r.lossKnown {
		exp := r.st.expected.Load()
		s.Expected = &exp
		lost := max(exp-s.Received, 0)
		s.Lost = &lost
	}
	h := r.st.latency.Snapshot()
	s.setLatency(h)
	if o.PID > 0 {
		if cpu1, err := procCPU(o.PID); err == nil {
			s.BrokerCPU = (cpu1 - cpu0).Seconds()
			if s.Received > 0 {
				v := s.BrokerCPU / (float64(s.Received) / 1e6)
				s.CPUPerMillion = &v
			}
		}
		if s.Connected > 0 {
			v := float64(rss1-rss0) / float64(s.Connected)
			s.RSSPerConn = &v
			s.BrokerRSS = rss1
		}
	}
	s.BenchCPU = 100 * (selfCPU() - self0).Seconds() / elapsed.Seconds()
	// Errors on the way out count too: an MQTT-SN gateway that dropped a
	// session has no DISCONNECT to answer with.
	closeAll(clients)
	s.Errors = r.st.errors.Load()
	if o.PID > 0 && len(r.pubs) == 0 && len(r.subs) == 0 && s.Connected > 0 {
		// Connections only: the broker's CPU from the first connect to
		// the last disconnect handled, per connection.
		if cpu, err := settledCPU(ctx, o.PID); err == nil {
			v := us(cpu-cpuStart) / float64(s.Connected)
			s.CPUPerConn = &v
		}
	}
	return s, nil
}

// settledCPU waits until process pid has used no more CPU for 100 ms (it
// has handled the disconnects), at most 3 s, and returns its CPU time.
func settledCPU(ctx context.Context, pid int) (time.Duration, error) {
	last, err := procCPU(pid)
	for deadline := time.Now().Add(3 * time.Second); err == nil && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return last, nil
		case <-time.After(100 * time.Millisecond):
		}
		cpu, perr := procCPU(pid)
		if perr != nil || cpu == last {
			return last, perr
		}
		last = cpu
	}
	return last, err
}

// benchClient is one simulated client, whatever protocol it speaks.
type benchClient interface {
	role() *clientSpec
	// publishLoop publishes on role().topic until stop is closed.
	publishLoop(stop <-chan struct{}, rate float64)
	// unacked is the number of publishes awaiting acknowledgement, 0 once
	// the client is closing.
	unacked() int32
	close()
}

var (
	_ benchClient = (*client)(nil)
	_ benchClient = (*snClient)(nil)
	_ benchClient = (*coapClient)(nil)
	_ benchClient = (*stompClient)(nil)
)

// open connects spec's client over its protocol. A failed connection
// returns a nil interface, never a typed nil.
func (r *run) open(ctx context.Context, spec *clientSpec) (benchClient, error) {
	switch spec.proto {
	case protoMQTTSN:
		c, err := connectSN(ctx, r, spec)
		if err != nil {
			return nil, err
		}
		return c, nil
	case protoCoAP:
		c, err := connectCoAP(ctx, r, spec)
		if err != nil {
			return nil, err
		}
		return c, nil
	case protoSTOMP:
		c, err := connectSTOMP(ctx, r, spec)
		if err != nil {
			return nil, err
		}
		return c, nil
	case protoEcho:
		c, err := connectEcho(ctx, r, spec)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	c, err := connect(ctx, r, spec)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// connectAll opens the connections at the configured rate with a bounded
// number in progress; a failed one leaves a nil entry.
func (r *run) connectAll(ctx context.Context, specs []*clientSpec) []benchClient {
	if clients, ok := r.rawConnectAll(ctx, specs); ok {
		return clients
	}
	clients := make([]benchClient, len(specs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(connectWorkers, len(specs)) {
		wg.Go(func() {
			for i := range next {
				c, err := r.open(ctx, specs[i])
				if err != nil {
					r.st.connFailed.Add(1)
					r.st.errors.Add(1)
					if ctx.Err() == nil {
						r.noteError(specs[i].id, err)
					}
					continue
				}
				clients[i] = c
				r.st.connected.Add(1)
			}
		})
	}
	start := time.Now()
	for i := range specs {
		if r.o.ConnRate > 0 {
			sleepUntil(start.Add(time.Duration(float64(i)/r.o.ConnRate*float64(time.Second))), ctx.Done())
		}
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return clients
}

// setFan works out, for each publisher, how many deliveries one publish
// should cause among the subscribers that did connect: one per matching
// ordinary subscription and one per matching shared group.
func (r *run) setFan(clients []benchClient) {
	type sub struct{ group, filter string }
	var subs []sub
	for _, c := range clients {
		if c != nil && c.role().filter != "" {
			g, f, _ := splitShare(c.role().filter)
			subs = append(subs, sub{g, f})
		}
	}
	for _, p := range r.pubs {
		if p.proto == protoEcho {
			p.fan = 1 // its own payloads come back
			continue
		}
		groups := map[string]bool{}
		p.fan = 0
		for _, s := range subs {
			if !matchFilter(s.filter, p.topic) {
				continue
			}
			if s.group == "" {
				p.fan++
			} else if !groups[s.group] {
				groups[s.group] = true
				p.fan++
			}
		}
	}
}

// drain waits after publishing stopped until every expected delivery and
// acknowledgement arrived, or nothing has happened for drainQuiet. It returns
// when the last delivery or acknowledgement was seen, so that rates are not
// diluted by the quiet wait.
func (r *run) drain(ctx context.Context, clients []benchClient) (lastChange time.Time) {
	st := &r.st
	deadline := time.Now().Add(drainMax)
	last := int64(-1)
	lastChange = time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		inflight := int64(0)
		for _, c := range clients {
			if c != nil {
				inflight += int64(c.unacked())
			}
		}
		rc := st.received.Load()
		if progress := rc + st.acked.Load(); progress != last {
			last, lastChange = progress, time.Now()
		} else if time.Since(lastChange) > drainQuiet {
			return lastChange
		}
		if inflight == 0 && (!r.lossKnown || rc >= st.expected.Load()) {
			return lastChange
		}
		sleepUntil(time.Now().Add(5*time.Millisecond), ctx.Done())
	}
	return lastChange
}

func closeAll(clients []benchClient) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, connectWorkers)
	for _, c := range clients {
		if c == nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c.close()
		})
	}
	wg.Wait()
}
