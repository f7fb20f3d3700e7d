package stomp

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/mqgate/mqgate/adapters/internal/netserve"
	"github.com/mqgate/mqgate/adapters/stomp/frame"
	"github.com/mqgate/mqgate/core"
)

// maxHeartBeat bounds a heart-beat value (about 11.5 days, in ms); a
// larger one is refused rather than taken as "never".
const maxHeartBeat = 999_999_999

// errNoVersion ends a connection whose CONNECT accepts no version the
// server speaks; the ERROR that says so is queued already.
var errNoVersion = errors.New("no supported protocol version")

// handshake reads CONNECT (or STOMP), authenticates the client through
// the core and answers CONNECTED; it starts the writer.
func (c *conn) handshake() error {
	f, n, err := c.next(&c.srv.first, frame.V11, c.srv.cfg.ConnectTimeout)
	if err != nil {
		return err
	}
	return c.connect(f, n)
}

// connect serves the CONNECT frame f, n bytes of rbuf.
func (c *conn) connect(f *frame.Frame, n int) error {
	if f.Command != frame.CONNECT && f.Command != frame.STOMP {
		return protoErr("expected CONNECT, got %s", f.Command)
	}
	v, ok := negotiate(f, c.wsMax)
	if !ok {
		// [STOMP 1.2 Protocol Negotiation] no common version: ERROR
		// with the versions the server supports.
		c.queue(func(b []byte) []byte {
			b = frame.AppendCommand(b, frame.ERROR)
			b = frame.AppendHeader(b, frame.V12, false, "version", "1.0,1.1,1.2")
			b = frame.AppendHeader(b, frame.V12, false, "message", "no supported protocol version")
			return frame.AppendBody(b, []byte("Supported protocol versions are 1.0 1.1 1.2"), false)
		})
		return errNoVersion
	}
	c.version = v
	var cx, cy int
	if v >= frame.V11 {
		if hb, ok := f.Value("heart-beat"); ok {
			if cx, cy, ok = parseHeartBeat(string(hb)); !ok {
				return protoErr("malformed heart-beat header %q", hb)
			}
		}
	}
	own := 0
	if c.srv.cfg.HeartBeat > 0 {
		own = int(c.srv.cfg.HeartBeat / time.Millisecond)
	}
	// [STOMP 1.2 Heart-beating] each direction runs at the larger of
	// what its sender can do and its receiver wants, or not at all.
	if own > 0 && cy > 0 {
		c.hbOut = time.Duration(max(own, cy)) * time.Millisecond
	}
	if own > 0 && cx > 0 {
		c.hbIn = time.Duration(max(own, cx)) * time.Millisecond
	}

	s := c.srv
	info := core.ClientInfo{
		Protocol: "stomp", Listener: c.l.cfg.Name, Namespace: s.cfg.Namespace,
		ClientID: f.Get("client-id"), Username: f.Get("login"),
		PeerAddr: c.tc.Remote(), Mountpoint: s.cfg.Mountpoint, Version: byte(v),
	}
	info.CertCN = certCN(c.nc)
	if t := c.l.cfg.TLS; t != nil && t.CNAsUsername && info.CertCN != "" {
		info.Username = info.CertCN
		info.CertIdentity = true
	}
	req := core.OpenRequest{CleanStart: true, ReceiveMaximum: s.cfg.MaxUnacked, Conn: c}
	if pw, ok := f.Value("passcode"); ok {
		req.Password = append([]byte{}, pw...)
	}
	if info.ClientID != "" && f.Get("persistent") == "true" {
		// A durable subscriber: its session and unacknowledged
		// messages wait for its next connection.
		req.CleanStart = false
		req.SessionExpiry = core.NeverExpire
	}
	if info.ClientID == "" {
		info.ClientID = s.broker.AssignClientID(s.cfg.Namespace)
	}
	req.Info = info
	receipt := valueOrNil(f, "receipt")
	c.consume(n)

	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ConnectTimeout)
	c.asked = true
	client, _, err := s.broker.Open(ctx, &req)
	cancel()
	if err != nil {
		var ce *core.CodeError
		if errors.As(err, &ce) {
			return &errProtocol{msg: ce.Code.String(), detail: ce.Msg}
		}
		var code core.Code
		if errors.As(err, &code) {
			return &errProtocol{msg: code.String()}
		}
		return &errProtocol{msg: "connect failed", detail: err.Error()}
	}
	c.client = client
	c.queue(func(b []byte) []byte {
		// CONNECTED is never escaped; its values are the server's own.
		b = frame.AppendCommand(b, frame.CONNECTED)
		if v >= frame.V11 {
			b = frame.AppendHeader(b, v, true, "version", v.String())
			b = frame.AppendHeader(b, v, true, "heart-beat", strconv.Itoa(ms(c.hbOut, own))+","+strconv.Itoa(ms(c.hbIn, own)))
		}
		b = frame.AppendHeader(b, v, true, "server", "mqgate/"+s.cfg.Version)
		b = frame.AppendHeader(b, v, true, "session", client.Info.ClientID)
		return append(b, '\n', 0)
	})
	c.receipt(receipt)
	if c.hbOut > 0 {
		c.hbTimer = time.AfterFunc(c.hbOut, c.beat)
	}
	c.ready.Store(true)
	c.Notify()
	s.log.Debug("stomp connected", "remote", c.tc.Remote(), "client", client.Info.ClientID, "version", v.String(),
		"heartbeat_out", c.hbOut, "heartbeat_in", c.hbIn)
	return nil
}

// certCN returns the verified client certificate's common name, if any.
func certCN(nc net.Conn) string {
	st, ok := netserve.ConnectionState(nc)
	if !ok || len(st.PeerCertificates) == 0 || len(st.VerifiedChains) == 0 {
		return ""
	}
	return st.PeerCertificates[0].Subject.CommonName
}

// ms is what CONNECTED announces for a direction: the server's own
// interval when it runs, 0 when the client wants none.
func ms(d time.Duration, own int) int {
	if d == 0 {
		return 0
	}
	return own
}

// negotiate picks the highest version both sides speak [STOMP 1.2
// Protocol Negotiation]; no accept-version header means 1.0. On a
// WebSocket whose subprotocol names a version (v11.stomp), no higher one
// is chosen, so the subprotocol and the frames agree.
func negotiate(f *frame.Frame, limit frame.Version) (frame.Version, bool) {
	if limit == 0 {
		limit = frame.V12
	}
	av, ok := f.Value("accept-version")
	if !ok {
		return frame.V10, true
	}
	var best frame.Version
	for tok := range strings.SplitSeq(string(av), ",") {
		var v frame.Version
		switch strings.TrimSpace(tok) {
		case "1.0":
			v = frame.V10
		case "1.1":
			v = frame.V11
		case "1.2":
			v = frame.V12
		}
		if v <= limit {
			best = max(best, v)
		}
	}
	return best, best != 0
}

// parseHeartBeat parses "cx,cy": two decimal numbers of milliseconds,
// nothing else.
func parseHeartBeat(s string) (cx, cy int, ok bool) {
	a, b, found := strings.Cut(s, ",")
	if !found {
		return 0, 0, false
	}
	if cx, ok = parseMillis(a); !ok {
		return 0, 0, false
	}
	cy, ok = parseMillis(b)
	return cx, cy, ok
}

func parseMillis(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n <= maxHeartBeat
}
