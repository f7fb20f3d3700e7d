//go:build windows

package netserve

import "syscall"

// Raw socket I/O is for Unix: on Windows every connection reads and writes
// through net.Conn, with a goroutine per connection.
const RawSocketIO = false

func SysRead(int, []byte) (int, syscall.Errno) { return -1, syscall.EWINDOWS }

func SysWrite(int, []byte) (int, syscall.Errno) { return -1, syscall.EWINDOWS }
