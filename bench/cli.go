package bench

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Options are the command-line settings of a bench run.
type Options struct {
	Addr           string        // -h host:port
	Clients        int           // -c
	Subs           int           // -subs: subscribers in pubsub and shared
	ConnRate       float64       // -rate connections per second, 0 unlimited
	Topic          string        // -t, %i is the client index
	QoS            int           // -q
	Size           int           // -s payload bytes
	Interval       time.Duration // -I per client
	Rate           float64       // -r per client, msg/s
	TotalRate      float64       // -R across all publishers, msg/s
	Duration       time.Duration // -d; 0 runs until interrupted
	Version        int           // -V 4 or 5
	WS             bool          // -ws
	WSPath         string        // -path
	TLS, Insecure  bool          // -tls, -insecure
	Share          string        // -share group
	PID            int           // -pid broker process
	JSON           bool          // -json
	Quiet          bool          // -quiet: summary only
	Inflight       int           // -inflight QoS 1/2 window per publisher
	Window         int           // -window outstanding deliveries per subscriber, unthrottled runs
	Username       string        // -u
	Password       string        // -P
	ClientPrefix   string        // -prefix for client identifiers
	ConnectTimeout time.Duration // -timeout

	Proto        string        // -proto: every client's protocol, mqtt or mqttsn
	PubProto     string        // -pub-proto: publishers' protocol (default -proto)
	SubProto     string        // -sub-proto: subscribers' protocol (default -proto)
	SNAddr       string        // -sn-host: the MQTT-SN gateway's UDP address
	CoAPAddr     string        // -coap-host: the CoAP gateway's UDP address
	StompAddr    string        // -stomp-host: the STOMP gateway's TCP address
	SNKeepAlive  time.Duration // -sn-keepalive: MQTT-SN CONNECT duration
	SNRetry      time.Duration // -sn-retry: MQTT-SN retransmission interval
	SNPredefined int           // -sn-topic-id: first predefined topic id of MQTT-SN publishers
}

// Client protocols.
const (
	protoMQTT   = "mqtt"
	protoMQTTSN = "mqttsn"
	protoCoAP   = "coap"
	protoSTOMP  = "stomp"
)

const usageText = `usage: mqgate-bench COMMAND [flags]

commands:
  conn               open -c connections and hold them for -d
  pub                -c publishers on -t
  sub                -c subscribers to -t (with -share: $share/GROUP/-t)
  pubsub             -c publishers on -t and -subs subscribers to -t in one run
  scenario NAME      a named load:
` + scenarioList + `  echo               serve the floor scenario's relay on -h until interrupted
  help [COMMAND]     print this help, or a command's

` + loadNotes + `
Run 'mqgate-bench COMMAND -h' for a command's flags. After a command, -h
followed by an address is the broker's (echo's: the address it listens on).
`

// loadNotes explain the flags the load commands share.
const loadNotes = `Without -r, -I or -R publishers go as fast as flow control allows: the QoS 1/2
inflight window, and with subscribers in the run a cap on outstanding deliveries.

Protocols: -proto mqttsn makes every client an MQTT-SN 1.2 client over UDP to
-sn-host; -pub-proto and -sub-proto choose per role, so that for example
  mqgate-bench scenario fanin -pub-proto mqttsn -sub-proto mqtt
has MQTT-SN sensors publish to an MQTT subscriber through the gateway. An
MQTT-SN publisher REGISTERs its topic, or uses a short topic id when the topic
has two characters, or predefined ids from -sn-topic-id; -q -1 needs one of
the latter two and mqttsn.qos_minus_one on the gateway. An MQTT-SN client
retransmits unacknowledged messages every -sn-retry and sends PINGREQ when it
has been silent for -sn-keepalive.

-proto coap (or -pub-proto / -sub-proto coap) makes clients CoAP clients over
UDP to -coap-host, at QoS 0 or 1: publishers send NON POST /ps/{topic} at
QoS 0, and at QoS 1 CON POST /ps/{topic}?qos=1, each waiting for its 2.04
with -inflight requests outstanding per client (default 1, resent after
-sn-retry); subscribers observe GET /ps/{filter} and get NON notifications
at QoS 0, CON ones at QoS 1 (they ping every 30 s to stay within the
gateway's heartbeat). With the gateway's
default coap.observe_queue latest, an observer that falls behind gets only
the newest value and the rest count as lost; set it to all to count every
message.

-proto stomp (or -pub-proto/-sub-proto stomp) makes clients STOMP 1.2
clients over TCP to -stomp-host: a publisher SENDs to its topic with the qos
header (a receipt acknowledges QoS 1 and 2), a subscriber subscribes with ack
auto at QoS 0 and client-individual otherwise, and ACKs each MESSAGE.
`

const scenarioList = `      fanin     -c publishers (100) on bench/fanin/%i, 1 subscriber to bench/fanin/+
      fanout    1 publisher on bench/fanout, -c subscribers (100)
      p2p       -c publisher/subscriber pairs (100) on bench/p2p/%i
      shared    -c publishers (100) to a $share group of -subs subscribers (10)
      conns     -c idle connections (1000) held for -d; connect rate and RSS per connection
      latency   -c pairs (10) at -R msg/s in total (5000); latency percentiles
      floor     the latency scenario's pairs and load (-c 10, -R 5000) through a
                relay instead of a broker: the latency of loopback and the
                scheduler alone
`

// loadCommands are the commands that run clients against a broker, with
// the synopsis and description their help starts with; all share newFlags.
var loadCommands = map[string]struct{ synopsis, description string }{
	"conn": {"conn [flags]", "Open -c connections (100) and hold them for -d."},
	"pub":  {"pub [flags]", "Run -c publishers (100) on -t."},
	"sub":  {"sub [flags]", "Run -c subscribers (100) to -t, or to $share/GROUP/-t with -share."},
	"pubsub": {"pubsub [flags]", "Run -c publishers (100) on -t and -subs subscribers (default -c) to -t\n" +
		"in one run, and count what is lost."},
	"scenario": {"scenario NAME [flags]", "Run a named load, NAME one of:\n" + strings.TrimSuffix(scenarioList, "\n")},
}

// ErrUsage is wrapped by Main's errors that lie in the command line rather
// than in the run, so that a caller can point the user to the help.
var ErrUsage = errors.New("usage error")

// usageError is a command-line mistake; it reads as its cause.
type usageError struct{ err error }

func (e usageError) Error() string   { return e.err.Error() }
func (e usageError) Unwrap() []error { return []error{e.err, ErrUsage} }

// Main runs mqgate-bench with args (the words after the program name).
// Asked for help, it prints it to stdout and returns flag.ErrHelp.
func Main(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return usageError{errors.New("missing command")}
	}
	cmd, args := args[0], args[1:]
	switch {
	case isHelpFlag(cmd):
		fmt.Fprint(stdout, usageText)
		return flag.ErrHelp
	case cmd == "help":
		return help(args, stdout)
	case cmd == "echo":
		return runEcho(args, stdout)
	case strings.HasPrefix(cmd, "-"):
		return usageError{fmt.Errorf("flag %s before the command: flags follow it", cmd)}
	}
	if _, ok := loadCommands[cmd]; !ok {
		return usageError{fmt.Errorf("unknown command %q (conn, pub, sub, pubsub, scenario, echo, help)", cmd)}
	}
	name := cmd
	if cmd == "scenario" {
		switch {
		case len(args) > 0 && isHelpFlag(args[0]):
			commandHelp(stdout, cmd)
			return flag.ErrHelp
		case len(args) == 0 || strings.HasPrefix(args[0], "-"):
			return usageError{errors.New("usage: mqgate-bench scenario fanin|fanout|p2p|shared|conns|latency|floor [flags]")}
		}
		name, args = args[0], args[1:]
	}
	o := &Options{}
	fs := newFlags(o, io.Discard)
	if err := parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			commandHelp(stdout, cmd)
		}
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	r, err := plan(cmd, name, o, set)
	if err != nil {
		return usageError{err}
	}
	r.out = &reporter{w: stdout, ew: stderr, json: o.JSON, quiet: o.Quiet}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := r.execute(ctx)
	if err != nil {
		return err
	}
	r.out.summary(s)
	return nil
}

func isHelpFlag(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

// parse parses args into fs, whose output it discards: Main's caller
// prints the error. -h names an address after a command, but given last
// with no address it asks for help, and parse returns flag.ErrHelp for it
// as for -help and --help.
func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if n := len(args); n > 0 && (args[n-1] == "-h" || args[n-1] == "--h") && fs.Parse(args[:n-1]) == nil {
		return flag.ErrHelp
	}
	// Parsed again after a failure above: the -h was the value of the
	// flag before it (-P -h).
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

// help is `mqgate-bench help [COMMAND]`.
func help(args []string, stdout io.Writer) error {
	switch {
	case len(args) == 0:
		fmt.Fprint(stdout, usageText)
		return nil
	case len(args) > 1:
		return usageError{errors.New("usage: mqgate-bench help [COMMAND]")}
	case args[0] == "help" || isHelpFlag(args[0]):
		fmt.Fprint(stdout, usageText)
		return nil
	case args[0] == "echo":
		echoHelp(stdout)
		return nil
	}
	if _, ok := loadCommands[args[0]]; !ok {
		return usageError{fmt.Errorf("unknown command %q (conn, pub, sub, pubsub, scenario, echo, help)", args[0])}
	}
	commandHelp(stdout, args[0])
	return nil
}

// commandHelp prints the help of one of loadCommands.
func commandHelp(w io.Writer, cmd string) {
	c := loadCommands[cmd]
	fmt.Fprintf(w, "usage: mqgate-bench %s\n\n%s\n\n%s\nflags:\n", c.synopsis, c.description, loadNotes)
	newFlags(&Options{}, w).PrintDefaults()
}

func newFlags(o *Options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("mqgate-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Addr, "h", "localhost:1883", "broker `host:port`")
	fs.IntVar(&o.Clients, "c", 0, "client count (default per command: 100, conns 1000, latency 10, fanout publishers 1)")
	fs.IntVar(&o.Subs, "subs", 0, "subscribers in pubsub (default -c) and shared (default 10)")
	fs.Float64Var(&o.ConnRate, "rate", 0, "connect rate in `conn/s` (0: as fast as possible, 64 at a time)")
	fs.StringVar(&o.Topic, "t", "bench/%i", "topic or filter; %i is the client index")
	fs.IntVar(&o.QoS, "q", 0, "QoS 0, 1 or 2")
	fs.IntVar(&o.Size, "s", 64, "payload size in bytes (8 or more carries the latency timestamp)")
	fs.DurationVar(&o.Interval, "I", 0, "interval between messages of one client (alternative to -r)")
	fs.Float64Var(&o.Rate, "r", 0, "messages per second per client (0: unthrottled)")
	fs.Float64Var(&o.TotalRate, "R", 0, "messages per second across all publishers")
	fs.DurationVar(&o.Duration, "d", 10*time.Second, "how long to publish or hold connections (0: until interrupted)")
	fs.IntVar(&o.Version, "V", 4, "MQTT version: 4 (3.1.1) or 5")
	fs.BoolVar(&o.WS, "ws", false, "connect over WebSocket (ws://host:port/mqtt, subprotocol mqtt)")
	fs.StringVar(&o.WSPath, "path", "/mqtt", "WebSocket path")
	fs.BoolVar(&o.TLS, "tls", false, "use TLS (wss with -ws)")
	fs.BoolVar(&o.Insecure, "insecure", false, "with -tls, do not verify the broker's certificate")
	fs.StringVar(&o.Share, "share", "", "subscribe through $share/`GROUP`/...")
	fs.IntVar(&o.PID, "pid", 0, "broker PID: report its CPU per million messages (per connection when only connecting) and RSS per connection")
	fs.BoolVar(&o.JSON, "json", false, "print JSON lines instead of tables")
	fs.BoolVar(&o.Quiet, "quiet", false, "print the summary only")
	fs.IntVar(&o.Inflight, "inflight", 32, "unacknowledged QoS 1/2 publishes per client (MQTT-SN and CoAP: default 1)")
	fs.IntVar(&o.Window, "window", 500, "unthrottled runs: deliveries outstanding per subscriber before publishers wait")
	fs.StringVar(&o.Username, "u", "", "username")
	fs.StringVar(&o.Password, "P", "", "password")
	fs.StringVar(&o.ClientPrefix, "prefix", "", "client identifier prefix (default mqgb-PID-)")
	fs.DurationVar(&o.ConnectTimeout, "timeout", 10*time.Second, "connect and subscribe timeout")
	fs.StringVar(&o.Proto, "proto", protoMQTT, "client protocol: mqtt, mqttsn, coap or stomp")
	fs.StringVar(&o.PubProto, "pub-proto", "", "publishers' protocol, mqtt, mqttsn, coap or stomp (default -proto)")
	fs.StringVar(&o.SubProto, "sub-proto", "", "subscribers' protocol, mqtt, mqttsn, coap or stomp (default -proto)")
	fs.StringVar(&o.StompAddr, "stomp-host", "", "STOMP gateway TCP `host:port` (default the host of -h, port 61613)")
	fs.StringVar(&o.SNAddr, "sn-host", "", "MQTT-SN gateway UDP `host:port` (default the host of -h, port 1884)")
	fs.StringVar(&o.CoAPAddr, "coap-host", "", "CoAP gateway UDP `host:port` (default the host of -h, port 5683)")
	fs.DurationVar(&o.SNKeepAlive, "sn-keepalive", time.Minute, "MQTT-SN keep alive: PINGREQ after this long without sending")
	fs.DurationVar(&o.SNRetry, "sn-retry", time.Second, "MQTT-SN retransmission interval for unacknowledged messages")
	fs.IntVar(&o.SNPredefined, "sn-topic-id", 0, "MQTT-SN publishers use predefined topic `ID` (plus the client index when the topic has %i)")
	return fs
}

// plan turns a command and its options into the clients of a run.
func plan(cmd, name string, o *Options, set map[string]bool) (*run, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.ClientPrefix == "" {
		o.ClientPrefix = fmt.Sprintf("mqgb-%d-", os.Getpid())
	}
	n := func(def int) int {
		if set["c"] {
			return o.Clients
		}
		return def
	}
	subsN := func(def int) int {
		if set["subs"] {
			return o.Subs
		}
		return def
	}
	share := func(f string) string {
		if o.Share != "" {
			return "$share/" + o.Share + "/" + f
		}
		return f
	}
	r := &run{o: o, name: name}
	switch cmd {
	case "conn":
		r.idle = specs(o, "c", n(100), "", "")
	case "pub":
		r.pubs = specs(o, "p", n(100), o.Topic, "")
	case "sub":
		r.subs = specs(o, "s", n(100), "", share(o.Topic))
	case "pubsub":
		c := n(100)
		r.pubs = specs(o, "p", c, o.Topic, "")
		r.subs = specs(o, "s", subsN(c), "", share(o.Topic))
		r.lossKnown = true
	case "scenario":
		r.lossKnown = true
		switch name {
		case "fanin":
			r.pubs = specs(o, "p", n(100), "bench/fanin/%i", "")
			r.subs = specs(o, "s", 1, "", "bench/fanin/+")
		case "fanout":
			r.pubs = specs(o, "p", 1, "bench/fanout", "")
			r.subs = specs(o, "s", n(100), "", "bench/fanout")
		case "p2p":
			c := n(100)
			r.pubs = specs(o, "p", c, "bench/p2p/%i", "")
			r.subs = specs(o, "s", c, "", "bench/p2p/%i")
		case "shared":
			g := o.Share
			if g == "" {
				g = "bench"
			}
			r.pubs = specs(o, "p", n(100), "bench/shared/%i", "")
			r.subs = specs(o, "s", subsN(10), "", "$share/"+g+"/bench/shared/+")
		case "conns":
			r.idle = specs(o, "c", n(1000), "", "")
			r.lossKnown = false
		case "latency":
			c := n(10)
			r.pubs = specs(o, "p", c, "bench/lat/%i", "")
			r.subs = specs(o, "s", c, "", "bench/lat/%i")
			if !set["r"] && !set["I"] && !set["R"] {
				o.TotalRate = 5000
			}
		case "floor":
			if o.Size < 8 {
				return nil, errors.New("floor: -s must be at least 8, for the time stamp")
			}
			c := n(10)
			r.pubs = specs(o, "p", c, "floor", "")
			r.subs = specs(o, "s", c, "", "floor")
			if !set["r"] && !set["I"] && !set["R"] {
				o.TotalRate = 5000
			}
			for _, s := range append(r.pubs, r.subs...) {
				s.proto = protoEcho
			}
			r.rate = rateOf(o, len(r.pubs))
			return r, nil
		default:
			return nil, fmt.Errorf("unknown scenario %q (fanin, fanout, p2p, shared, conns, latency, floor)", name)
		}
	default:
		return nil, fmt.Errorf("unknown command %q (conn, pub, sub, pubsub, scenario, echo)", cmd)
	}
	if err := r.setProtocols(); err != nil {
		return nil, err
	}
	// An MQTT-SN client waits for each acknowledgement unless told
	// otherwise: 100 publishers with 32 datagrams each in flight overflow
	// a gateway socket's default receive buffer and turn into
	// retransmissions.
	r.snWindow = 1
	if set["inflight"] {
		r.snWindow = int32(o.Inflight)
	}
	r.rate = rateOf(o, len(r.pubs))
	return r, nil
}

// rateOf is each of pubs publishers' rate in messages per second, 0 for
// unthrottled.
func rateOf(o *Options, pubs int) float64 {
	switch {
	case o.Rate > 0:
		return o.Rate
	case o.Interval > 0:
		return float64(time.Second) / float64(o.Interval)
	case o.TotalRate > 0 && pubs > 0:
		return o.TotalRate / float64(pubs)
	}
	return 0
}

// runEcho is `mqgate-bench echo`: the floor scenario's server.
func runEcho(args []string, stdout io.Writer) error {
	var addr string
	fs := echoFlags(&addr)
	if err := parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			echoHelp(stdout)
		}
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return ServeEcho(ctx, addr, func(a net.Addr) { fmt.Fprintf(stdout, "echo server on %s\n", a) })
}

func echoFlags(addr *string) *flag.FlagSet {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.StringVar(addr, "h", "127.0.0.1:1883", "listen on `host:port`")
	return fs
}

func echoHelp(w io.Writer) {
	fmt.Fprint(w, `usage: mqgate-bench echo [-h host:port]

Serve the floor scenario's relay until interrupted: it writes each
publisher's bytes to its subscriber and does nothing else, so that
'mqgate-bench scenario floor' measures the latency of loopback and the
scheduler alone.

flags:
`)
	fs := echoFlags(new(string))
	fs.SetOutput(w)
	fs.PrintDefaults()
}

func (o *Options) validate() error {
	for _, p := range []string{o.Proto, o.PubProto, o.SubProto} {
		if p != "" && p != protoMQTT && p != protoMQTTSN && p != protoCoAP && p != protoSTOMP {
			return fmt.Errorf("protocol %q: want mqtt, mqttsn, coap or stomp", p)
		}
		if p == protoCoAP && (o.QoS < 0 || o.QoS > 1) {
			return errCoAPQoS
		}
	}
	switch {
	case o.QoS < -1 || o.QoS > 2:
		return fmt.Errorf("-q %d: QoS is 0, 1 or 2 (-1 for MQTT-SN publishers)", o.QoS)
	case o.SNKeepAlive < time.Second || o.SNKeepAlive > 65535*time.Second:
		return errors.New("-sn-keepalive is 1s..65535s")
	case o.SNRetry <= 0:
		return errors.New("-sn-retry must be positive")
	case o.SNPredefined < 0 || o.SNPredefined > 65535:
		return errors.New("-sn-topic-id is 1..65535")
	case o.Version != 4 && o.Version != 5:
		return fmt.Errorf("-V %d: version is 4 (MQTT 3.1.1) or 5", o.Version)
	case o.Size < 0:
		return errors.New("-s: payload size must not be negative")
	case o.Clients < 0 || o.Subs < 0:
		return errors.New("-c and -subs must not be negative")
	case o.Window < 1:
		return errors.New("-window must be positive")
	case o.Inflight < 1 || o.Inflight > 65535:
		return errors.New("-inflight is 1..65535")
	case o.Rate < 0 || o.TotalRate < 0 || o.Interval < 0 || o.ConnRate < 0:
		return errors.New("rates and intervals must not be negative")
	}
	return nil
}

// setProtocols gives each client its protocol and checks what MQTT-SN
// allows: QoS -1 only for MQTT-SN publishers naming their topic by a
// short or predefined id.
func (r *run) setProtocols() error {
	o := r.o
	pubProto, subProto := cmp.Or(o.PubProto, o.Proto), cmp.Or(o.SubProto, o.Proto)
	for _, s := range r.idle {
		s.proto = o.Proto
	}
	for _, s := range r.subs {
		s.proto = subProto
	}
	for _, s := range r.pubs {
		s.proto = pubProto
		if pubProto != protoMQTTSN {
			continue
		}
		if o.SNPredefined > 0 {
			id := o.SNPredefined
			if s.indexed {
				id += s.index
			}
			if id > 65535 {
				return fmt.Errorf("-sn-topic-id %d plus client index %d exceeds 65535", o.SNPredefined, s.index)
			}
			s.snTopicID = uint16(id)
		} else if o.QoS == -1 && len(s.topic) != 2 {
			return fmt.Errorf("-q -1: topic %q needs -sn-topic-id or a two-character name (short topic id)", s.topic)
		}
	}
	if o.QoS == -1 && (len(r.pubs) == 0 || pubProto != protoMQTTSN) {
		return errors.New("-q -1 is for MQTT-SN publishers only (-pub-proto mqttsn)")
	}
	if o.SNAddr == "" || o.StompAddr == "" {
		host, _, err := net.SplitHostPort(o.Addr)
		if err != nil {
			return fmt.Errorf("-h %q: %w", o.Addr, err)
		}
		if o.SNAddr == "" {
			o.SNAddr = net.JoinHostPort(host, "1884")
		}
		if o.StompAddr == "" {
			o.StompAddr = net.JoinHostPort(host, "61613")
		}
	}
	if o.CoAPAddr == "" {
		host, _, err := net.SplitHostPort(o.Addr)
		if err != nil {
			return fmt.Errorf("-h %q: %w", o.Addr, err)
		}
		o.CoAPAddr = net.JoinHostPort(host, "5683")
	}
	return nil
}

// specs builds count clients of one role; topic and filter may hold %i.
func specs(o *Options, role string, count int, topic, filter string) []*clientSpec {
	out := make([]*clientSpec, count)
	for i := range out {
		out[i] = &clientSpec{
			index: i, id: fmt.Sprintf("%s%s%d", o.ClientPrefix, role, i),
			topic: expandTopic(topic, i), filter: expandTopic(filter, i),
			indexed: strings.Contains(topic, "%i"),
		}
	}
	return out
}
