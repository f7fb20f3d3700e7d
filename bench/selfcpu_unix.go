//go:build unix

package bench

import (
	"syscall"
	"time"
)

// selfCPU returns the CPU time this process has used, to show whether the
// generator itself was near saturation.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
