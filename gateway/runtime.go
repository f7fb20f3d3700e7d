package gateway

import (
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/mqgate/mqgate/conf"
)

// tuneRuntime applies the runtime section: the collector's target and the
// soft memory limit, each unless its environment variable (GOGC,
// GOMEMLIMIT) is set, which the Go runtime has applied already.
func tuneRuntime(c conf.RuntimeConfig, log *slog.Logger) {
	if v, set := os.LookupEnv("GOGC"); set {
		log.Debug("runtime.gc_percent left to GOGC", "GOGC", v)
	} else {
		debug.SetGCPercent(c.GCPercent)
	}
	if v, set := os.LookupEnv("GOMEMLIMIT"); set {
		log.Debug("runtime.memory_limit left to GOMEMLIMIT", "GOMEMLIMIT", v)
	} else if c.MemoryLimit > 0 {
		debug.SetMemoryLimit(int64(c.MemoryLimit))
	}
}
