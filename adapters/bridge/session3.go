package bridge

import (
	"net"
	"strconv"
	"strings"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/mqgate/mqgate/core/store"
)

// store3 is paho.mqtt.golang's store (what it resends on connecting with
// Clean Session 0) made of the bridge's upSession: a QoS 2 PUBLISH it
// stores records the entry's packet id, a deletion is the completion.
// Only the QoS 2 records are listed; the library keeps nothing else
// across connections, as the fresh memory store it had before did not.
//
// paho.mqtt.golang neither stores nor resends a PUBREL, and reports the
// upstream's Session Present only after resending; readTap (below) sees
// both on the wire.
type store3 struct {
	s  *upSession
	br *Bridge
}

func (st *store3) Open()  {}
func (st *store3) Close() {}

func (st *store3) Put(key string, p packets.ControlPacket) {
	if id, out := key3(key); out {
		if _, ok := p.(*packets.PublishPacket); ok {
			// An error is kept by the session; the sender ends the
			// connection on it.
			_ = st.s.sent(id)
		}
	}
}

func (st *store3) Get(key string) packets.ControlPacket {
	id, out := key3(key)
	if !out {
		return nil
	}
	r, ok := st.s.record(id)
	if !ok {
		return nil
	}
	if r.state == store.Released {
		p := packets.NewControlPacket(packets.Pubrel).(*packets.PubrelPacket)
		p.MessageID = id
		return p
	}
	e, err := st.br.entry(r.seq)
	if err != nil {
		st.s.completed(id) // its entry is gone: nothing to resend
		return nil
	}
	m := e.Message
	p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	p.Qos, p.MessageID, p.TopicName, p.Retain, p.Payload = 2, id, m.Topic, m.Retain, m.Payload
	return p
}

func (st *store3) All() []string {
	rs := st.s.resumed()
	keys := make([]string, len(rs))
	for i, r := range rs {
		keys[i] = "o." + strconv.Itoa(int(r.id))
	}
	return keys
}

func (st *store3) Del(key string) {
	if id, out := key3(key); out {
		st.s.completed(id)
	}
}

// Reset is called on connecting with Clean Session 1: the upstream has no
// session for us.
func (st *store3) Reset() {
	_ = st.s.lostSession()
}

// key3 reads a store key "o.ID" (outbound) or "i.ID".
func key3(key string) (uint16, bool) {
	rest, out := strings.CutPrefix(key, "o.")
	if !out {
		return 0, false
	}
	id, err := strconv.ParseUint(rest, 10, 16)
	return uint16(id), err == nil
}

// readTap follows the MQTT packets the upstream sends, without changing
// them, and tells the bridge of CONNACK's Session Present, of every PUBREC
// before the library reads it (so before it writes the PUBREL), and of
// every PUBREL (the upstream's QoS 2 id is released).
type readTap struct {
	net.Conn
	s *upSession
	// The packet being read: its first byte, remaining length (being
	// decoded while lenDone is false), and the body bytes kept (the first
	// two are all that matter).
	typ     byte
	hdr     bool // the first byte was read
	lenDone bool
	mult    int
	remain  int
	body    []byte
	lenErr  bool
	onEvent func(typ byte, body []byte)
}

func newReadTap(c net.Conn, br *Bridge) *readTap {
	t := &readTap{Conn: c, s: br.sess, mult: 1}
	t.onEvent = func(typ byte, body []byte) {
		switch {
		case typ == packets.Connack && len(body) >= 1 && body[0]&1 == 0:
			_ = br.sess.lostSession()
			_ = br.inIDs.reset()
		case typ == packets.Pubrec && len(body) >= 2:
			_ = br.sess.released(uint16(body[0])<<8 | uint16(body[1]))
		case typ == packets.Pubrel && len(body) >= 2:
			br.inIDs.release(uint16(body[0])<<8 | uint16(body[1]))
		}
	}
	return t
}

// Write syncs the session's records first (upSession.barrier).
func (t *readTap) Write(p []byte) (int, error) {
	if err := t.s.barrier(); err != nil {
		return 0, err
	}
	return t.Conn.Write(p)
}

func (t *readTap) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	if !t.lenErr {
		t.follow(p[:n])
	}
	return n, err
}

// follow advances over b; a malformed length stops the following (the
// library closes the connection on it).
func (t *readTap) follow(b []byte) {
	for len(b) > 0 {
		switch {
		case !t.hdr:
			t.typ, t.hdr = b[0]>>4, true
			t.lenDone, t.mult, t.remain, t.body = false, 1, 0, t.body[:0]
			b = b[1:]
		case !t.lenDone:
			c := b[0]
			b = b[1:]
			t.remain += int(c&127) * t.mult
			t.mult *= 128
			if c&128 == 0 {
				t.lenDone = true
				t.complete()
			} else if t.mult > 128*128*128 {
				t.lenErr = true
				return
			}
		default:
			k := min(t.remain, len(b))
			if keep := min(k, 2-len(t.body)); keep > 0 && (t.typ == packets.Connack || t.typ == packets.Pubrec || t.typ == packets.Pubrel) {
				t.body = append(t.body, b[:keep]...)
			}
			t.remain -= k
			b = b[k:]
			t.complete()
		}
	}
}

// complete ends the packet once its body is read.
func (t *readTap) complete() {
	if !t.lenDone || t.remain > 0 {
		return
	}
	t.onEvent(t.typ, t.body)
	t.hdr = false
}
