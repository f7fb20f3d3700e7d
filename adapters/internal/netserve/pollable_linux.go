//go:build linux

package netserve

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

// pollable returns f's RawConn once it is sure the runtime's poller took
// f: only then do its waits and deadlines work. On failure f is closed.
func pollable(f *os.File) (syscall.RawConn, error) {
	if err := f.SetDeadline(time.Time{}); err != nil {
		f.Close()
		return nil, fmt.Errorf("not pollable: %w", err)
	}
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return raw, nil
}
