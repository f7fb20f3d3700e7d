package pebble

import (
	engine "github.com/cockroachdb/pebble/v2"

	"github.com/mqgate/mqgate/core/store"
)

type bans struct{ s *Store }

func (s *Store) Bans() store.Bans { return bans{s} }

func banKey(kind, value string) []byte {
	return appendString(appendString([]byte{kindBan}, kind), value)
}

// Ban: version, reason, at, until; the key holds kind and value.
func appendBan(b []byte, ban *store.Ban) []byte {
	b = append(b, valueVersion)
	b = appendBytes(b, []byte(ban.Reason))
	b = appendTime(b, ban.At)
	return appendTime(b, ban.Until)
}

func (v bans) Put(b *store.Ban) error {
	// Bans are rare and must hold after a crash: written synced.
	return v.s.set(banKey(b.Kind, b.Value), func(buf []byte) []byte { return appendBan(buf, b) }, engine.Sync)
}

func (v bans) Delete(kind, value string) error {
	return v.s.err(v.s.db.Delete(banKey(kind, value), engine.Sync))
}

func (v bans) List() ([]store.Ban, error) {
	var out []store.Ban
	prefix := []byte{kindBan}
	err := v.s.scan(prefix, nil, func(k, val []byte) (bool, error) {
		kd := decoder{buf: append([]byte(nil), k[1:]...)}
		b := store.Ban{Kind: kd.string(), Value: kd.string()}
		d := decoder{buf: append([]byte(nil), val...)}
		d.version()
		b.Reason = d.string()
		b.At = d.time()
		b.Until = d.time()
		if kd.bad || d.bad {
			return false, v.s.corrupt(k)
		}
		out = append(out, b)
		return true, nil
	})
	return out, err
}
