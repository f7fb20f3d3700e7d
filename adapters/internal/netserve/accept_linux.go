//go:build linux && !386

package netserve

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// rawListener accepts from a plain-TCP listening socket with accept4(2) as
// a raw system call and hands each connection over as an *os.File.
//
// Accepting through the net package costs, per connection, a
// setsockopt(TCP_NODELAY) and two address conversions that allocate, and
// its accept4 and setsockopt are system calls the scheduler is told of:
// the first of those after an idle spell wakes the runtime's monitor
// thread, which then polls at its shortest interval for a while. Here
// TCP_NODELAY is set once on the listening socket (accepted sockets
// inherit it), and waits, deadlines and RawConn work as for a net.Conn
// because an *os.File of a non-blocking socket is served by the runtime's
// poller too.
type rawListener struct {
	file   *os.File // a duplicate of the listening socket; the original is closed
	rc     syscall.RawConn
	op     acceptOp
	fn     func(uintptr) bool // rl.accept4, made once
	closed atomic.Bool
}

// acceptOp is the outcome of one accept4 made inside RawConn.Read.
type acceptOp struct {
	fd    int
	errno syscall.Errno
	sa    syscall.RawSockaddrAny
}

// newRawListener takes over ln's socket: ln is closed, the socket stays
// open through the returned listener.
func newRawListener(ln net.Listener) (*rawListener, error) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return nil, errors.New("not a TCP listener")
	}
	f, err := tl.File()
	if err != nil {
		return nil, fmt.Errorf("listening socket: %w", err)
	}
	rc, err := pollable(f)
	if err != nil {
		return nil, fmt.Errorf("listening socket: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	}); err != nil || serr != nil {
		f.Close()
		return nil, fmt.Errorf("listening socket TCP_NODELAY: %w", errors.Join(err, serr))
	}
	rl := &rawListener{file: f, rc: rc}
	rl.fn = rl.accept4
	ln.Close() // the duplicate keeps the socket listening
	return rl, nil
}

// accept4 makes one accept4(2) for rl.op; on EAGAIN it waits for the next
// connection.
func (rl *rawListener) accept4(fd uintptr) bool {
	op := &rl.op
	for {
		salen := uint32(unsafe.Sizeof(op.sa))
		r, _, e := syscall.RawSyscall6(syscall.SYS_ACCEPT4, fd, uintptr(unsafe.Pointer(&op.sa)), uintptr(unsafe.Pointer(&salen)),
			syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0, 0)
		switch e {
		case syscall.EINTR, syscall.ECONNABORTED:
			continue
		case syscall.EAGAIN:
			return false
		}
		op.fd, op.errno = int(r), e
		return true
	}
}

// accept returns the next connection and its peer's address. Once the
// listener is closed it returns net.ErrClosed.
func (rl *rawListener) accept() (net.Conn, netip.AddrPort, error) {
	rl.op.fd, rl.op.errno = -1, 0
	if err := rl.rc.Read(rl.fn); err != nil {
		if rl.closed.Load() {
			return nil, netip.AddrPort{}, net.ErrClosed
		}
		return nil, netip.AddrPort{}, fmt.Errorf("accept: %w", err)
	}
	if rl.op.errno != 0 {
		return nil, netip.AddrPort{}, os.NewSyscallError("accept4", rl.op.errno)
	}
	remote := sockaddrAddrPort(&rl.op.sa)
	return newSockConn(rl.op.fd, remote), remote, nil
}

func (rl *rawListener) close() error {
	rl.closed.Store(true)
	return rl.file.Close()
}

// sockaddrAddrPort converts the address accept4 filled in.
func sockaddrAddrPort(sa *syscall.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case syscall.AF_INET:
		in := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(in.Addr), port(&in.Port))
	case syscall.AF_INET6:
		in := (*syscall.RawSockaddrInet6)(unsafe.Pointer(sa))
		a := netip.AddrFrom16(in.Addr)
		if a.Is4In6() {
			a = a.Unmap()
		} else if in.Scope_id != 0 {
			a = a.WithZone(zoneName(in.Scope_id))
		}
		return netip.AddrPortFrom(a, port(&in.Port))
	}
	return netip.AddrPort{}
}

// port reads a port stored in network byte order.
func port(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// zoneName names a link-local address's zone as the net package does: by
// its interface's name, else by its index.
func zoneName(index uint32) string {
	if ifi, err := net.InterfaceByIndex(int(index)); err == nil {
		return ifi.Name
	}
	return strconv.FormatUint(uint64(index), 10)
}
