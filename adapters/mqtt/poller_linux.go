//go:build linux

package mqtt

import (
	"fmt"
	"sync"
	"syscall"
)

// poller watches idle plain-TCP connections with one epoll set, so an
// idle connection costs no goroutine and no buffer: when one becomes
// readable, a goroutine is started to read and handle what arrived
// (conn.burst), and the connection is armed again when it has drained.
// Registrations are one-shot: a connection is reported once per arming,
// so at most one burst runs for it at a time.
type poller struct {
	epfd   int
	wakeR  int // read end of a pipe that ends wait
	wakeW  int
	mu     sync.RWMutex
	conns  map[int32]*conn
	closed bool
	done   chan struct{}
}

func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create: %w", err)
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("pipe: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p[0])}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(p[0])
		syscall.Close(p[1])
		return nil, fmt.Errorf("epoll_ctl: %w", err)
	}
	pl := &poller{epfd: epfd, wakeR: p[0], wakeW: p[1], conns: make(map[int32]*conn), done: make(chan struct{})}
	go pl.wait()
	return pl, nil
}

// arm asks for one readiness report of fd for c. The first call adds the
// descriptor, later calls re-arm it.
func (pl *poller) arm(c *conn, fd int, first bool) error {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(fd)}
	// Registration happens under mu and only while c is still armed: a
	// connection another goroutine took over (kick, keepalive, close) and
	// is finishing is never registered after its removal. Inside Control
	// the descriptor cannot be closed and its number reused meanwhile.
	var ctlErr error
	err := c.raw.Control(func(uintptr) {
		pl.mu.Lock()
		defer pl.mu.Unlock()
		switch {
		case pl.closed:
			ctlErr = errPollerClosed
		case c.state.Load() != stateArmed:
			// Its new owner finishes it.
		case first:
			pl.conns[int32(fd)] = c
			if err := syscall.EpollCtl(pl.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
				delete(pl.conns, int32(fd))
				ctlErr = fmt.Errorf("epoll_ctl: %w", err)
			}
		default:
			if err := syscall.EpollCtl(pl.epfd, syscall.EPOLL_CTL_MOD, fd, &ev); err != nil {
				ctlErr = fmt.Errorf("epoll_ctl: %w", err)
			}
		}
	})
	if err != nil {
		return err
	}
	return ctlErr
}

// remove forgets c's descriptor. The descriptor may already be closed and
// its number reused by a newer connection, whose registration stays.
func (pl *poller) remove(c *conn, fd int) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.conns[int32(fd)] == c {
		delete(pl.conns, int32(fd))
		// ENOENT when the descriptor is already closed: harmless.
		syscall.EpollCtl(pl.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	}
}

func (pl *poller) wait() {
	defer close(pl.done)
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(pl.epfd, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return
		}
		for i := 0; i < n; i++ {
			fd := events[i].Fd
			if int(fd) == pl.wakeR {
				return
			}
			pl.mu.RLock()
			c := pl.conns[fd]
			pl.mu.RUnlock()
			if c != nil && c.state.CompareAndSwap(stateArmed, stateBusy) {
				c.srv.workers.Go(c.burst)
			}
		}
	}
}

// close ends wait. Connections still registered are closed by their
// owners (Server.Stop kicks them all first).
func (pl *poller) close() {
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		return
	}
	pl.closed = true
	pl.mu.Unlock()
	syscall.Write(pl.wakeW, []byte{0})
	<-pl.done
	syscall.Close(pl.epfd)
	syscall.Close(pl.wakeR)
	syscall.Close(pl.wakeW)
}
