//go:build linux

package netserve

import (
	"syscall"
	"unsafe"
)

// RawSocketIO says connections may read and write with SysRead and
// SysWrite inside RawConn callbacks.
const RawSocketIO = true

// SysRead and SysWrite are read(2) and write(2) on a non-blocking socket,
// made without telling the Go scheduler a system call is under way. They
// never block, so the scheduler has nothing to hand off; and a call the
// scheduler is told of wakes its monitor thread whenever the process was
// idle, which at a few thousand messages a second doubled the broker's
// context switches. Both retry EINTR.
func SysRead(fd int, b []byte) (int, syscall.Errno) { return rawIO(syscall.SYS_READ, fd, b) }

func SysWrite(fd int, b []byte) (int, syscall.Errno) { return rawIO(syscall.SYS_WRITE, fd, b) }

func rawIO(trap uintptr, fd int, b []byte) (int, syscall.Errno) {
	if len(b) == 0 {
		return 0, 0
	}
	for {
		n, _, e := syscall.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if e != syscall.EINTR {
			return int(n), e
		}
	}
}
