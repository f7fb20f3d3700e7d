package mqttsn

import "strings"

// Registry is one session's normal topic ids [MQTT-SN 6.5]: assigned by
// REGISTER from the client or by the gateway before a delivery, kept with
// the session across reconnects of a clean-session-0 client.
type Registry struct {
	byID   map[uint16]string
	byName map[string]uint16
	next   uint16
	min    uint16
}

func newRegistry(maxPredefined uint16) *Registry {
	return &Registry{byID: map[uint16]string{}, byName: map[string]uint16{}, min: maxPredefined + 1, next: maxPredefined + 1}
}

// Name returns the topic of a normal id.
func (r *Registry) Name(id uint16) (string, bool) {
	n, ok := r.byID[id]
	return n, ok
}

// ID returns the normal id of a topic.
func (r *Registry) ID(name string) (uint16, bool) {
	id, ok := r.byName[name]
	return id, ok
}

// Len is the number of registered topics.
func (r *Registry) Len() int { return len(r.byID) }

// Add returns the id of name, assigning a new one if needed. It fails when
// the registry holds max topics or the id space above the predefined ids
// is exhausted.
func (r *Registry) Add(name string, max int) (uint16, bool) {
	if id, ok := r.byName[name]; ok {
		return id, true
	}
	if len(r.byID) >= max || len(r.byID) >= int(0xFFFF-r.min)+1 {
		return 0, false
	}
	for {
		id := r.next
		if r.next == 0xFFFF {
			r.next = r.min
		} else {
			r.next++
		}
		if _, used := r.byID[id]; !used {
			// A name can be a view into a message that the registry
			// would otherwise keep alive.
			name = strings.Clone(name)
			r.byID[id] = name
			r.byName[name] = id
			return id, true
		}
	}
}

// Remove forgets a topic id.
func (r *Registry) Remove(id uint16) {
	if n, ok := r.byID[id]; ok {
		delete(r.byID, id)
		delete(r.byName, n)
	}
}
