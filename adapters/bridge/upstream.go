package bridge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/mqgate/mqgate/core/store"
)

// upstream is one connection to an upstream broker, whichever MQTT version
// it speaks. A dialer returns it connected; once Done is closed it is
// useless and the bridge dials a new one.
type upstream interface {
	// Publish sends m and calls done exactly once: with nil when the
	// upstream acknowledged it (PUBACK, PUBCOMP; at once for QoS 0), with
	// an error wrapping errRefused when the upstream refused it (a reason
	// code of 0x80 or more), or with another error when the connection
	// failed first. done must not block.
	// seq is m's outbox entry (0 for a QoS 0 message not in the outbox).
	Publish(seq uint64, m *store.Message, done func(error))
	// Subscribe subscribes to the remote side of the in rules.
	Subscribe(ctx context.Context, subs []remoteSub) error
	// Unsubscribe removes subscriptions; an error wrapping errRefused
	// means the upstream answered but would not.
	Unsubscribe(ctx context.Context, filters []string) error
	// Done is closed when the connection is lost or closed.
	Done() <-chan struct{}
	// Err is why the connection ended, once Done is closed.
	Err() error
	// Close disconnects and waits for the library's goroutines.
	Close()
}

// ending is the Done and Err half of an upstream: closed once, with the
// first reason given. done is made by the dialer.
type ending struct {
	done chan struct{}
	once sync.Once
	mu   sync.Mutex
	err  error
}

// lost ends the connection with err, the first time only.
func (e *ending) lost(err error) {
	e.once.Do(func() {
		if err == nil {
			err = errors.New("connection closed")
		}
		e.mu.Lock()
		e.err = err
		e.mu.Unlock()
		close(e.done)
	})
}

func (e *ending) Done() <-chan struct{} { return e.done }

func (e *ending) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// remoteSub is one upstream subscription.
type remoteSub struct {
	Filter string
	QoS    byte
}

// inbound is one message received from the upstream. handle returns nil
// once it is durable locally (or was deliberately dropped), and the
// upstream then acknowledges it; an error leaves it unacknowledged and
// closes the connection, so the upstream sends it again.
type inboundHandler func(m *store.Message) error

// dialFunc connects br to one address; inbound messages go to
// br.handleInbound and the library's session store is br.sess.
type dialFunc func(ctx context.Context, br *Bridge, addr string) (upstream, error)

// errRefused marks a message the upstream refused: it is dropped from the
// outbox (counted) rather than sent again forever.
var errRefused = errors.New("refused by the upstream")

// errLost is the error of a publish whose connection ended first.
var errLost = errors.New("connection lost before the upstream acknowledged")

// target is a parsed upstream address.
type target struct {
	scheme string // tcp, tls, ws, wss
	host   string // host:port
	path   string // ws and wss
}

// parseAddr reads host:port or a URL; a bare host:port is tls when the
// bridge has a tls section.
func parseAddr(a string, tlsOn bool) (target, error) {
	if !strings.Contains(a, "://") {
		if tlsOn {
			return target{scheme: "tls", host: a}, nil
		}
		return target{scheme: "tcp", host: a}, nil
	}
	u, err := url.Parse(a)
	if err != nil {
		return target{}, err
	}
	t := target{host: u.Host, path: u.Path}
	switch u.Scheme {
	case "tcp", "mqtt":
		t.scheme = "tcp"
	case "tls", "ssl", "mqtts":
		t.scheme = "tls"
	case "ws", "wss":
		t.scheme = u.Scheme
	default:
		return target{}, fmt.Errorf("%q: unknown scheme %q", a, u.Scheme)
	}
	return t, nil
}

// tlsConfig builds the client TLS configuration for host.
func (c *Config) tlsConfig(host string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if h, _, err := net.SplitHostPort(host); err == nil {
		tc.ServerName = h
	}
	t := c.TLS
	if t == nil {
		return tc, nil
	}
	if t.ServerName != "" {
		tc.ServerName = t.ServerName
	}
	tc.NextProtos = t.ALPN
	tc.InsecureSkipVerify = t.InsecureSkipVerify
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls ca_file %s: no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// password returns the configured password, read from its file when one
// is named; the file is read on every connect, so a rotated password is
// used on the next attempt.
func (c *Config) password() ([]byte, error) {
	if c.PasswordFile == "" {
		return c.Password, nil
	}
	b, err := os.ReadFile(c.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("password_file: %w", err)
	}
	return []byte(strings.TrimRight(string(b), "\r\n")), nil
}
