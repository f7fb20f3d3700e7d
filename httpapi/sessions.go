package httpapi

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// DefaultSessionTTL is how long a login token lasts unless
// Config.SessionTTL says otherwise.
const DefaultSessionTTL = time.Hour

// maxSessions bounds the login tokens alive at once; a new login beyond
// it ends the oldest session.
const maxSessions = 1000

// sessions are the live login tokens. A token is 256 random bits that the
// server hands out once; it keeps only the token's SHA-256, so a memory
// dump yields no usable token, and a lookup keyed by the hash tells an
// attacker nothing through its timing. Nothing is written to disk: a
// restart signs everyone out.
type sessions struct {
	mu     sync.Mutex
	byHash map[[sha256.Size]byte]session
	max    int
}

// session is whom a token signed in, and until when.
type session struct {
	user    string
	expires time.Time
}

func newSessions(max int) *sessions {
	return &sessions{byHash: map[[sha256.Size]byte]session{}, max: max}
}

// create starts a session for user that lasts ttl from now and returns
// its token and when it expires. At the cap it first drops the expired sessions, then, if still
// full, the one that ends first: with one lifetime for all, the oldest.
func (ss *sessions) create(user string, now time.Time, ttl time.Duration) (token string, expires time.Time) {
	var b [32]byte
	rand.Read(b[:])
	token, expires = base64.RawURLEncoding.EncodeToString(b[:]), now.Add(ttl)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.byHash) >= ss.max {
		var oldest [sha256.Size]byte
		var first time.Time
		for h, s := range ss.byHash {
			if !s.expires.After(now) {
				delete(ss.byHash, h)
			} else if first.IsZero() || s.expires.Before(first) {
				oldest, first = h, s.expires
			}
		}
		if len(ss.byHash) >= ss.max {
			delete(ss.byHash, oldest)
		}
	}
	ss.byHash[sha256.Sum256([]byte(token))] = session{user: user, expires: expires}
	return token, expires
}

// lookup returns the user of a live token; an expired token is dropped.
func (ss *sessions) lookup(token string, now time.Time) (user string, ok bool) {
	h := sha256.Sum256([]byte(token))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byHash[h]
	if ok && !s.expires.After(now) {
		delete(ss.byHash, h)
		ok = false
	}
	return s.user, ok
}

// revoke ends the session of token, if it has one.
func (ss *sessions) revoke(token string) {
	h := sha256.Sum256([]byte(token))
	ss.mu.Lock()
	delete(ss.byHash, h)
	ss.mu.Unlock()
}

// len is the number of sessions held, expired ones not yet dropped
// included.
func (ss *sessions) len() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.byHash)
}
