package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/httpapi"
)

// bans are the banned clients: by client id, username or peer address
// (an IP or a CIDR), each with an optional expiry. They are checked when
// a client of any protocol authenticates, and kept in bans.json in the
// storage directory (in memory with storage.type memory).
type bans struct {
	mu   sync.Mutex
	list []httpapi.Ban // unexpired as of the last change
	path string        // "" keeps them in memory
}

func loadBans(path string) (*bans, error) {
	b := &bans{path: path}
	if path == "" {
		return b, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return b, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bans: %w", err)
	}
	if err := json.Unmarshal(data, &b.list); err != nil {
		return nil, fmt.Errorf("bans: %s: %w", path, err)
	}
	for _, ban := range b.list {
		if _, err := ban.Check(); err != nil {
			return nil, fmt.Errorf("bans: %s: %w", path, err)
		}
	}
	return b, nil
}

// matches reports whether a ban in force covers the client.
func (b *bans) matches(now time.Time, clientID, username string, peer netip.Addr) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ban := range b.list {
		if ban.Until != nil && !now.Before(*ban.Until) {
			continue
		}
		switch ban.As {
		case "clientid":
			if ban.Who == clientID {
				return true
			}
		case "username":
			if username != "" && ban.Who == username {
				return true
			}
		case "peerhost":
			if p, err := ban.Check(); err == nil && peer.IsValid() && p.Contains(peer.Unmap()) {
				return true
			}
		}
	}
	return false
}

// List implements httpapi.Bans.
func (b *bans) List() []httpapi.Ban {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []httpapi.Ban{}
	for _, ban := range b.list {
		if ban.Until == nil || now.Before(*ban.Until) {
			out = append(out, ban)
		}
	}
	return out
}

// add stores a ban, replacing one for the same (as, who), and drops the
// expired ones.
func (b *bans) add(ban httpapi.Ban) error {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	kept := slices.DeleteFunc(slices.Clone(b.list), func(x httpapi.Ban) bool {
		return x.As == ban.As && x.Who == ban.Who || x.Until != nil && !now.Before(*x.Until)
	})
	return b.saveLocked(append(kept, ban))
}

// Remove implements httpapi.Bans.
func (b *bans) Remove(as, who string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	kept := slices.DeleteFunc(slices.Clone(b.list), func(x httpapi.Ban) bool { return x.As == as && x.Who == who })
	if len(kept) == len(b.list) {
		return false, nil
	}
	return true, b.saveLocked(kept)
}

// saveLocked writes list (atomically, synced) and then makes it current,
// so a ban the API confirmed survives a restart.
func (b *bans) saveLocked(list []httpapi.Ban) error {
	if b.path != "" {
		data, err := json.MarshalIndent(list, "", "  ")
		if err != nil {
			return err
		}
		tmp, err := os.CreateTemp(filepath.Dir(b.path), ".bans.json.tmp*")
		if err != nil {
			return fmt.Errorf("bans: %w", err)
		}
		defer os.Remove(tmp.Name())
		_, err = tmp.Write(append(data, '\n'))
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), b.path)
		}
		if err != nil {
			return fmt.Errorf("bans: %w", err)
		}
	}
	b.list = list
	return nil
}

// banCheck is the head of the authentication chain: a banned client is
// denied, any other is left to the sources behind it. Without sources it
// answers as the broker does without an authenticator.
type banCheck struct {
	bans      *bans
	next      core.Authenticator // nil: none configured
	anonymous bool               // auth.allow_anonymous
}

func (c *banCheck) Authenticate(ctx context.Context, info *core.ClientInfo, password []byte) (core.Verdict, error) {
	if c.bans.matches(time.Now(), info.ClientID, info.Username, info.PeerAddr.Addr()) {
		return core.Deny, nil
	}
	if c.next != nil {
		return c.next.Authenticate(ctx, info, password)
	}
	// The broker without an authenticator lets every client in when
	// anonymous access is on, and only anonymous ones otherwise.
	if c.anonymous {
		return core.Allow, nil
	}
	return core.Ignore, nil
}

// Ban implements httpapi.Bans: it stores the ban and kicks the connected
// clients it matches.
func (g *Gateway) Ban(ban httpapi.Ban) (kicked int, err error) {
	if err := g.bans.add(ban); err != nil {
		return 0, err
	}
	now := time.Now()
	connected := true
	for cursor := ""; ; {
		p := g.Broker.Sessions(core.SessionQuery{Connected: &connected, Cursor: cursor, Limit: 1000})
		for _, s := range p.Sessions {
			var peer netip.Addr
			if ap, err := netip.ParseAddrPort(s.Peer); err == nil {
				peer = ap.Addr()
			}
			probe := bans{list: []httpapi.Ban{ban}}
			if probe.matches(now, s.ClientID, s.Username, peer) && g.Broker.Kick(s.Namespace, s.ClientID) {
				kicked++
			}
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	g.log.Info("client banned", "as", ban.As, "who", ban.Who, "reason", ban.Reason, "kicked", kicked)
	return kicked, nil
}

// banAPI is the ban list as the HTTP API sees it.
type banAPI struct{ g *Gateway }

func (a banAPI) List() []httpapi.Ban                 { return a.g.bans.List() }
func (a banAPI) Ban(b httpapi.Ban) (int, error)      { return a.g.Ban(b) }
func (a banAPI) Remove(as, who string) (bool, error) { return a.g.bans.Remove(as, who) }

// bansFile is where bans are kept: beside the store, or nowhere.
func bansFile(storageType, dir string) string {
	if storageType != "disk" {
		return ""
	}
	return filepath.Join(dir, "bans.json")
}
