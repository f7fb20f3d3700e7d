// Command mqgate is the multi-protocol IoT gateway and MQTT broker.
//
//	mqgate [run] [-c mqgate.yaml]   start the gateway (the default)
//	mqgate passwd -f FILE USER      add or update a user in a password file
//	mqgate apikey -f FILE NAME      create an HTTP API key (-D deletes, -l lists)
//	mqgate ctl COMMAND              call a running gateway's HTTP API
//	mqgate config check -c FILE     validate a config, print it with defaults
//	mqgate version                  print the version, commit and commit date
//	mqgate health                   exit 0 when the local gateway answers
//	mqgate help [COMMAND]           list the commands, or show one's flags
//
// The load generator is a command of its own, cmd/mqgate-bench.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"

	"github.com/mqgate/mqgate/conf"
	"github.com/mqgate/mqgate/core/auth"
	"github.com/mqgate/mqgate/gateway"
	"github.com/mqgate/mqgate/internal/heapsampling"
	_ "github.com/mqgate/mqgate/internal/mainstack" // before the other initialisers: see the package
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// command is one of mqgate's subcommands.
type command struct {
	name    string
	summary string // the line the top-level help shows
	main    func(args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// commands lists the subcommands in the order the help shows them. It is
// built by a function because help refers back to it.
func commands() []command {
	return []command{
		{"run", "start the gateway (the default command)",
			func(args []string, _ io.Reader, stdout, stderr io.Writer) error {
				return runGateway(args, stdout, stderr)
			}},
		{"passwd", "add or update a user in a bcrypt password file", passwd},
		{"apikey", "create, delete or list the HTTP API's keys", apikey},
		{"ctl", "call a running gateway's HTTP API: status, clients, kick, retained, publish", ctl},
		{"config", "check a configuration file: mqgate config check -c FILE", config},
		{"version", "print the version, commit, commit date, Go version and platform", version},
		{"health", "exit 0 when the gateway on this host answers (a container's HEALTHCHECK)", health},
		{"help", "print this help, or a command's: mqgate help COMMAND", help},
	}
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// errUnknownCommand is a command name mqgate does not have; it exits 2.
var errUnknownCommand = errors.New("unknown command")

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	name := "run"
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help":
			name, args = "help", nil
		case "-version", "--version":
			name, args = "version", nil
		default:
			// Flags without a command are run's: mqgate -c FILE.
			if !strings.HasPrefix(args[0], "-") {
				name, args = args[0], args[1:]
			}
		}
	}
	if name == "bench" { // the load generator left the broker binary
		fmt.Fprintln(stderr, "mqgate: bench is its own command now:", strings.Join(append([]string{"go run ./cmd/mqgate-bench"}, args...), " "))
		return 2
	}
	cmd, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "mqgate: unknown command %q\n\n", name)
		usage(stderr)
		return 2
	}
	err := cmd.main(args, stdin, stdout, stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "mqgate %s: %v\n", name, err)
	if errors.Is(err, errUnknownCommand) {
		return 2
	}
	if errors.As(err, new(flagError)) {
		fmt.Fprintf(stderr, "Run 'mqgate %s -h' for usage.\n", name)
	}
	return 1
}

func usage(w io.Writer) {
	fmt.Fprint(w, `mqgate is an MQTT broker and multi-protocol IoT gateway.

usage: mqgate [COMMAND] [flags]

commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Without a command mqgate runs: mqgate -c FILE is mqgate run -c FILE.
Run 'mqgate COMMAND -h' for a command's usage and flags.
`)
}

// help prints the top-level usage, or with a command name that command's.
func help(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 1 {
		return newFlagError(errors.New("usage: mqgate help [COMMAND]"))
	}
	if len(args) == 0 {
		usage(stdout)
		return nil
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return nil
	}
	cmd, ok := lookup(args[0])
	if !ok {
		return fmt.Errorf("%w %q", errUnknownCommand, args[0])
	}
	return cmd.main([]string{"-help"}, stdin, stdout, stderr)
}

// flagError is a command line a command cannot parse; mqgate points the
// user to the command's help.
type flagError struct{ err error }

func newFlagError(err error) error { return flagError{err} }
func (e flagError) Error() string  { return e.err.Error() }
func (e flagError) Unwrap() error  { return e.err }

// newFlagSet returns a flag set for the command whose usage line and
// description head its help, followed by its flags.
func newFlagSet(name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s\n\n%s\n", synopsis, description)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprint(fs.Output(), "\nflags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args into fs. Asked for help (-h, -help, --help), it
// prints the command's usage to stdout and returns flag.ErrHelp; any other
// error it returns as a flagError, which run prints once.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return err
	}
	if err != nil {
		return newFlagError(err)
	}
	return nil
}

func version(args []string, _ io.Reader, stdout, _ io.Writer) error {
	fs := newFlagSet("version", "mqgate version",
		"Print mqgate's version, the commit and commit date it was built from,\nthe Go version and the platform. Also: mqgate --version.")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return newFlagError(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprint(stdout, versionText(gateway.Version, info))
	return nil
}

func runGateway(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "mqgate [run] [-c FILE]",
		"Start the gateway: with -c on that configuration file, without it on the\nembedded defaults (MQTT on :1883, MQTT over WebSocket on :8083/mqtt, the\nHTTP API on 127.0.0.1:18083). MQGATE_SECTION__KEY environment variables\nset keys over both. SIGHUP reloads the password, ACL, API key\nand ban files, log.level and the bridges, and logs which other changes\nneed a restart; SIGTERM or SIGINT stop it.")
	path := fs.String("c", "", "configuration file (YAML); embedded defaults when empty")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return newFlagError(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	cfg, err := conf.Resolve(*path, os.Environ())
	if err != nil {
		return err
	}
	if cfg.Debug.PprofAddress != "" {
		heapsampling.Resume() // off since the program started: see the package
	}
	log, level := newLogger(cfg.Log, stderr)
	g, err := gateway.New(cfg, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// SIGHUP is caught before "mqgate started" is logged: its default
	// action would end a gateway a supervisor signals as soon as it starts.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := g.Start(ctx); err != nil {
		return err
	}
	log.Info("mqgate started", "version", gateway.Version)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-hup:
			reloadConfig(*path, os.Environ(), cfg, level, log, func(bs []conf.BridgeConfig) error { return g.ReloadBridges(ctx, bs) })
			// Reload logs what it reloaded and what it kept and why; its
			// error would only repeat that.
			_ = g.Reload(ctx)
		}
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), gateway.StopTimeout)
	defer cancel()
	if err := g.Stop(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// newLogger returns the logger for c and the level it logs at, which a
// reload may change.
func newLogger(c conf.LogConfig, w io.Writer) (*slog.Logger, *slog.LevelVar) {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(c.Level))
	level := new(slog.LevelVar)
	level.Set(lvl)
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), level
	}
	return slog.New(slog.NewTextHandler(w, opts)), level
}

// passwd adds or updates a user. The password comes from -p, or from the
// terminal without echo, or from the first line of standard input.
func passwd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("passwd", "mqgate passwd -f FILE [-p PASSWORD] [-cost N] USER | -D USER | -l",
		"Add USER to the bcrypt password file FILE, or change USER's password.\nThe file is created when missing and rewritten atomically with mode 0600.\nWithout -p the password is read from the terminal without echo, or from\nthe first line of standard input. -D deletes USER, -l lists the users.\nThe file serves MQTT clients as auth.password_file and dashboard users as\nhttp.users_file; a running gateway re-reads it on SIGHUP.")
	file := fs.String("f", "", "password file to create or update (required)")
	pw := fs.String("p", "", "password (read from the terminal or standard input when empty)")
	cost := fs.Int("cost", bcrypt.DefaultCost, "bcrypt cost")
	del := fs.Bool("D", false, "delete USER, as mosquitto_passwd -D does")
	list := fs.Bool("l", false, "list the users")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *list && *file != "" && fs.NArg() == 0 && !*del {
		users, err := auth.Usernames(*file)
		if err != nil {
			return err
		}
		for _, u := range users {
			fmt.Fprintln(stdout, u)
		}
		return nil
	}
	if *file == "" || fs.NArg() != 1 || *list {
		return newFlagError(errors.New("usage: mqgate passwd -f FILE [-p PASSWORD] USER, -f FILE -D USER or -f FILE -l"))
	}
	user := fs.Arg(0)
	if *del {
		if err := auth.DeleteUser(*file, user); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %q deleted from %s\n", user, *file)
		return nil
	}
	password := *pw
	if password == "" {
		var err error
		if password, err = readPassword(stdin, stdout); err != nil {
			return err
		}
	}
	if password == "" {
		return errors.New("empty password")
	}
	if err := auth.SetPassword(*file, user, password, *cost); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "password for %q set in %s\n", user, *file)
	return nil
}

func readPassword(stdin io.Reader, stdout io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stdout, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stdout)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
