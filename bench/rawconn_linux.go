package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/mqgate/mqgate/adapters/mqtt/packet"
)

// epollET is EPOLLET, the same bit on every Linux architecture; the
// syscall package spells it as a negative int on some and a positive one
// on others.
const epollET = 1 << 31

// rawConnectAll opens idle MQTT connections over plain TCP from this one
// goroutine: non-blocking sockets, one epoll set, connectWorkers
// connections in progress at a time. It reports false, having done
// nothing, when specs are not all idle MQTT clients over plain TCP at an
// unlimited connect rate; connectAll then opens them as usual.
//
// The usual client costs the bench more than a broker spends accepting
// it: the net package's dial with its socket options and address
// look-ups, a reader and a writer goroutine, a read buffer and a
// timer. In a connection storm that made the bench, on its one core,
// the bottleneck, so the connect rate it measured was its own. Here a
// connection costs the bench socket, connect, epoll_ctl, write and
// read, and holding it costs nothing.
func (r *run) rawConnectAll(ctx context.Context, specs []*clientSpec) ([]benchClient, bool) {
	o := r.o
	if o.TLS || o.WS || o.ConnRate > 0 || len(specs) == 0 {
		return nil, false
	}
	for _, s := range specs {
		if s.topic != "" || s.filter != "" || s.proto != protoMQTT {
			return nil, false
		}
	}
	ta, err := net.ResolveTCPAddr("tcp", o.Addr)
	if err != nil || ta.IP == nil || ta.Zone != "" {
		// The usual path reports errors, and dials an empty host or a
		// zoned address as the net package does.
		return nil, false
	}
	family, sa := syscall.AF_INET, syscall.Sockaddr(nil)
	if ip4 := ta.IP.To4(); ip4 != nil {
		s4 := &syscall.SockaddrInet4{Port: ta.Port}
		copy(s4.Addr[:], ip4)
		sa = s4
	} else {
		s6 := &syscall.SockaddrInet6{Port: ta.Port}
		copy(s6.Addr[:], ta.IP.To16())
		family, sa = syscall.AF_INET6, s6
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, false
	}
	// Connections that succeeded stay in the set until it closes: their
	// later events are ignored, and removing each would cost a call.
	defer syscall.Close(epfd)

	type pending struct {
		i        int
		sent     bool
		deadline time.Time
		in       []byte
	}
	clients := make([]benchClient, len(specs))
	inProgress := make(map[int]*pending, connectWorkers)
	fail := func(fd int, p *pending, err error) {
		syscall.Close(fd)
		delete(inProgress, fd)
		r.st.connFailed.Add(1)
		r.st.errors.Add(1)
		if ctx.Err() == nil {
			r.noteError(specs[p.i].id, err)
		}
	}
	v := packet.Version(o.Version)
	keepAlive := uint16(max(60, min(int(o.Duration/time.Second)*2+60, 65535)))
	var out []byte
	events := make([]syscall.EpollEvent, 128)
	next := 0
	for next < len(specs) || len(inProgress) > 0 {
		for next < len(specs) && len(inProgress) < connectWorkers && ctx.Err() == nil {
			p := &pending{i: next, deadline: time.Now().Add(o.ConnectTimeout)}
			next++
			fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
			if err != nil {
				fail(-1, p, fmt.Errorf("socket: %w", err))
				continue
			}
			inProgress[fd] = p
			if err := syscall.Connect(fd, sa); err != nil && err != syscall.EINPROGRESS {
				fail(fd, p, fmt.Errorf("connect: %w", err))
				continue
			}
			ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP | epollET, Fd: int32(fd)}
			if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
				fail(fd, p, fmt.Errorf("epoll_ctl: %w", err))
			}
		}
		if ctx.Err() != nil {
			for fd, p := range inProgress {
				fail(fd, p, ctx.Err())
			}
			break
		}
		n, err := syscall.EpollWait(epfd, events, 100)
		if err != nil && err != syscall.EINTR {
			for fd, p := range inProgress {
				fail(fd, p, fmt.Errorf("epoll_wait: %w", err))
			}
			break
		}
		for _, ev := range events[:max(n, 0)] {
			fd := int(ev.Fd)
			p := inProgress[fd]
			if p == nil {
				continue // connected already
			}
			if !p.sent {
				if ev.Events&(syscall.EPOLLOUT|syscall.EPOLLERR|syscall.EPOLLHUP) == 0 {
					continue
				}
				if ev.Events&(syscall.EPOLLERR|syscall.EPOLLHUP) != 0 {
					e, _ := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
					fail(fd, p, fmt.Errorf("connect: %w", syscall.Errno(e)))
					continue
				}
				cp := packet.Packet{Type: packet.CONNECT, CleanStart: true, KeepAlive: keepAlive,
					ClientID: specs[p.i].id, Username: o.Username, HasUsername: o.Username != "",
					Password: []byte(o.Password), HasPassword: o.Password != ""}
				if out, err = packet.Append(out[:0], &cp, v); err != nil {
					fail(fd, p, err)
					continue
				}
				if w, err := syscall.Write(fd, out); err != nil || w != len(out) {
					fail(fd, p, fmt.Errorf("write CONNECT: %d of %d bytes: %v", w, len(out), err))
					continue
				}
				p.sent = true
			}
			if ev.Events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLERR|syscall.EPOLLHUP) == 0 {
				continue // CONNACK not there yet: it comes with its own event
			}
			if c, err := readConnack(fd, &p.in, v); err != nil {
				fail(fd, p, err)
			} else if c {
				delete(inProgress, fd)
				clients[p.i] = &rawIdleClient{clientBase: clientBase{spec: specs[p.i]}, r: r, fd: fd, v: v}
				r.st.connected.Add(1)
			}
		}
		now := time.Now()
		for fd, p := range inProgress {
			if now.After(p.deadline) {
				fail(fd, p, fmt.Errorf("no CONNACK within %v", o.ConnectTimeout))
			}
		}
	}
	return clients, true
}

// readConnack reads what fd holds into *in and reports whether it is a
// whole CONNACK that accepted the connection. A read that does not fill
// the buffer drained the socket, so it reads no further to learn so.
func readConnack(fd int, in *[]byte, v packet.Version) (bool, error) {
	var buf [256]byte
	for {
		n, err := syscall.Read(fd, buf[:])
		if err == syscall.EAGAIN {
			break
		}
		if err != nil {
			return false, fmt.Errorf("read CONNACK: %w", err)
		}
		if n == 0 {
			return false, errors.New("closed before CONNACK")
		}
		*in = append(*in, buf[:n]...)
		if n < len(buf) {
			break
		}
	}
	h, err := packet.ReadHeader(*in, 0)
	if errors.Is(err, packet.ErrIncomplete) || (err == nil && len(*in) < h.Len+h.Remaining) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("CONNACK: %w", err)
	}
	var p packet.Packet
	if err := packet.Decode(&p, h, (*in)[h.Len:h.Len+h.Remaining], v); err != nil {
		return false, fmt.Errorf("CONNACK: %w", err)
	}
	if p.Type != packet.CONNACK {
		return false, fmt.Errorf("%v instead of CONNACK", p.Type)
	}
	if p.ReasonCode != 0 {
		return false, fmt.Errorf("CONNACK refused: code 0x%02x", p.ReasonCode)
	}
	return true, nil
}

// rawIdleClient is an idle connection that rawConnectAll opened: a bare
// socket, held until close.
type rawIdleClient struct {
	clientBase
	r  *run
	fd int
	v  packet.Version
}

var _ benchClient = (*rawIdleClient)(nil)

func (c *rawIdleClient) publishLoop(<-chan struct{}, float64) {}

// close sends DISCONNECT and closes the socket; a broker that closed the
// connection first counts as an error, as for the usual client.
func (c *rawIdleClient) close() {
	if c.closing.Swap(true) {
		return
	}
	var b [1]byte
	if n, err := syscall.Read(c.fd, b[:]); err != syscall.EAGAIN {
		c.r.st.errors.Add(1)
		c.r.noteError(c.spec.id, fmt.Errorf("connection ended while idle (read %d bytes, %v)", n, err))
	}
	d, _ := packet.Append(nil, &packet.Packet{Type: packet.DISCONNECT}, c.v)
	syscall.Write(c.fd, d)
	syscall.Close(c.fd)
}
