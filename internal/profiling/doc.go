// Package profiling serves the Go runtime's profiles over HTTP for
// debug.pprof_address, at net/http/pprof's paths and with its query
// parameters, so that `go tool pprof` works against it unchanged.
//
// It does not import net/http/pprof: that package registers its handlers
// on http.DefaultServeMux when it is initialised and links its own profile
// parser, and a gateway pays for both in resident memory whether or not
// profiling is configured. What it leaves out is the delta profile
// (seconds= on a named profile such as heap): take two profiles and
// compare them with `go tool pprof -base`.
package profiling
