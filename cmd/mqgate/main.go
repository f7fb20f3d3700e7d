// Command mqgate is the multi-protocol IoT gateway and MQTT broker.
//
//	mqgate [run] [-c mqgate.yaml]   start the gateway (the default)
//	mqgate passwd -f FILE USER      add or update a user in a password file
//	mqgate version                  print the version
//	mqgate bench COMMAND [flags]    generate MQTT load against a broker
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
	"strings"
	"syscall"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"

	"github.com/mqgate/mqgate/bench"
	"github.com/mqgate/mqgate/conf"
	"github.com/mqgate/mqgate/core/auth"
	"github.com/mqgate/mqgate/gateway"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "run":
		err = runGateway(args, stderr)
	case "bench":
		err = bench.Main(args, stdout, stderr)
	case "passwd":
		err = passwd(args, stdin, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "mqgate %s\n", gateway.Version)
	case "help", "-h", "--help":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "mqgate: unknown command %q\n", cmd)
		usage(stderr)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "mqgate %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  mqgate [run] [-c FILE]          start the gateway (embedded defaults without -c)
  mqgate passwd -f FILE USER      add or update USER in a bcrypt password file
  mqgate version                  print the version
  mqgate bench COMMAND [flags]    load generator: conn, pub, sub, pubsub, scenario NAME
`)
}

func runGateway(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "configuration file (YAML); embedded defaults when empty")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := conf.Default()
	if *path != "" {
		var err error
		if cfg, err = conf.Load(*path); err != nil {
			return err
		}
	}
	log := newLogger(cfg.Log, stderr)
	g, err := gateway.New(cfg, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := g.Start(ctx); err != nil {
		return err
	}
	log.Info("mqgate started", "version", gateway.Version)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-hup:
			if err := g.Reload(ctx); err != nil {
				log.Error("reload failed", "err", err)
			}
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

func newLogger(c conf.LogConfig, w io.Writer) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// passwd adds or updates a user. The password comes from -p, or from the
// terminal without echo, or from the first line of standard input.
func passwd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("passwd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "password file to create or update (required)")
	pw := fs.String("p", "", "password (read from the terminal or standard input when empty)")
	cost := fs.Int("cost", bcrypt.DefaultCost, "bcrypt cost")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || fs.NArg() != 1 {
		return errors.New("usage: mqgate passwd -f FILE [-p PASSWORD] USER")
	}
	user := fs.Arg(0)
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
