// Package heapsampling turns the runtime's heap profile sampling off as
// the program starts, before the other packages' initialisers allocate,
// and lets a program that serves profiles turn it back on. Import it from
// a main package only: its initialiser changes runtime.MemProfileRate for
// the whole program.
//
// Sampling records a stack trace at allocations picked at random, about
// one per 512 KiB allocated, and unwinding a stack reads the executable's
// tables at places that differ from run to run. In a fresh mqgate that
// cost about 0.2 MiB of resident memory and most of the run-to-run
// spread of its RSS, for a heap profile nothing can read unless
// debug.pprof_address serves it. With sampling resumed, the heap profile
// leaves out what the package initialisers allocated.
//
// A GODEBUG=memprofilerate setting is left as it is.
package heapsampling

import "runtime"

// defaultRate is the runtime's rate unless GODEBUG sets another.
const defaultRate = 512 * 1024

// rate is the rate Resume restores: runtime.MemProfileRate as the
// program started.
var rate = runtime.MemProfileRate

func init() {
	if runtime.MemProfileRate == defaultRate {
		runtime.MemProfileRate = 0
	}
}

// Resume turns heap profile sampling back on at the rate the program
// started with. Call it once, as early as the program knows it will serve
// profiles.
func Resume() {
	runtime.MemProfileRate = rate
}
