//go:build linux && !386

package netserve

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"
)

// sockPair returns a sockConn for one end of a connected stream socket
// pair and an *os.File for the other.
func sockPair(t *testing.T) (*sockConn, *os.File) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := newSockConn(fds[0], netip.AddrPort{})
	peer := os.NewFile(uintptr(fds[1]), "peer")
	t.Cleanup(func() { s.Close(); peer.Close() })
	return s, peer
}

// fdOpen says whether fd is an open descriptor.
func fdOpen(fd int) bool {
	_, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
	return e == 0
}

// TestSockConnClosesAfterBareOperations checks that Close never closes the
// descriptor under an operation on it, and that the last operation to end
// closes it.
func TestSockConnClosesAfterBareOperations(t *testing.T) {
	s, _ := sockPair(t)
	rc, _ := s.SyscallConn()
	fd := s.fd
	var openInside bool
	closed := make(chan error)
	err := rc.Control(func(uintptr) {
		go func() { closed <- s.Close() }()
		if err := <-closed; err != nil {
			t.Errorf("close: %v", err)
		}
		openInside = fdOpen(fd)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !openInside {
		t.Fatal("descriptor closed under a Control callback")
	}
	if fdOpen(fd) {
		t.Fatal("descriptor still open after the last operation")
	}
	if !errors.Is(s.Close(), net.ErrClosed) {
		t.Fatal("second Close did not report net.ErrClosed")
	}
	for name, err := range map[string]error{
		"Control":          rc.Control(func(uintptr) { t.Error("Control ran after Close") }),
		"Read":             rc.Read(func(uintptr) bool { t.Error("Read ran after Close"); return true }),
		"Write":            rc.Write(func(uintptr) bool { t.Error("Write ran after Close"); return true }),
		"SetReadDeadline":  s.SetReadDeadline(time.Now().Add(time.Second)),
		"SetWriteDeadline": s.SetWriteDeadline(time.Now().Add(time.Second)),
	} {
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("%s after Close: %v, want net.ErrClosed", name, err)
		}
	}
}

// TestSockConnWaitsOnlyWhenItMust checks that reads and writes that need
// no wait leave the descriptor bare, and that a wait, a deadline, or a
// net.Conn Read hands it to a file that serves them.
func TestSockConnWaitsOnlyWhenItMust(t *testing.T) {
	s, peer := sockPair(t)
	rc, _ := s.SyscallConn()
	buf := make([]byte, 16)
	var n int
	var e syscall.Errno
	read := func(fd uintptr) bool {
		n, e = SysRead(int(fd), buf)
		return e != syscall.EAGAIN
	}
	peer.Write([]byte("hello"))
	if err := rc.Read(read); err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v, %v", buf[:n], e, err)
	}
	if err := rc.Write(func(fd uintptr) bool { SysWrite(int(fd), []byte("hi")); return true }); err != nil {
		t.Fatal(err)
	}
	if err := s.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	if s.file.Load() != nil {
		t.Fatal("operations that did not wait made a file")
	}

	// A read that finds nothing waits, through the file, for the input.
	go func() {
		time.Sleep(20 * time.Millisecond)
		peer.Write([]byte("later"))
	}()
	if err := rc.Read(read); err != nil || string(buf[:n]) != "later" {
		t.Fatalf("waiting read %q, %v, %v", buf[:n], e, err)
	}
	if s.file.Load() == nil {
		t.Fatal("a read that waited made no file")
	}

	// Deadlines apply from then on.
	s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := s.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past its deadline: %v", err)
	}
}

// TestSockConnDeadlineMakesFile checks that setting a deadline on a bare
// descriptor hands it to a file, so the deadline holds for a later wait.
func TestSockConnDeadlineMakesFile(t *testing.T) {
	s, _ := sockPair(t)
	s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	rc, _ := s.SyscallConn()
	err := rc.Read(func(fd uintptr) bool {
		_, e := SysRead(int(fd), make([]byte, 1))
		return e != syscall.EAGAIN
	})
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past its deadline: %v", err)
	}
}

// TestSockConnCloseEndsWait checks that Close ends a read waiting for
// input, and closes the descriptor.
func TestSockConnCloseEndsWait(t *testing.T) {
	s, _ := sockPair(t)
	fd := s.fd
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 1))
		done <- err
	}()
	for s.file.Load() == nil {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond) // let the read wait
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read after Close succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the waiting read")
	}
	if fdOpen(fd) {
		t.Fatal("descriptor still open after Close")
	}
}

// TestSockConnControlInsideFileCallback checks that a Control made inside
// a callback of the file, while the connection is being closed, leaves
// the close to the file: a bare reference released last there would
// close the file under the callback it runs in, and wait for it forever.
func TestSockConnControlInsideFileCallback(t *testing.T) {
	s, peer := sockPair(t)
	rc, _ := s.SyscallConn()
	s.SetReadDeadline(time.Now().Add(time.Hour)) // hands it to a file
	peer.Write([]byte("x"))
	done := make(chan error, 1)
	go func() {
		done <- rc.Read(func(uintptr) bool {
			rc.Control(func(uintptr) {
				go s.Close()
				time.Sleep(20 * time.Millisecond) // Close runs meanwhile
			})
			return true
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a Control inside a file callback hung with a Close under way")
	}
}
