// Package dtlstest holds what the DTLS tests of the datagram gateways
// share: a client socket that changes its source port mid-session, the
// opening ClientHello of a pion client, and a flood of them from many
// source addresses.
package dtlstest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
)

// RebindingConn is a client socket whose source port can change
// mid-session, as behind a NAT that rebinds: Rebind opens a new socket
// and closes the old one.
type RebindingConn struct {
	mu  sync.Mutex
	cur *net.UDPConn
	rdl time.Time
}

// NewRebindingConn opens a RebindingConn on 127.0.0.1.
func NewRebindingConn(t testing.TB) *RebindingConn {
	t.Helper()
	s, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return &RebindingConn{cur: s}
}

func (c *RebindingConn) socket() (*net.UDPConn, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur, c.rdl
}

// ReadFrom reads from the current socket, moving to the new one when a
// rebinding ends a read.
func (c *RebindingConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		s, dl := c.socket()
		s.SetReadDeadline(dl)
		n, a, err := s.ReadFrom(b)
		if err != nil {
			if now, _ := c.socket(); now != s {
				continue
			}
		}
		return n, a, err
	}
}

// WriteTo writes from the current socket.
func (c *RebindingConn) WriteTo(b []byte, a net.Addr) (int, error) {
	s, _ := c.socket()
	return s.WriteTo(b, a)
}

// Rebind moves the conn to a new source port and returns the old and new
// local addresses.
func (c *RebindingConn) Rebind(t testing.TB) (before, after string) {
	t.Helper()
	s, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	old := c.cur
	c.cur = s
	c.mu.Unlock()
	old.Close()
	return old.LocalAddr().String(), s.LocalAddr().String()
}

// Close closes the current socket.
func (c *RebindingConn) Close() error {
	s, _ := c.socket()
	return s.Close()
}

// LocalAddr is the current socket's address.
func (c *RebindingConn) LocalAddr() net.Addr {
	s, _ := c.socket()
	return s.LocalAddr()
}

// SetDeadline sets the read deadline.
func (c *RebindingConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

// SetReadDeadline bounds reads, on this socket and the next.
func (c *RebindingConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.rdl = t
	s := c.cur
	c.mu.Unlock()
	return s.SetReadDeadline(t)
}

// SetWriteDeadline is a no-op: datagram writes do not block.
func (c *RebindingConn) SetWriteDeadline(time.Time) error { return nil }

// ClientHello captures the opening ClientHello of a pion client set up
// with opts.
func ClientHello(t testing.TB, opts ...dtls.ClientOption) []byte {
	t.Helper()
	s, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	dc, err := dtls.ClientWithOptions(pc, s.LocalAddr(), opts...)
	if err != nil {
		pc.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		dc.HandshakeContext(ctx)
	}()
	buf := make([]byte, 2048)
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := s.ReadFrom(buf)
	cancel()
	<-done
	dc.Close()
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

// Flood sends each datagram in dgs from n distinct source addresses, spread
// over 127.0.0.2 to 127.0.0.33, each from a fresh socket, as a sender that
// spoofs its source would.
func Flood(to net.Addr, n int, dgs ...[]byte) error {
	for i := range n {
		ip := net.IPv4(127, 0, 0, byte(2+i%32))
		s, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			return fmt.Errorf("flood source %d: %w", i, err)
		}
		for _, d := range dgs {
			if _, err = s.WriteTo(d, to); err != nil {
				break
			}
		}
		s.Close()
		if err != nil {
			return fmt.Errorf("flood source %d: %w", i, err)
		}
	}
	return nil
}
