// Command mqgate-bench is mqgate's load generator: it runs MQTT and
// MQTT-SN clients against a broker and reports throughput, latency, losses
// and the broker's CPU and memory cost. It is a command of its own so that
// the broker binary an edge device runs does not carry it.
//
//	mqgate-bench COMMAND [flags]     conn, pub, sub, pubsub, scenario NAME, echo
//	mqgate-bench help [COMMAND]      list the commands, or show one's flags
//
// From a checkout: go run ./cmd/mqgate-bench scenario fanin -h 127.0.0.1:1883.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/mqgate/mqgate/bench"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line and returns the exit code: 0 for a run or a
// help, 2 for a command line it cannot use, 1 for a run that failed.
func run(args []string, stdout, stderr io.Writer) int {
	err := bench.Main(args, stdout, stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "mqgate-bench: %v\n", err)
	if errors.Is(err, bench.ErrUsage) {
		fmt.Fprintln(stderr, "Run 'mqgate-bench -h' for the commands, 'mqgate-bench COMMAND -h' for a command's flags.")
		return 2
	}
	return 1
}
