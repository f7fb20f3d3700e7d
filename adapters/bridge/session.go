package bridge

import (
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/mqgate/mqgate/core/store"
)

// upSession is the bridge's half of its MQTT session with the upstream:
// the outbox entries sent at QoS 2 and not yet completed, by the packet id
// they were sent with, kept in the store beside the entries.
//
// Exactly once over a reconnect or a restart needs the PUBLISH resent with
// its packet id (the upstream then knows it already has it), or the
// PUBREL rather than the PUBLISH once the upstream answered PUBREC (it has
// forgotten the id after delivering the message). Both libraries resend
// from their session store when the upstream kept the session; the
// bridge gives them this one (session3.go, session5.go), so the outbox
// stays the only source of truth.
//
// A record is written before the library hands the PUBLISH to the
// connection, and again before it hands it the PUBREL; the connection
// syncs the store before it writes (syncedConn), so one sync covers every
// record written meanwhile. A completed entry keeps its record
// (Released) until the entry leaves the store: after a crash in between
// the bridge sends a PUBREL the upstream answers for nothing, never the
// PUBLISH again.
type upSession struct {
	st   store.Store
	name string

	mu   sync.Mutex
	recs map[uint16]*delivery2 // by packet id: in flight in the library
	// The PUBLISH being handed to the library: its Put names it.
	cur    uint64
	curQoS byte
	// Entries the library completed from an earlier connection (resumed),
	// or that the upstream owns since it lost the session after PUBREC:
	// the sender removes them from the outbox.
	done   []uint64
	signal chan struct{}
	err    error       // the first store error: the connection is given up
	dirty  atomic.Bool // records written since the last barrier
	// What lostSession did with the QoS 2 records of the sessions the
	// upstream lost: entries sent again as new, and entries it had
	// answered PUBREC for, so delivered, taken as done.
	lostResent, lostDone atomic.Int64
}

// delivery2 is one QoS 2 outbox entry in the library's hands.
type delivery2 struct {
	seq     uint64
	state   store.DeliveryState // Published, Released
	resumed bool                // sent on an earlier connection
}

// openSession loads the records; of two with one packet id (the id was
// reused after a completion whose entry had not yet left the store) the
// older one is complete.
func openSession(st store.Store, name string, ob *outbox) (*upSession, error) {
	s := &upSession{st: st, name: name, recs: map[uint16]*delivery2{}, signal: make(chan struct{}, 1)}
	ds, err := st.Outbox().Deliveries(name)
	if err != nil {
		// A record the store cannot read (checklist #3): the entries in
		// flight lose their packet ids and go again as new, at least
		// once, rather than the bridge not starting. The records of the
		// first entries, where the ones in flight are, are cleared, the
		// unreadable one with them.
		if cerr := ob.forgetDeliveries(2*65536 + flushEvery); cerr != nil {
			return nil, fmt.Errorf("outbox deliveries: %w (clearing them: %v)", err, cerr)
		}
		ob.log.Error("bridge QoS 2 delivery records unreadable: cleared, the messages in flight go again as new", "err", err)
		return s, nil
	}
	for _, d := range ds {
		if old := s.recs[d.PacketID]; old != nil {
			if err := ob.remove(old.seq); err != nil {
				return nil, err
			}
		}
		if !ob.has(d.Seq) {
			continue
		}
		s.recs[d.PacketID] = &delivery2{seq: d.Seq, state: d.State, resumed: true}
	}
	return s, nil
}

// publishing names the entry the next PUBLISH handed to the library
// carries; the caller serializes publishes.
func (s *upSession) publishing(seq uint64, qos byte) {
	s.mu.Lock()
	s.cur, s.curQoS = seq, qos
	s.mu.Unlock()
}

// sent records that the library gave the PUBLISH of the current entry
// packet id id, before it writes it. Only QoS 2 needs the record: a QoS 1
// message sent again with a new id is at least once, as it should be.
func (s *upSession) sent(id uint16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.curQoS != 2 {
		return nil
	}
	s.recs[id] = &delivery2{seq: s.cur, state: store.Published}
	return s.saveLocked(id, store.Published)
}

// released records that the upstream answered PUBREC for id, before the
// library writes the PUBREL.
func (s *upSession) released(id uint16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.recs[id]
	if r == nil || r.state == store.Released {
		return nil
	}
	r.state = store.Released
	return s.saveLocked(id, store.Released)
}

// saveLocked writes id's record unsynced: the packet that depends on it
// waits in barrier, so that one sync covers every record written while the
// connection's writer was busy.
func (s *upSession) saveLocked(id uint16, st store.DeliveryState) error {
	err := s.st.Outbox().SetDelivery(s.name, store.OutboxDelivery{Seq: s.recs[id].seq, PacketID: id, State: st}, false)
	if err != nil {
		err = fmt.Errorf("outbox delivery state: %w", err)
		if s.err == nil {
			s.err = err
		}
		return err
	}
	s.dirty.Store(true)
	return nil
}

// barrier makes every record written so far durable; the upstream
// connection calls it before each write, so no PUBLISH or PUBREL reaches
// the wire before the record that names it is on stable storage.
func (s *upSession) barrier() error {
	if !s.dirty.Swap(false) {
		return nil
	}
	if err := s.st.Sync(); err != nil {
		err = fmt.Errorf("outbox delivery state: %w", err)
		s.mu.Lock()
		if s.err == nil {
			s.err = err
		}
		s.mu.Unlock()
		return err
	}
	return nil
}

// syncedConn is an upstream connection whose writes wait for the
// session's records (barrier).
type syncedConn struct {
	net.Conn
	s *upSession
}

func (c syncedConn) Write(p []byte) (int, error) {
	if err := c.s.barrier(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// completed forgets id: PUBCOMP arrived (or the upstream refused the
// message). The entry is handed to the sender, which may also learn of it
// from the library's answer to its publish; but that answer is lost when
// the connection ends right after PUBCOMP, and a resumed entry has none.
func (s *upSession) completed(id uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.recs[id]
	if r == nil {
		return
	}
	delete(s.recs, id)
	s.doneLocked(r.seq)
}

func (s *upSession) doneLocked(seq uint64) {
	s.done = append(s.done, seq)
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// lostSession handles an upstream without our session (Session Present
// 0): what it answered PUBREC for is its own now, done; what it did not
// is sent again as new.
func (s *upSession) lostSession() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, r := range s.recs {
		delete(s.recs, id)
		if r.state == store.Released {
			s.doneLocked(r.seq)
			s.lostDone.Add(1)
			continue
		}
		if err := s.st.Outbox().SetDelivery(s.name, store.OutboxDelivery{Seq: r.seq, State: store.Queued}, false); err != nil {
			return fmt.Errorf("outbox delivery state: %w", err)
		}
		s.lostResent.Add(1)
	}
	return nil
}

// connected marks every record resumed: the library resends them on the
// connection now starting. It is called before the library connects.
func (s *upSession) connected() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = nil
	for _, r := range s.recs {
		r.resumed = true
	}
}

// resumedEntry is one record in the library's resend order.
type resumedEntry struct {
	id    uint16
	seq   uint64
	state store.DeliveryState
}

// resumed returns the records in entry order: the order to resend them.
func (s *upSession) resumed() []resumedEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]resumedEntry, 0, len(s.recs))
	for id, r := range s.recs {
		out = append(out, resumedEntry{id, r.seq, r.state})
	}
	slices.SortFunc(out, func(a, b resumedEntry) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	return out
}

// record returns the record of id.
func (s *upSession) record(id uint16) (resumedEntry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.recs[id]
	if r == nil {
		return resumedEntry{}, false
	}
	return resumedEntry{id, r.seq, r.state}, true
}

// resending reports whether entry seq is the library's to resend (from
// an earlier connection) or done and not yet taken by the sender: the
// sender must not publish it again.
func (s *upSession) resending(seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recs {
		if r.seq == seq {
			return r.resumed
		}
	}
	return slices.Contains(s.done, seq)
}

// tracks reports whether the session will report entry seq done: it has
// its record, or has it done already. A QoS 2 entry the upstream took at
// QoS 1 (its maximum) has none.
func (s *upSession) tracks(seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recs {
		if r.seq == seq {
			return true
		}
	}
	return slices.Contains(s.done, seq)
}

// releasing reports whether a resumed PUBREL awaits its PUBCOMP.
func (s *upSession) releasing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recs {
		if r.resumed && r.state == store.Released {
			return true
		}
	}
	return false
}

// forget drops the record of id: its entry is sent again as new.
func (s *upSession) forget(id uint16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.recs[id]
	if r == nil {
		return nil
	}
	delete(s.recs, id)
	return s.st.Outbox().SetDelivery(s.name, store.OutboxDelivery{Seq: r.seq, State: store.Queued}, false)
}

// takeDone returns the entries completed outside the sender's view.
func (s *upSession) takeDone() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.done
	s.done = nil
	return d
}

// failure is the first store error of the session, if any.
func (s *upSession) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
