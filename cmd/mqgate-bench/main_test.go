package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/bench"
	"github.com/mqgate/mqgate/conf"
	"github.com/mqgate/mqgate/gateway"
)

// invoke runs the command line in-process and returns its exit code and
// output.
func invoke(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// commandNames are the commands the top-level help lists, each with the
// words that select it.
var commandNames = [][]string{
	{"conn"}, {"pub"}, {"sub"}, {"pubsub"}, {"scenario"}, {"scenario", "fanin"}, {"echo"}, {"help"},
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // substring; "" checks nothing
		stderr string
	}{
		{name: "without a command it prints the usage and exits 2", args: nil, code: 2, stderr: "usage: mqgate-bench COMMAND"},
		{name: "unknown command exits 2", args: []string{"bogus"}, code: 2, stderr: `unknown command "bogus"`},
		{name: "a usage error points to the help", args: []string{"bogus"}, code: 2, stderr: "Run 'mqgate-bench -h'"},
		{name: "flags before the command exit 2", args: []string{"-c", "3", "pub"}, code: 2, stderr: "flag -c before the command"},
		{name: "unknown flag exits 2", args: []string{"pub", "-x"}, code: 2, stderr: "flag provided but not defined: -x"},
		{name: "invalid value exits 2", args: []string{"pub", "-q", "7"}, code: 2, stderr: "QoS is 0, 1 or 2"},
		{name: "stray argument exits 2", args: []string{"pub", "extra"}, code: 2, stderr: `unexpected argument "extra"`},
		{name: "scenario without a name exits 2", args: []string{"scenario"}, code: 2, stderr: "usage: mqgate-bench scenario fanin|"},
		{name: "unknown scenario exits 2", args: []string{"scenario", "nope"}, code: 2, stderr: `unknown scenario "nope"`},
		{name: "echo refuses a stray argument", args: []string{"echo", "extra"}, code: 2, stderr: `unexpected argument "extra"`},
		{name: "help for an unknown command exits 2", args: []string{"help", "bogus"}, code: 2, stderr: `unknown command "bogus"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := invoke(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout, tc.stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tc.stderr)
			}
		})
	}
}

// TestHelpListsEveryCommand asks for the top-level help every way a user
// might: each lists every command on stdout and exits 0.
func TestHelpListsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"-help"}, {"--help"}, {"help"}, {"help", "help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := invoke(t, args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr)
			}
			for _, c := range commandNames {
				if !strings.Contains(stdout, "\n  "+c[0]+" ") {
					t.Errorf("help does not list %q:\n%s", c[0], stdout)
				}
			}
		})
	}
}

// TestEveryCommandHasHelp asks each command for its help: -h last with no
// address after it, -help, --help, and the help command. Its usage and
// flags go to stdout and it exits 0 without running anything.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commandNames {
		if c[0] == "help" {
			continue
		}
		ways := [][]string{
			append(c[:len(c):len(c)], "-h"),
			append(c[:len(c):len(c)], "-help"),
			append(c[:len(c):len(c)], "--help"),
			append([]string{"help"}, c[0]),
		}
		// -h after other flags, where the command takes them: echo has
		// no -json, and scenario takes flags only after its NAME.
		if bare := len(c) == 1 && c[0] == "scenario"; c[0] != "echo" && !bare {
			ways = append(ways, append(c[:len(c):len(c)], "-json", "-h"))
		}
		for _, args := range ways {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				code, stdout, stderr := invoke(t, args...)
				if code != 0 || stderr != "" {
					t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr)
				}
				for _, want := range []string{"usage: mqgate-bench " + c[0], "\nflags:\n", "\n  -h host:port\n"} {
					if !strings.Contains(stdout, want) {
						t.Fatalf("stdout does not contain %q:\n%s", want, stdout)
					}
				}
			})
		}
	}
}

// TestHWithAnAddressNamesTheBroker checks that -h followed by an address
// is still the broker's: the run tries it and fails there, exit 1.
func TestHWithAnAddressNamesTheBroker(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nobody listens there now: the connect is refused
	code, stdout, stderr := invoke(t, "conn", "-h", addr, "-c", "1", "-d", "1ms", "-timeout", "2s", "-quiet")
	if code != 1 || !strings.Contains(stderr, "no client could connect") {
		t.Fatalf("exit %d, stderr %q; want 1 and no client could connect\nstdout: %s", code, stderr, stdout)
	}
	if strings.Contains(stdout, "usage:") {
		t.Fatalf("a run printed the help:\n%s", stdout)
	}
}

// TestCoAPQoS1AgainstAGateway runs CoAP publishers at QoS 1 against mqgate:
// CON publishes, each answered 2.04, with a window of outstanding
// requests per client, delivered to MQTT subscribers.
func TestCoAPQoS1AgainstAGateway(t *testing.T) {
	cfg := conf.Default()
	cfg.MQTT.Listeners = []conf.Listener{{Name: "tcp", Type: "tcp", Address: "127.0.0.1:0", MaxConnections: 100}}
	cfg.CoAP.Enabled = true
	cfg.CoAP.Listeners = []conf.CoAPListener{{Name: "udp", Type: "udp", Address: "127.0.0.1:0"}}
	cfg.CoAP.MaxRequestsPerSecond = 0
	cfg.Sys.Interval = 0
	cfg.Storage.Type = "memory"
	cfg.HTTP.Address = ""
	g, err := gateway.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.Stop(ctx)
	})
	code, stdout, stderr := invoke(t, "pubsub", "-pub-proto", "coap", "-sub-proto", "mqtt", "-q", "1", "-inflight", "16",
		"-c", "4", "-subs", "1", "-t", "cmdbench/coap/%i", "-d", "500ms", "-json", "-quiet",
		"-h", g.Addrs("mqtt")["tcp"].String(), "-coap-host", g.Addrs("coap")["udp"].String())
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	var s bench.Summary
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &s); err != nil {
		t.Fatalf("summary %q: %v", stdout, err)
	}
	if s.PubProto != "coap" || s.QoS != 1 || s.Sent == 0 || s.Errors != 0 {
		t.Fatalf("summary %+v", s)
	}
	if s.Acked != s.Sent {
		t.Fatalf("%d of %d CON publishes answered 2.04", s.Acked, s.Sent)
	}
	if s.Expected == nil || s.Received != *s.Expected {
		t.Fatalf("delivered %d of %v", s.Received, s.Expected)
	}
}
