//go:build linux && !386

package netserve

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// sockConn is an accepted plain-TCP connection held as a bare descriptor
// until something has to wait on it. Most connections never wait: the
// server's poller watches them while idle, and their reads and writes
// are non-blocking system calls that find input there or room to write.
// Such a connection costs no registration with the runtime's poller (an
// epoll_ctl to add and one to remove, and an fcntl), no finalizer and no
// *os.File.
//
// The first operation that has to wait (a read or write that would
// block, a deadline, a Read or Write of net.Conn) hands the descriptor to
// an *os.File, which serves every wait and deadline from then on, as for
// a *net.TCPConn.
//
// Closing must never close the descriptor under a system call still
// using it, or one made on a newer connection that got the same number.
// Operations on the bare descriptor therefore hold a reference: state
// counts them, and its closed bit, once set, refuses new ones; whoever
// brings the count to zero after that closes the descriptor, or the file
// if there is one. So Close may return before the descriptor is closed,
// and the last bare operation, on whichever goroutine, closes it: with a
// file, os.File.Close waits there for the file's operations under way.
// Operations through the file are the file's to order against its Close.
// Only a goroutine that found no file takes a bare reference, so none
// holds one inside a callback of the file.
//
// As for an *os.File or a net.Conn, a callback of one of its operations
// must not close the connection: the file's Close would wait for the
// callback that called it.
type sockConn struct {
	fd     int
	remote netip.AddrPort
	state  atomic.Uint64 // sockClosed | operations on the bare descriptor

	mu   sync.Mutex // serializes the hand-over to a file
	file atomic.Pointer[sockFile]
}

// sockFile is the *os.File a descriptor was handed to, with its RawConn.
type sockFile struct {
	f  *os.File
	rc syscall.RawConn
}

const sockClosed = 1 << 63

// sockRaw is sockConn's syscall.RawConn.
type sockRaw sockConn

func newSockConn(fd int, remote netip.AddrPort) *sockConn {
	return &sockConn{fd: fd, remote: remote}
}

// acquire takes a reference to the bare descriptor; false once closed.
func (s *sockConn) acquire() bool {
	for {
		v := s.state.Load()
		if v&sockClosed != 0 {
			return false
		}
		if s.state.CompareAndSwap(v, v+1) {
			return true
		}
	}
}

// release drops a reference and closes the socket if it was the last one
// after Close.
func (s *sockConn) release() {
	if s.state.Add(^uint64(0)) == sockClosed {
		s.closeNow()
	}
}

// Close closes the socket once no operation on the bare descriptor is
// under way; waits through the file end with an error.
func (s *sockConn) Close() error {
	for {
		v := s.state.Load()
		if v&sockClosed != 0 {
			return net.ErrClosed
		}
		if s.state.CompareAndSwap(v, v|sockClosed) {
			if v == 0 {
				s.closeNow()
			}
			return nil
		}
	}
}

// closeNow closes the file if the descriptor went to one, else the
// descriptor. It runs once: after Close, when no reference is left.
func (s *sockConn) closeNow() {
	// No reference is left, so no toFile runs.
	if sf := s.file.Load(); sf != nil {
		sf.f.Close()
		return
	}
	syscall.Close(s.fd)
}

// toFile returns the file that serves waits, handing the descriptor to it
// the first time. The caller holds a reference, so the descriptor is
// open.
func (s *sockConn) toFile() (*sockFile, error) {
	if sf := s.file.Load(); sf != nil {
		return sf, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sf := s.file.Load(); sf != nil {
		return sf, nil
	}
	// The file owns the descriptor from now on, even if the runtime's
	// poller refused it: then its waits fail, and closing closes it.
	f := os.NewFile(uintptr(s.fd), "tcp")
	rc, err := f.SyscallConn() // fails only for a closed file
	sf := &sockFile{f: f, rc: rc}
	s.file.Store(sf)
	if err != nil {
		return nil, fmt.Errorf("socket as a file: %w", err)
	}
	// A deadline fails on a file the runtime's poller did not take.
	if err := f.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("socket to the runtime's poller: %w", err)
	}
	return sf, nil
}

// waiter returns the file, for an operation that has to wait or set a
// deadline.
func (s *sockConn) waiter() (*sockFile, error) {
	if sf := s.file.Load(); sf != nil {
		return sf, nil
	}
	if !s.acquire() {
		return nil, net.ErrClosed
	}
	defer s.release()
	return s.toFile()
}

func (s *sockConn) SyscallConn() (syscall.RawConn, error) { return (*sockRaw)(s), nil }

// Control runs f with the descriptor, which stays open meanwhile.
func (r *sockRaw) Control(f func(fd uintptr)) error {
	s := (*sockConn)(r)
	if sf := s.file.Load(); sf != nil {
		// Once there is a file, every operation goes through it: a bare
		// reference taken inside one of the file's callbacks could be
		// the last, and its release would close the file under that
		// callback.
		if sf.rc == nil {
			return net.ErrClosed
		}
		return sf.rc.Control(f)
	}
	if !s.acquire() {
		return net.ErrClosed
	}
	defer s.release()
	f(uintptr(s.fd))
	return nil
}

// Read calls f with the descriptor until f returns true. While f returns
// true the first time, nothing waits and nothing goes to the runtime's
// poller; after a false, the file waits for readability and calls f again,
// within the read deadline.
func (r *sockRaw) Read(f func(fd uintptr) bool) error {
	return (*sockConn)(r).rawOp(f, true)
}

// Write is Read's counterpart for writing.
func (r *sockRaw) Write(f func(fd uintptr) bool) error {
	return (*sockConn)(r).rawOp(f, false)
}

func (s *sockConn) rawOp(f func(fd uintptr) bool, read bool) error {
	if sf := s.file.Load(); sf != nil {
		return sf.op(f, read)
	}
	if !s.acquire() {
		return net.ErrClosed
	}
	if f(uintptr(s.fd)) {
		s.release()
		return nil
	}
	sf, err := s.toFile()
	s.release()
	if err != nil {
		return err
	}
	return sf.op(f, read)
}

func (sf *sockFile) op(f func(fd uintptr) bool, read bool) error {
	if sf.rc == nil {
		return net.ErrClosed
	}
	if read {
		return sf.rc.Read(f)
	}
	return sf.rc.Write(f)
}

func (s *sockConn) Read(b []byte) (int, error) {
	sf, err := s.waiter()
	if err != nil {
		return 0, err
	}
	return sf.f.Read(b)
}

func (s *sockConn) Write(b []byte) (int, error) {
	sf, err := s.waiter()
	if err != nil {
		return 0, err
	}
	return sf.f.Write(b)
}

// SetDeadline and its two variants hand the descriptor to the file, except
// to clear a deadline that was never set.
func (s *sockConn) SetDeadline(t time.Time) error {
	return s.setDeadline(t, (*os.File).SetDeadline)
}

func (s *sockConn) SetReadDeadline(t time.Time) error {
	return s.setDeadline(t, (*os.File).SetReadDeadline)
}

func (s *sockConn) SetWriteDeadline(t time.Time) error {
	return s.setDeadline(t, (*os.File).SetWriteDeadline)
}

func (s *sockConn) setDeadline(t time.Time, set func(*os.File, time.Time) error) error {
	if t.IsZero() && s.file.Load() == nil {
		return nil
	}
	sf, err := s.waiter()
	if err != nil {
		return err
	}
	return set(sf.f, t)
}

func (s *sockConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(s.remote) }

func (s *sockConn) LocalAddr() net.Addr {
	var sa syscall.Sockaddr
	(*sockRaw)(s).Control(func(fd uintptr) { sa, _ = syscall.Getsockname(int(fd)) })
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)))
	case *syscall.SockaddrInet6:
		return net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port)))
	}
	return &net.TCPAddr{}
}

// setKeepAlive turns on TCP keep-alive probes as
// net.KeepAliveConfig{Enable: true} does: 15 s idle, 15 s apart, 9 of them.
func (s *sockConn) setKeepAlive() error {
	var serr error
	idle := int((15 * time.Second).Seconds())
	if err := (*sockRaw)(s).Control(func(fd uintptr) {
		for _, o := range [...]struct{ level, opt, v int }{
			{syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1},
			{syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, idle},
			{syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, idle},
			{syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, 9},
		} {
			if serr = syscall.SetsockoptInt(int(fd), o.level, o.opt, o.v); serr != nil {
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}
