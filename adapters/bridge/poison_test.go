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
	ob, _ := openOutbox(st, "b", 100, 1<<20, true)
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
