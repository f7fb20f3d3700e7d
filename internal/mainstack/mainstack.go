// Package mainstack grows the main goroutine's stack to 32 KiB as the
// program starts, before the other packages' initialisers run. Import it
// for that effect alone, from a main package.
//
// A goroutine's stack starts small and doubles when a call needs more;
// each doubling copies the stack and walks every frame on it through the
// executable's unwinding tables. The package initialisers (encoding/gob's
// and the regexps some packages compile), reading the configuration and
// opening the store grow the main goroutine's stack deep inside calls,
// and those walks read the tables at places an idle gateway never reads
// again: about 0.25 MiB of a fresh mqgate's resident memory. Grown here,
// with a handful of frames on the stack, the copy walks almost nothing.
// netserve's workers grow their stacks early for the same reason.
package mainstack

// room is about the stack the initialisers and the gateway's start need:
// a frame this large makes the runtime give the goroutine a 32 KiB stack.
// (At 14 KiB it got 16 KiB, and the start still grew it to 32 KiB with
// about 14 KiB of frames on it: 0.15 MiB more resident.)
const room = 18 << 10

func init() { grow() }

// grow needs a frame of room bytes.
//
//go:noinline
func grow() byte {
	var b [room]byte
	// An index the compiler cannot know (probe is only ever read) keeps
	// the array, and the frame.
	b[probe] = 1
	return b[len(b)-1-probe]
}

var probe = 0
