package bridge

import (
	"log/slog"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/store/memory"
)

func TestPoisonStrikes(t *testing.T) {
	st := memory.New()
	ob, _ := openOutbox(st, "b", 100, 1<<20, true, false, slog.New(slog.DiscardHandler))
	for range 3 {
		ob.append(&store.Message{Topic: "t", QoS: 1})
	}
	first, _, _ := ob.peek(0, 1)
	head := first[0].Seq
	br := &Bridge{ob: ob, log: slog.New(slog.DiscardHandler)}
	quick := time.Second
	cases := []struct {
		name    string
		res     sendResult
		life    time.Duration
		strikes int
		probing bool
	}{
		{"a connection that got an acknowledgement is no strike", sendResult{acked: 1, head: head}, quick, 0, false},
		{"a quick loss with the head unacknowledged is a strike", sendResult{head: head}, quick, 1, false},
		{"a long-lived connection is no strike", sendResult{head: head}, time.Minute, 0, false},
		{"strike one", sendResult{head: head}, quick, 1, false},
		{"strike two probes with one in flight", sendResult{head: head}, quick, 2, true},
		{"progress ends the probing", sendResult{acked: 3, head: head}, quick, 0, false},
		{"strike one again", sendResult{head: head}, quick, 1, false},
		{"another head starts over", sendResult{head: head + 1}, quick, 1, false},
	}
	for _, c := range cases {
		br.poison.connectionEnded(br, c.res, c.life)
		if br.poison.strikes != c.strikes || br.poison.probing != c.probing {
			t.Fatalf("%s: %+v", c.name, br.poison)
		}
	}
	for range poisonStrikes - 1 {
		br.poison.connectionEnded(br, sendResult{head: head + 1}, quick)
	}
	if st := ob.stats(); st.Count != 2 || st.Drops != 1 {
		t.Fatalf("after %d strikes: %+v", poisonStrikes, st)
	}
}

func TestBackoffIsCappedWithJitter(t *testing.T) {
	lo, hi := 100*time.Millisecond, 2*time.Second
	for n := range 12 {
		want := min(lo<<n, hi)
		for range 50 {
			if d := backoff(n, lo, hi); d < want/2 || d > want {
				t.Fatalf("attempt %d: %v outside [%v, %v]", n, d, want/2, want)
			}
		}
	}
}

func TestEchoesDropOnlyWhatWasSent(t *testing.T) {
	e := newEchoes([]string{"a/#"})
	e.sending("a/x", []byte("1"))
	e.sending("a/x", []byte("1")) // sent twice: two echoes
	e.sending("b/x", []byte("1")) // no in rule matches: no echo expected
	for i, c := range []struct {
		topic, payload string
		echo           bool
	}{
		{"a/x", "1", true},
		{"a/x", "2", false},
		{"b/x", "1", false},
		{"a/x", "1", true},
		{"a/x", "1", false}, // both echoes seen: this one is genuine
	} {
		if got := e.isEcho(c.topic, []byte(c.payload)); got != c.echo {
			t.Fatalf("%d: isEcho(%s, %s) = %v", i, c.topic, c.payload, got)
		}
	}
}
