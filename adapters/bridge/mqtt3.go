package bridge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqgate/mqgate/core/store"
)

// mqtt3 is an MQTT 3.1.1 upstream through paho.mqtt.golang. The library's
// automatic reconnect and resume are off and every connection gets a
// fresh in-memory store: the outbox decides what is sent again, not the
// library.
type mqtt3 struct {
	c   paho3.Client
	out chan pub3 // to the publishing goroutine, in order
	ending
}

var _ upstream = (*mqtt3)(nil)

func dialMQTT3(ctx context.Context, cfg *Config, addr string, handle inboundHandler) (upstream, error) {
	t, err := parseAddr(addr, cfg.TLS != nil)
	if err != nil {
		return nil, err
	}
	pw, err := cfg.password()
	if err != nil {
		return nil, err
	}
	u := &mqtt3{out: make(chan pub3, 256)}
	u.done = make(chan struct{})
	scheme := map[string]string{"tcp": "tcp", "tls": "ssl", "ws": "ws", "wss": "wss"}[t.scheme]
	if (t.scheme == "ws" || t.scheme == "wss") && t.path == "" {
		t.path = "/mqtt"
	}
	o := paho3.NewClientOptions().
		AddBroker(scheme + "://" + t.host + t.path).
		SetClientID(cfg.ClientID).
		SetProtocolVersion(4).
		SetCleanSession(cfg.CleanStart).
		SetKeepAlive(cfg.KeepAlive).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetResumeSubs(false).
		SetStore(paho3.NewMemoryStore()).
		SetOrderMatters(true).
		SetAutoAckDisabled(true).
		SetConnectTimeout(connectTimeout(ctx)).
		SetWriteTimeout(10 * time.Second).
		SetConnectionLostHandler(func(_ paho3.Client, err error) { u.lost(err) }).
		SetDefaultPublishHandler(func(_ paho3.Client, m paho3.Message) {
			sm := &store.Message{Topic: m.Topic(), Payload: m.Payload(), QoS: m.Qos(), Retain: m.Retained()}
			if err := handle(sm); err != nil {
				// Unacknowledged, the upstream sends it again on the
				// next connection.
				u.lost(err)
				return
			}
			m.Ack()
		})
	if cfg.Username != "" {
		o.SetUsername(cfg.Username)
	}
	if pw != nil {
		o.SetPassword(string(pw))
	}
	var tc *tls.Config
	if t.scheme == "tls" || t.scheme == "wss" {
		if tc, err = cfg.tlsConfig(t.host); err != nil {
			return nil, err
		}
		o.SetTLSConfig(tc)
	}
	var connMu sync.Mutex
	var conn net.Conn
	if t.scheme == "tcp" || t.scheme == "tls" {
		// Dial under ctx, so that stopping the bridge ends an attempt at
		// once, whatever the library's own timeouts.
		o.SetCustomOpenConnectionFn(func(*url.URL, paho3.ClientOptions) (net.Conn, error) {
			var c net.Conn
			var err error
			if tc != nil {
				d := tls.Dialer{Config: tc}
				c, err = d.DialContext(ctx, "tcp", t.host)
			} else {
				var d net.Dialer
				c, err = d.DialContext(ctx, "tcp", t.host)
			}
			connMu.Lock()
			conn = c
			connMu.Unlock()
			return c, err
		})
	}
	u.c = paho3.NewClient(o)
	tok := u.c.Connect()
	stop := context.AfterFunc(ctx, func() {
		connMu.Lock()
		defer connMu.Unlock()
		if conn != nil {
			conn.Close() // a CONNACK that never comes
		}
	})
	<-tok.Done()
	stop()
	if err := tok.Error(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	go u.publishing()
	return u, nil
}

// connectTimeout is the time left before ctx's deadline, or 30 seconds.
func connectTimeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return 30 * time.Second
}

// pub3 is one message for the publishing goroutine.
type pub3 struct {
	m    *store.Message
	done func(error)
}

// Publish hands m to the publishing goroutine. paho.mqtt.golang's Publish
// can block for its whole write timeout when the connection is lost at
// the wrong moment (it still reports connected while its writer has
// stopped); the bridge's sender must see the loss at once instead.
func (u *mqtt3) Publish(m *store.Message, done func(error)) {
	select {
	case u.out <- pub3{m, done}:
	case <-u.done:
		done(errLost)
	}
}

// publishing publishes in order until the connection ends; a publish it
// was blocked in when that happened ends at the library's write timeout.
func (u *mqtt3) publishing() {
	for {
		select {
		case <-u.done:
			for {
				select {
				case p := <-u.out:
					p.done(errLost)
				default:
					return
				}
			}
		case p := <-u.out:
			tok := u.c.Publish(p.m.Topic, p.m.QoS, p.m.Retain, p.m.Payload)
			go func() {
				select {
				case <-tok.Done():
					if err := tok.Error(); err != nil {
						p.done(fmt.Errorf("%w: %v", errLost, err))
						return
					}
					p.done(nil)
				case <-u.done:
					p.done(errLost)
				}
			}()
		}
	}
}

func (u *mqtt3) Subscribe(ctx context.Context, subs []remoteSub) error {
	if len(subs) == 0 {
		return nil
	}
	filters := make(map[string]byte, len(subs))
	for _, s := range subs {
		filters[s.Filter] = s.QoS
	}
	tok := u.c.SubscribeMultiple(filters, nil)
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return ctx.Err()
	case <-u.done:
		return u.Err()
	}
	if err := tok.Error(); err != nil {
		return err
	}
	for f, q := range tok.(*paho3.SubscribeToken).Result() {
		if q == 0x80 {
			return fmt.Errorf("subscription to %q refused", f)
		}
	}
	return nil
}

func (u *mqtt3) Close() {
	u.c.Disconnect(250)
	u.lost(errors.New("closed"))
}
