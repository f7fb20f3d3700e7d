package bridge

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/eclipse/paho.golang/packets"

	"github.com/mqgate/mqgate/core/store"
)

// upstreamNamespace keys, in the store, the QoS 2 packet ids a bridge
// received from its upstream (PUBREC sent, PUBREL not yet received).
const upstreamNamespace = "bridge-upstream"

// inboundIDs are the QoS 2 packet ids the bridge received from its
// upstream, published locally and answered PUBREC, and not yet released:
// a PUBLISH the upstream sends again with one of them (DUP, after a
// reconnect or a restart that lost the PUBREC) is acknowledged without
// being published locally a second time.
//
// An id is recorded after the local publish is durable: a crash between
// the two publishes the message again (at least once), never loses it.
type inboundIDs struct {
	st  store.Store
	key store.Key
	mu  sync.Mutex
	ids map[uint16]bool
}

func openInboundIDs(st store.Store, name string) (*inboundIDs, error) {
	in := &inboundIDs{st: st, key: store.Key{Namespace: upstreamNamespace, ClientID: name}, ids: map[uint16]bool{}}
	ids, err := st.Inbound().List(in.key)
	if err != nil {
		return nil, fmt.Errorf("upstream packet ids: %w", err)
	}
	for _, id := range ids {
		in.ids[id] = true
	}
	return in, nil
}

func (in *inboundIDs) seen(id uint16) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.ids[id]
}

// add records id durably, before the PUBREC goes.
func (in *inboundIDs) add(id uint16) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.ids[id] = true
	if err := in.st.Inbound().Add(in.key, id, true); err != nil {
		return fmt.Errorf("upstream packet id: %w", err)
	}
	return nil
}

// release forgets id: PUBREL arrived.
func (in *inboundIDs) release(id uint16) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.ids[id] {
		delete(in.ids, id)
		_ = in.st.Inbound().Remove(in.key, id)
	}
}

// reset forgets every id: the upstream has no session for us.
func (in *inboundIDs) reset() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	for id := range in.ids {
		delete(in.ids, id)
		if err := in.st.Inbound().Remove(in.key, id); err != nil {
			return fmt.Errorf("upstream packet id: %w", err)
		}
	}
	return nil
}

// server5 is paho.golang's server session store made of inboundIDs: the
// library records there the QoS 2 ids it answered PUBREC, and drops a
// DUP PUBLISH for one of them instead of handing it to the bridge again.
type server5 struct{ in *inboundIDs }

func (s server5) Put(id uint16, typ byte, _ io.WriterTo) error {
	if typ == packets.PUBREC {
		return s.in.add(id)
	}
	return nil
}

// Get returns what the library reads of a stored packet: its type.
func (s server5) Get(id uint16) (io.ReadCloser, error) {
	if !s.in.seen(id) {
		return nil, fmt.Errorf("packet id %d not stored", id)
	}
	return io.NopCloser(bytes.NewReader([]byte{packets.PUBREC << 4, 2, byte(id >> 8), byte(id)})), nil
}

func (s server5) Delete(id uint16) error     { s.in.release(id); return nil }
func (s server5) Quarantine(id uint16) error { s.in.release(id); return nil }
func (s server5) Reset() error               { return s.in.reset() }

func (s server5) List() ([]uint16, error) {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	ids := make([]uint16, 0, len(s.in.ids))
	for id := range s.in.ids {
		ids = append(ids, id)
	}
	return ids, nil
}
