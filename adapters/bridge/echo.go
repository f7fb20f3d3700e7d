package bridge

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/mqgate/mqgate/core/topic"
)

// echoes remembers what a bridge to an MQTT 3.1.1 upstream sent there on
// topics its own in rules subscribe to. MQTT 3.1.1 has no No Local, so the
// upstream sends such a message straight back; it is recognized by topic
// and payload and dropped (and acknowledged) instead of being published
// locally a second time. A genuine upstream message identical to one the
// bridge sent within echoWindow is dropped too: that is the price of a
// bridge in both directions over 3.1.1; MQTT 5 upstreams use No Local.
type echoes struct {
	filters []string
	seed    maphash.Seed
	mu      sync.Mutex
	sent    map[uint64]*echo
}

type echo struct {
	n  int
	at time.Time
}

const (
	echoWindow = time.Minute
	echoMax    = 1 << 16
)

func newEchoes(filters []string) *echoes {
	return &echoes{filters: filters, seed: maphash.MakeSeed(), sent: map[uint64]*echo{}}
}

func (e *echoes) key(t string, payload []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(e.seed)
	h.WriteString(t)
	h.WriteByte(0)
	h.Write(payload)
	return h.Sum64()
}

// sending records a message about to be sent upstream, if it can come back.
func (e *echoes) sending(t string, payload []byte) {
	match := false
	for _, f := range e.filters {
		if topic.Match(f, t) {
			match = true
			break
		}
	}
	if !match {
		return
	}
	k := e.key(t, payload)
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.sent) >= echoMax {
		for k, v := range e.sent {
			if now.Sub(v.at) > echoWindow {
				delete(e.sent, k)
			}
		}
		if len(e.sent) >= echoMax {
			clear(e.sent)
		}
	}
	if v := e.sent[k]; v != nil {
		v.n++
		v.at = now
		return
	}
	e.sent[k] = &echo{n: 1, at: now}
}

// isEcho reports whether a message from the upstream is one the bridge
// sent, and forgets one sending of it.
func (e *echoes) isEcho(t string, payload []byte) bool {
	k := e.key(t, payload)
	e.mu.Lock()
	defer e.mu.Unlock()
	v := e.sent[k]
	if v == nil {
		return false
	}
	if time.Since(v.at) > echoWindow {
		delete(e.sent, k)
		return false
	}
	if v.n--; v.n == 0 {
		delete(e.sent, k)
	}
	return true
}
