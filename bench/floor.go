package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// The floor scenario measures what loopback and the machine's scheduler
// cost on their own, in the latency scenario's shape: -c publisher
// connections send -R stamped payloads a second in all, paced and spread
// as its publishers are, and a relay (`mqgate-bench echo`) writes what
// each one sends to its own subscriber connection, doing nothing else. No
// broker delivers a message faster than that relay, so its latency
// percentiles are the floor under any broker's on the same machine.
//
// Each floor connection opens with a 5-byte hello: its role ('p' or 's')
// and its pair's index, big endian.

// protoEcho is the floor scenario's protocol: raw bytes, relayed as sent.
const protoEcho = "echo"

const helloLen = 5

// relayTimeout is how long a publisher waits for its subscriber; a
// variable for the tests.
var relayTimeout = 10 * time.Second

// echoClient is one floor connection. A subscriber counts each payload it
// reads as a delivery; a publisher writes stamped payloads.
type echoClient struct {
	clientBase
	r        *run
	nc       net.Conn
	done     chan struct{}
	once     sync.Once
	readerWG sync.WaitGroup
}

var _ benchClient = (*echoClient)(nil)

func connectEcho(ctx context.Context, r *run, spec *clientSpec) (*echoClient, error) {
	d := net.Dialer{Timeout: r.o.ConnectTimeout}
	nc, err := d.DialContext(ctx, "tcp", r.o.Addr)
	if err != nil {
		return nil, err
	}
	hello := [helloLen]byte{'p'}
	if spec.filter != "" {
		hello[0] = 's'
	}
	binary.BigEndian.PutUint32(hello[1:], uint32(spec.index))
	if _, err := nc.Write(hello[:]); err != nil {
		nc.Close()
		return nil, err
	}
	c := &echoClient{r: r, nc: nc, done: make(chan struct{}),
		clientBase: clientBase{spec: spec, window: 1, acked: make(chan struct{}, 1)}}
	c.readerWG.Add(1)
	go c.readLoop()
	return c, nil
}

// readLoop reads payloads whole, as many as one read brings; on a
// publisher it only notices the end of the connection.
func (c *echoClient) readLoop() {
	defer c.readerWG.Done()
	size := c.r.o.Size
	buf := make([]byte, 64*size)
	n := 0
	for {
		m, err := c.nc.Read(buf[n:])
		n += m
		if err != nil {
			if !c.closing.Load() {
				c.r.st.errors.Add(1)
				c.r.noteError(c.spec.id, err)
			}
			c.stop()
			return
		}
		off := 0
		if c.spec.filter != "" {
			for ; n-off >= size; off += size {
				c.r.st.delivered(buf[off : off+size])
			}
		} else {
			off = n
		}
		n = copy(buf, buf[off:n])
	}
}

// publishLoop writes one payload per message due, with one write per
// batch.
func (c *echoClient) publishLoop(stop <-chan struct{}, rate float64) {
	size := c.r.o.Size
	zeros := make([]byte, size)
	var out []byte
	c.r.publishLoop(stop, c.done, c.acked, rate, func(want int64) (int64, int, bool) {
		out = out[:0]
		for range want {
			out = append(out, zeros...)
			stamp(out[len(out)-size:])
		}
		if _, err := c.nc.Write(out); err != nil {
			c.stop()
			return 0, blockedNot, false
		}
		c.r.st.expected.Add(want)
		return want, blockedNot, true
	})
}

func (c *echoClient) stop() { c.once.Do(func() { close(c.done) }) }

func (c *echoClient) close() {
	c.closing.Store(true)
	c.stop()
	c.nc.Close()
	c.readerWG.Wait()
}

// relay pairs the floor scenario's connections by index and copies what
// each publisher sends to its subscriber.
type relay struct {
	mu    sync.Mutex
	subs  map[uint32]net.Conn
	ready *sync.Cond // signalled when a subscriber arrives or the relay stops
	done  bool
	conns map[net.Conn]struct{}
}

// ServeEcho runs the floor scenario's relay on addr until ctx ends, one
// goroutine per connection. ready, if not nil, gets the listening address.
func ServeEcho(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("echo server: %w", err)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	rl := &relay{subs: map[uint32]net.Conn{}, conns: map[net.Conn]struct{}{}}
	rl.ready = sync.NewCond(&rl.mu)
	var wg sync.WaitGroup
	shut := func() {
		ln.Close()
		rl.mu.Lock()
		rl.done = true
		for nc := range rl.conns {
			nc.Close()
		}
		rl.ready.Broadcast()
		rl.mu.Unlock()
	}
	stopped := context.AfterFunc(ctx, shut)
	defer func() {
		if stopped() {
			shut() // an accept error ends the relay, not ctx
		}
		wg.Wait()
	}()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("echo server: %w", err)
		}
		rl.mu.Lock()
		if rl.done {
			rl.mu.Unlock()
			nc.Close()
			continue
		}
		rl.conns[nc] = struct{}{}
		rl.mu.Unlock()
		wg.Go(func() {
			defer rl.forget(nc)
			rl.serve(nc)
		})
	}
}

func (rl *relay) forget(nc net.Conn) {
	rl.mu.Lock()
	delete(rl.conns, nc)
	rl.mu.Unlock()
	nc.Close()
}

// serve reads a connection's hello, then relays a publisher's bytes to its
// subscriber, or holds a subscriber until it closes.
func (rl *relay) serve(nc net.Conn) {
	var hello [helloLen]byte
	nc.SetReadDeadline(time.Now().Add(relayTimeout))
	if _, err := io.ReadFull(nc, hello[:]); err != nil {
		return
	}
	nc.SetReadDeadline(time.Time{})
	index := binary.BigEndian.Uint32(hello[1:])
	switch hello[0] {
	case 's':
		rl.mu.Lock()
		rl.subs[index] = nc
		rl.ready.Broadcast()
		rl.mu.Unlock()
		io.Copy(io.Discard, nc) // until the subscriber closes
		rl.mu.Lock()
		if rl.subs[index] == nc {
			delete(rl.subs, index)
		}
		rl.mu.Unlock()
	case 'p':
		sub := rl.await(index)
		if sub == nil {
			return
		}
		buf := make([]byte, 4096)
		for {
			n, err := nc.Read(buf)
			if n > 0 {
				if _, werr := sub.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
}

// await returns the subscriber of pair index once it has connected, or
// nil if it does not within relayTimeout or the relay stops.
func (rl *relay) await(index uint32) net.Conn {
	timedOut := false // guarded by rl.mu
	t := time.AfterFunc(relayTimeout, func() {
		rl.mu.Lock()
		timedOut = true
		rl.ready.Broadcast()
		rl.mu.Unlock()
	})
	defer t.Stop()
	rl.mu.Lock()
	defer rl.mu.Unlock()
	for {
		if sub := rl.subs[index]; sub != nil {
			return sub
		}
		if rl.done || timedOut {
			return nil
		}
		rl.ready.Wait()
	}
}
