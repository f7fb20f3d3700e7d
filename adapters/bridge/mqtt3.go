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
// automatic reconnect is off; its store is the bridge's upSession
// (session3.go), so what it resends on connecting is the QoS 2 entries
// the outbox says are in flight, and nothing else.
type mqtt3 struct {
	c    paho3.Client
	sess *upSession
	out  chan pub3 // to the publishing goroutine, in order
	ending
}

var _ upstream = (*mqtt3)(nil)

func dialMQTT3(ctx context.Context, br *Bridge, addr string) (upstream, error) {
	cfg, handle := br.cfg, br.handleInbound
	t, err := parseAddr(addr, cfg.TLS != nil)
	if err != nil {
		return nil, err
	}
	pw, err := cfg.password()
	if err != nil {
		return nil, err
	}
	u := &mqtt3{out: make(chan pub3, 256), sess: br.sess}
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
		SetStore(&store3{s: br.sess, br: br}).
		SetOrderMatters(true).
		SetAutoAckDisabled(true).
		SetConnectTimeout(connectTimeout(ctx)).
		SetWriteTimeout(10 * time.Second).
		SetConnectionLostHandler(func(_ paho3.Client, err error) { u.lost(err) }).
		SetDefaultPublishHandler(func(_ paho3.Client, m paho3.Message) {
			if m.Qos() == 2 && m.Duplicate() && br.inIDs.seen(m.MessageID()) {
				m.Ack() // published locally already; PUBREC again
				return
			}
			sm := &store.Message{Topic: m.Topic(), Payload: m.Payload(), QoS: m.Qos(), Retain: m.Retained()}
			err := handle(sm)
			if err == nil && m.Qos() == 2 {
				err = br.inIDs.add(m.MessageID())
			}
			if err != nil {
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
	// Dial under ctx, so that stopping the bridge ends an attempt at once,
	// whatever the library's own timeouts; the connection is read through
	// a readTap.
	o.SetCustomOpenConnectionFn(func(*url.URL, paho3.ClientOptions) (net.Conn, error) {
		var c net.Conn
		var err error
		switch {
		case t.scheme == "ws" || t.scheme == "wss":
			c, err = dialWebSocket(ctx, t, tc)
		case tc != nil:
			d := tls.Dialer{Config: tc}
			c, err = d.DialContext(ctx, "tcp", t.host)
		default:
			var d net.Dialer
			c, err = d.DialContext(ctx, "tcp", t.host)
		}
		if err != nil {
			return nil, err
		}
		connMu.Lock()
		conn = c
		connMu.Unlock()
		return newReadTap(c, br), nil
	})
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
	seq  uint64
	m    *store.Message
	done func(error)
}

// Publish hands m to the publishing goroutine. paho.mqtt.golang's Publish
// can block for its whole write timeout when the connection is lost at
// the wrong moment (it still reports connected while its writer has
// stopped); the bridge's sender must see the loss at once instead.
func (u *mqtt3) Publish(seq uint64, m *store.Message, done func(error)) {
	select {
	case u.out <- pub3{seq, m, done}:
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
			u.sess.publishing(p.seq, p.m.QoS)
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

func (u *mqtt3) Unsubscribe(ctx context.Context, filters []string) error {
	tok := u.c.Unsubscribe(filters...)
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return ctx.Err()
	case <-u.done:
		return u.Err()
	}
	return tok.Error()
}

func (u *mqtt3) Close() {
	u.c.Disconnect(250)
	u.lost(errors.New("closed"))
}
