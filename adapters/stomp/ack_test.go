package stomp_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	gostomp "github.com/go-stomp/stomp/v3"

	"github.com/mqgate/mqgate/adapters/stomp"
	"github.com/mqgate/mqgate/core"
)

func TestOverlappingSubscriptionsEachReceive(t *testing.T) {
	ts := startServer(t)
	s := dial(t, ts)
	a := subscribe(t, s, "o/+", gostomp.AckAuto)
	b := subscribe(t, s, "o/1", gostomp.AckClientIndividual)
	p := dial(t, ts)
	if err := p.Send("o/1", "", []byte("m"), gostomp.SendOpt.Receipt); err != nil {
		t.Fatal(err)
	}
	ma, mb := next(t, a), next(t, b)
	if ma.Header.Get("message-id") == mb.Header.Get("message-id") {
		t.Fatal("two deliveries share a message-id")
	}
	if mb.Header.Get("ack") == "" || ma.Header.Get("ack") != "" {
		t.Fatalf("ack header: auto %q, client-individual %q", ma.Header.Get("ack"), mb.Header.Get("ack"))
	}
	if err := s.Ack(mb); err != nil {
		t.Fatal(err)
	}
}

func TestNackRedelivers(t *testing.T) {
	ts := startServer(t)
	s := dial(t, ts)
	sub := subscribe(t, s, "n", gostomp.AckClientIndividual)
	m := connectMQTT(t, ts, "dev")
	m.pub(t, "n", 1, "one")
	first := next(t, sub)
	if first.Header.Get("redelivered") != "" {
		t.Fatal("first delivery marked redelivered")
	}
	if err := s.Nack(first); err != nil {
		t.Fatal(err)
	}
	again := next(t, sub)
	if string(again.Body) != "one" || again.Header.Get("redelivered") != "true" {
		t.Fatalf("redelivery: %q redelivered=%q", again.Body, again.Header.Get("redelivered"))
	}
	if err := s.Ack(again); err != nil {
		t.Fatal(err)
	}
	syncConn(t, s)
	if n := unsettled(ts); n != 0 {
		t.Fatalf("%d unsettled after ACK", n)
	}
}

// unsettled counts the inflight deliveries of every STOMP session.
func unsettled(ts *testServer) int {
	n := 0
	for _, s := range ts.broker.Sessions(core.SessionQuery{Protocol: "stomp"}).Sessions {
		n += s.Inflight
	}
	return n
}

func TestClientAckIsCumulative(t *testing.T) {
	ts := startServer(t)
	s := dial(t, ts)
	sub := subscribe(t, s, "c", gostomp.AckClient)
	m := connectMQTT(t, ts, "dev")
	for i := range 3 {
		m.pub(t, "c", 1, fmt.Sprint(i))
	}
	var last *gostomp.Message
	for range 3 {
		last = next(t, sub)
	}
	if err := s.Ack(last); err != nil {
		t.Fatal(err)
	}
	syncConn(t, s)
	if n := unsettled(ts); n != 0 {
		t.Fatalf("%d unsettled after a cumulative ACK of the last", n)
	}
}

func TestIndividualAckSettlesOne(t *testing.T) {
	ts := startServer(t)
	s := dial(t, ts)
	sub := subscribe(t, s, "i", gostomp.AckClientIndividual)
	m := connectMQTT(t, ts, "dev")
	m.pub(t, "i", 1, "0")
	m.pub(t, "i", 1, "1")
	next(t, sub)
	second := next(t, sub)
	if err := s.Ack(second); err != nil {
		t.Fatal(err)
	}
	syncConn(t, s)
	if n := unsettled(ts); n != 1 {
		t.Fatalf("%d unsettled, want the first one", n)
	}
}

func TestTransactions(t *testing.T) {
	ts := startServer(t)
	m := connectMQTT(t, ts, "dev")
	m.sub(t, "tx/#", 1)
	s := dial(t, ts)
	aborted := s.Begin()
	if err := aborted.Send("tx/aborted", "", []byte("no")); err != nil {
		t.Fatal(err)
	}
	if err := aborted.Abort(); err != nil {
		t.Fatal(err)
	}
	tx := s.Begin()
	if err := tx.Send("tx/committed", "", []byte("yes")); err != nil {
		t.Fatal(err)
	}
	syncConn(t, s)
	select {
	case got := <-m.msgs:
		t.Fatalf("%s arrived before COMMIT", got.Topic())
	default:
	}
	if err := tx.CommitWithReceipt(); err != nil {
		t.Fatal(err)
	}
	if got := m.next(t); got.Topic() != "tx/committed" {
		t.Fatalf("got %s, want only the committed SEND", got.Topic())
	}
}

func TestTransactionalAck(t *testing.T) {
	ts := startServer(t)
	s := dial(t, ts)
	sub := subscribe(t, s, "ta", gostomp.AckClientIndividual)
	connectMQTT(t, ts, "dev").pub(t, "ta", 1, "x")
	msg := next(t, sub)
	tx := s.Begin()
	if err := tx.Ack(msg); err != nil {
		t.Fatal(err)
	}
	syncConn(t, s)
	if n := unsettled(ts); n != 1 {
		t.Fatalf("ACK in an open transaction settled it: %d unsettled", n)
	}
	if err := tx.CommitWithReceipt(); err != nil {
		t.Fatal(err)
	}
	if n := unsettled(ts); n != 0 {
		t.Fatalf("%d unsettled after COMMIT", n)
	}
}

type denyAll struct{}

func (denyAll) Authenticate(_ context.Context, c *core.ClientInfo, pw []byte) (core.Verdict, error) {
	if c.Username == "alice" && string(pw) == `se\cret` {
		return core.Allow, nil
	}
	return core.Deny, nil
}

func TestAuthentication(t *testing.T) {
	ts := startServer(t, func(bc *core.Config, _ *stomp.Config) { bc.AllowAnonymous = false; bc.Authenticator = denyAll{} })
	if _, err := gostomp.Dial("tcp", ts.tcp(), gostomp.ConnOpt.Login("alice", "wrong")); err == nil {
		t.Fatal("wrong passcode accepted")
	}
	// A CONNECT frame is never unescaped: the passcode keeps its
	// backslash. go-stomp's client escapes CONNECT headers, so this one
	// is written raw.
	r := dialRaw(t, ts.tcp())
	r.send(t, "CONNECT\naccept-version:1.2\nhost:h\nlogin:alice\npasscode:se\\cret\n\n\x00")
	if f := r.frame(t); !hasPrefix(f, "CONNECTED\n") {
		t.Fatalf("got %q", f)
	}
	r2 := dialRaw(t, ts.tcp())
	r2.send(t, "CONNECT\naccept-version:1.2\nhost:h\nlogin:alice\npasscode:x\n\n\x00")
	if f := r2.frame(t); !hasPrefix(f, "ERROR\n") || !contains(f, "message:bad username or password") && !contains(f, "message:not authorized") {
		t.Fatalf("got %q", f)
	}
	r2.closed(t)
}

// TestPrefetchCount: a client-individual subscription with
// prefetch-count:2 has at most two MESSAGEs awaiting ACK; each ACK lets
// the next one through, in order.
func TestPrefetchCount(t *testing.T) {
	ts := startServer(t)
	r := connected(t, ts)
	r.send(t, "SUBSCRIBE\nid:p\ndestination:pf\nack:client-individual\nprefetch-count:2\nreceipt:s\n\n\x00")
	r.frame(t)
	m := connectMQTT(t, ts, "dev")
	for i := range 5 {
		m.pub(t, "pf", 1, fmt.Sprint(i))
	}
	// The prefetch: two MESSAGEs come. They are written as the session
	// hands them out, not in step with this connection's own frames, so
	// the test reads them first and then asks for a receipt: a third
	// MESSAGE before any ACK would come ahead of it (given a moment).
	got := []string{r.frame(t), r.frame(t)}
	for _, f := range got {
		if !strings.HasPrefix(f, "MESSAGE\n") {
			t.Fatalf("got %q, want a MESSAGE", f)
		}
	}
	time.Sleep(100 * time.Millisecond)
	r.send(t, "SEND\ndestination:pf-marker\nreceipt:marker\n\n\x00")
	if f := r.frame(t); !strings.Contains(f, "receipt-id:marker") {
		t.Fatalf("before any ACK, beyond the prefetch of 2: %q", f)
	}
	for i := 2; i < 5; i++ {
		r.send(t, "ACK\nid:"+header(got[0], "ack")+"\n\n\x00")
		got = got[1:]
		f := r.frame(t)
		if !strings.HasSuffix(f, "\n"+fmt.Sprint(i)+"\x00") {
			t.Fatalf("after an ACK: %q, want message %d", f, i)
		}
		got = append(got, f)
	}
}
