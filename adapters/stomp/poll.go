package stomp

import (
	"errors"
	"io"
	"syscall"
	"time"

	"github.com/mqgate/mqgate/adapters/internal/netserve"
	"github.com/mqgate/mqgate/adapters/stomp/frame"
)

// A plain TCP connection on Linux holds no goroutine while it is idle:
// it waits in netserve's poller, and burst, run by a worker when input
// arrives, reads what is there without waiting, handles every complete
// frame and arms the connection again. A timer stands in for the read
// deadline (the CONNECT timeout, then the heart-beat grace), and an empty
// read buffer is dropped between bursts.

var errWouldBlock = errors.New("no input")

// burst serves the input that is there, then hands the connection back
// to the poller. It runs on the goroutine that owns the connection.
func (c *conn) burst() {
	for {
		err := c.readRaw()
		if errors.Is(err, errWouldBlock) {
			break
		}
		if err == nil {
			err = c.process()
		}
		if err != nil {
			c.finish(err, errors.Is(err, errDisconnect))
			return
		}
	}
	c.due = time.Time{}
	if c.client == nil {
		c.due = c.connectBy
	} else if g := c.hbGrace(); g > 0 {
		c.due = c.lastIn.Add(g)
	}
	if !c.due.IsZero() {
		d := time.Until(c.due)
		if d <= 0 {
			c.finish(c.timeout(), false)
			return
		}
		if c.timer == nil {
			c.timer = time.AfterFunc(d, c.timerFired)
		} else {
			c.timer.Reset(d)
		}
	} else if c.timer != nil {
		c.timer.Stop()
	}
	if len(c.rbuf) == 0 {
		putReadBuf(c.rbuf) // an idle connection holds no read buffer
		c.rbuf = nil
	}
	c.tc.Arm()
}

// timerFired ends an armed connection whose deadline passed. A firing
// may be late, after a burst moved the deadline or while one runs: it
// then serves the connection as a report of the poller would.
func (c *conn) timerFired() {
	if !c.tc.Take() {
		return // a burst owns the connection and sets the next deadline
	}
	if !c.due.IsZero() && !time.Now().Before(c.due) {
		c.finish(c.timeout(), false)
		return
	}
	c.burst()
}

// readRaw makes one read(2) into rbuf without waiting: errWouldBlock
// when there is no input.
func (c *conn) readRaw() error {
	if err := c.grow(); err != nil {
		return err
	}
	var n int
	var e syscall.Errno
	err := c.tc.RawConn().Read(func(fd uintptr) bool {
		n, e = netserve.SysRead(int(fd), c.rbuf[len(c.rbuf):cap(c.rbuf)])
		return true
	})
	switch {
	case err != nil:
		return err
	case e == syscall.EAGAIN:
		return errWouldBlock
	case e != 0:
		return e
	case n == 0:
		return io.EOF
	}
	c.rbuf = c.rbuf[:len(c.rbuf)+n]
	c.srv.bytes.Received(n)
	c.lastIn = time.Now()
	return nil
}

// process handles every complete frame in rbuf: CONNECT first, then the
// others.
func (c *conn) process() error {
	for {
		lim, v := &c.srv.limits, c.version
		if c.client == nil {
			lim, v = &c.srv.first, frame.V11
		}
		n, err := frame.Parse(c.rbuf, v, lim, &c.fr)
		if errors.Is(err, frame.ErrShort) {
			if n > 0 {
				c.consume(n)
			}
			return nil
		}
		if err != nil {
			var fe *frame.Error
			if errors.As(err, &fe) {
				return &errProtocol{msg: fe.Msg}
			}
			return err
		}
		if c.client == nil {
			if err := c.connect(&c.fr, n); err != nil {
				return err
			}
			continue
		}
		err = c.handle(&c.fr)
		c.consume(n)
		if err != nil {
			return err
		}
	}
}
