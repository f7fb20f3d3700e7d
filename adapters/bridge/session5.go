package bridge

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho/session/state"

	"github.com/mqgate/mqgate/core/store"
)

// store5 is paho.golang's client session store (what it resends after a
// reconnect when the upstream kept the session) made of the bridge's
// upSession: a PUBLISH it stores records the QoS 2 entry's packet id, a
// PUBREL records PUBREC, a deletion is the completion. The packets it
// resends are rebuilt from the outbox.
type store5 struct {
	s  *upSession
	br *Bridge
}

// newState5 is a connection's paho.golang session state: the client side
// from the upSession, the server side (QoS 2 ids received, PUBREC sent)
// from the bridge's inboundIDs.
func newState5(br *Bridge) *state.State {
	return state.New(&store5{s: br.sess, br: br}, server5{br.inIDs})
}

func (st *store5) Put(id uint16, typ byte, _ io.WriterTo) error {
	switch typ {
	case packets.PUBLISH:
		return st.s.sent(id)
	case packets.PUBREL:
		return st.s.released(id)
	}
	return nil
}

// Get rebuilds the packet to resend for id.
func (st *store5) Get(id uint16) (io.ReadCloser, error) {
	r, ok := st.s.record(id)
	if !ok {
		return nil, fmt.Errorf("packet id %d: no QoS 2 delivery", id)
	}
	var b bytes.Buffer
	if r.state == store.Released {
		p := packets.Pubrel{PacketID: id}
		if _, err := p.WriteTo(&b); err != nil {
			return nil, err
		}
		return io.NopCloser(&b), nil
	}
	e, err := st.br.entry(r.seq)
	if err != nil {
		st.s.completed(id) // its entry is gone: nothing to resend
		return nil, err
	}
	e, _ = st.br.ob.forwardable(e) // in flight: resent even if expired since
	p := toPaho5(st.br.withID(e)).Packet()
	p.QoS, p.PacketID = 2, id
	if _, err := p.WriteTo(&b); err != nil {
		return nil, err
	}
	return io.NopCloser(&b), nil
}

func (st *store5) Delete(id uint16) error {
	st.s.completed(id)
	return nil
}

// Quarantine is called for a packet Get returned that would not parse;
// Get builds them, so it does not happen: the entry is sent again as new.
func (st *store5) Quarantine(id uint16) error {
	return st.s.forget(id)
}

func (st *store5) List() ([]uint16, error) {
	rs := st.s.resumed()
	ids := make([]uint16, len(rs))
	for i, r := range rs {
		ids[i] = r.id
	}
	return ids, nil
}

// Reset is called when the upstream has no session for us (Session
// Present 0), or ours ended with the connection (session expiry 0).
func (st *store5) Reset() error {
	return st.s.lostSession()
}

// entry reads outbox entry seq from the store.
func (br *Bridge) entry(seq uint64) (store.OutboxEntry, error) {
	es, err := br.st.Outbox().Peek(br.cfg.Name, seq, 1)
	if err != nil {
		return store.OutboxEntry{}, fmt.Errorf("outbox: %w", err)
	}
	if len(es) == 0 || es[0].Seq != seq {
		return store.OutboxEntry{}, errors.New("outbox entry no longer stored")
	}
	return es[0], nil
}
