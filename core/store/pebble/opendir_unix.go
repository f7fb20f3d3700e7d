//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package pebble

import (
	"io"
	iofs "io/fs"
	"os"
	"syscall"
)

// lockHolder returns the id of the process holding the fcntl lock Pebble
// takes on name, or 0 if it cannot tell (the holder may be in another PID
// namespace). Opening and closing name drops this process's own fcntl
// locks on it, so it is only called after another process's lock refused
// ours, when this process holds none.
func lockHolder(name string) int {
	f, err := os.Open(name)
	if err != nil {
		return 0
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil || lk.Type == syscall.F_UNLCK {
		return 0
	}
	return int(lk.Pid)
}

// writable checks that files can be created in dir. Pebble does not fail
// on a directory it cannot write to when it has a log to replay: it
// retries the flush for ever.
func writable(dir string) error {
	const wOK, xOK = 2, 1 // access(2) modes, the same on every Unix
	if err := syscall.Access(dir, wOK|xOK); err != nil {
		return &iofs.PathError{Op: "access", Path: dir, Err: err}
	}
	return nil
}
