//go:build linux

package netserve

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// poller watches idle plain-TCP connections with one epoll set, so an
// idle connection costs no goroutine and no buffer: when one becomes
// readable, a worker runs its Stream's Readable, which reads and handles
// what arrived and arms the connection again when it has drained.
// Registrations are one-shot: a connection is reported once per arming,
// so at most one burst runs for it at a time.
//
// The epoll set is itself waited on through the runtime's poller, and
// every epoll call is a raw system call: the poller never blocks a thread
// in a system call. A thread blocked in epoll_wait had its P taken by the
// runtime's monitor, which then kept polling at its shortest interval and
// handed Ps between threads on every wake-up.
type poller struct {
	epfd   int
	file   *os.File // owns epfd
	raw    syscall.RawConn
	mu     sync.RWMutex
	conns  []*Conn // by descriptor: descriptors are small numbers, reused first
	closed bool    // close was called
	dead   bool    // wait ended: nothing is served any more
	done   chan struct{}
}

// sweep is how often the poller reads its epoll set even without a
// readiness report: a report the kernel failed to pass up from the
// nested set delays input by at most this much.
const sweep = 10 * time.Second

func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create: %w", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("epoll set non-blocking: %w", err)
	}
	f := os.NewFile(uintptr(epfd), "epoll")
	raw, err := pollable(f)
	if err != nil {
		return nil, fmt.Errorf("epoll set: %w", err)
	}
	pl := &poller{epfd: epfd, file: f, raw: raw, done: make(chan struct{})}
	go pl.wait()
	return pl, nil
}

// epollCtl is epoll_ctl(2) as a raw system call: it never blocks.
func epollCtl(epfd, op, fd int, ev *syscall.EpollEvent) error {
	_, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// epollReady is epoll_pwait(2) with a zero timeout as a raw system call.
func epollReady(epfd int, events []syscall.EpollEvent) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	return int(n), e
}

// arm asks for one readiness report of c's descriptor. The caller has
// just put c in stateArmed (Conn.Arm) and so given it up: another goroutine (a late
// timer firing, a kick, a report once the descriptor is armed) may own it
// by now. If arming fails, c is finished.
func (pl *poller) arm(c *Conn) {
	// Registration happens under mu and only while c is still armed: a
	// connection another goroutine took over is never registered after
	// its removal. Inside Control the descriptor cannot be closed and its
	// number reused meanwhile.
	if err := c.raw.Control(c.armFn); err != nil {
		c.armFailed(err)
	}
}

// armFD arms c's descriptor inside RawConn.Control: it adds the
// descriptor to the set the first time, and re-arms it after that. It
// reads only what does not change once a connection is polled (its
// server and descriptor), since c may have a new owner already, and
// touches nothing of c after the epoll_ctl that arms it.
func (c *Conn) armFD(uintptr) {
	pl, fd := c.l.srv.poller, int(c.fd)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(fd)}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	switch {
	case pl.closed || pl.dead:
		c.armFailed(errPollerClosed)
	case c.state.Load() != stateArmed:
		// Its new owner serves or finishes it.
	case pl.lookup(fd) != c:
		pl.set(fd, c)
		if err := epollCtl(pl.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			pl.conns[fd] = nil
			c.armFailed(fmt.Errorf("epoll_ctl: %w", err))
		}
	default:
		if err := epollCtl(pl.epfd, syscall.EPOLL_CTL_MOD, fd, &ev); err != nil {
			c.armFailed(fmt.Errorf("epoll_ctl: %w", err))
		}
	}
}

// remove forgets c's descriptor; the connection closes it next. Closing
// takes it out of the epoll set, so there is no EPOLL_CTL_DEL: a report
// that comes in between finds no connection and is dropped. The
// descriptor may already be closed and its number reused by a newer
// connection, whose registration stays.
func (pl *poller) remove(c *Conn, fd int) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.lookup(fd) == c {
		pl.conns[fd] = nil
	}
}

// lookup returns the connection registered with descriptor fd, if any
// (under mu).
func (pl *poller) lookup(fd int) *Conn {
	if fd < 0 || fd >= len(pl.conns) {
		return nil
	}
	return pl.conns[fd]
}

// set registers c with descriptor fd (under mu, locked).
func (pl *poller) set(fd int, c *Conn) {
	if fd >= len(pl.conns) {
		grown := make([]*Conn, max(fd+1, 2*len(pl.conns), 1024))
		copy(grown, pl.conns)
		pl.conns = grown
	}
	pl.conns[fd] = c
}

func (pl *poller) wait() {
	defer func() {
		pl.mu.Lock()
		pl.dead = true
		pl.mu.Unlock()
		close(pl.done)
	}()
	events := make([]syscall.EpollEvent, 256)
	pl.file.SetReadDeadline(time.Now().Add(sweep))
	var n int
	var e syscall.Errno
	// The epoll set reads as readable while it holds events; the runtime's
	// poller reports when it becomes so (edge-triggered), so the set is
	// read until empty before waiting.
	ready := func(fd uintptr) bool {
		for {
			if n, e = epollReady(int(fd), events); e != syscall.EINTR {
				return n > 0 || e != 0
			}
		}
	}
	for {
		n, e = 0, 0
		err := pl.raw.Read(ready)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			pl.file.SetReadDeadline(time.Now().Add(sweep))
			continue
		}
		if err != nil || e != 0 {
			return // closed
		}
		for i := 0; i < n; i++ {
			pl.mu.RLock()
			c := pl.lookup(int(events[i].Fd))
			pl.mu.RUnlock()
			if c != nil && c.state.CompareAndSwap(stateArmed, stateBusy) {
				c.l.srv.workers.GoAfterYield(c.readyFn)
			}
		}
	}
}

// close ends wait. Connections still registered are closed by their
// owners (Server.Stop stops their streams first).
func (pl *poller) close() {
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		return
	}
	pl.closed = true
	pl.mu.Unlock()
	pl.file.Close() // ends the wait's read
	<-pl.done
}
