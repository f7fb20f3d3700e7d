package bench

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// The floor scenario measures what loopback and the machine's scheduler
// cost on their own: each of -c connections sends -R/c stamped payloads a
// second, paced and spread as the latency scenario's publishers are, to a
// server that writes back every byte it reads (`mqgate bench echo`). No
// broker can deliver a message faster than the echo server returns it, so
// its latency percentiles are the floor under any broker's on the same
// machine.

// protoEcho is the floor scenario's protocol: raw bytes, returned as sent.
const protoEcho = "echo"

// echoClient is one floor connection: it publishes stamped payloads and
// counts each one it reads back as a delivery.
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
	c := &echoClient{r: r, nc: nc, done: make(chan struct{}),
		clientBase: clientBase{spec: spec, window: 1, acked: make(chan struct{}, 1)}}
	c.readerWG.Add(1)
	go c.readLoop()
	return c, nil
}

// readLoop reads payloads back whole, as many as one read brings.
func (c *echoClient) readLoop() {
	defer c.readerWG.Done()
	size := c.r.o.Size
	buf := make([]byte, 64*size)
	n := 0
	for {
		m, err := c.nc.Read(buf[n:])
		n += m
		if err != nil {
			c.stop()
			return
		}
		off := 0
		for ; n-off >= size; off += size {
			c.r.st.delivered(buf[off : off+size])
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

// ServeEcho runs the floor scenario's server on addr until ctx ends:
// every connection gets back each byte it sends, in order, from one
// goroutine per connection. ready, if not nil, gets the listening address.
func ServeEcho(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("echo server: %w", err)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	stopped := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		for nc := range conns {
			nc.Close()
		}
		mu.Unlock()
	})
	defer stopped()
	defer wg.Wait()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("echo server: %w", err)
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			nc.Close()
			continue
		}
		conns[nc] = struct{}{}
		mu.Unlock()
		wg.Go(func() {
			defer func() {
				mu.Lock()
				delete(conns, nc)
				mu.Unlock()
				nc.Close()
			}()
			buf := make([]byte, 4096)
			for {
				n, err := nc.Read(buf)
				if n > 0 {
					if _, werr := nc.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		})
	}
}
