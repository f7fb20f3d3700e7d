//go:build windows

package mqtt

import "syscall"

// Raw socket I/O is for Unix: on Windows every connection reads and writes
// through net.Conn, with a goroutine per connection.
const rawSocketIO = false

func sysRead(int, []byte) (int, syscall.Errno) { return -1, syscall.EWINDOWS }

func sysWrite(int, []byte) (int, syscall.Errno) { return -1, syscall.EWINDOWS }
