package gateway_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/crypto/bcrypt"

	"github.com/mqgate/mqgate/core/auth"
)

// logRecord is one captured log record with its attributes as text.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// recorder is a slog.Handler that keeps every record for the test to read.
type recorder struct {
	mu      *sync.Mutex
	records *[]logRecord
	attrs   []slog.Attr
}

func newRecorder() *recorder { return &recorder{mu: new(sync.Mutex), records: new([]logRecord)} }

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	lr := logRecord{level: rec.Level, msg: rec.Message, attrs: map[string]string{}}
	for _, a := range r.attrs {
		lr.attrs[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		lr.attrs[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.records = append(*r.records, lr)
	return nil
}

func (r *recorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &recorder{mu: r.mu, records: r.records, attrs: append(r.attrs[:len(r.attrs):len(r.attrs)], attrs...)}
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

// reset forgets the records so far: those of starting the gateway.
func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.records = nil
}

// attr returns attribute key of the first record logged with message msg,
// or "" when there is none.
func (r *recorder) attr(msg, key string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range *r.records {
		if rec.msg == msg {
			return rec.attrs[key]
		}
	}
	return ""
}

// logged reports whether a record with level and message msg was logged.
func (r *recorder) logged(level slog.Level, msg string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range *r.records {
		if rec.level == level && rec.msg == msg {
			return true
		}
	}
	return false
}

// reload returns the records about reloading: every one logged since reset
// whose message speaks of a reload.
func (r *recorder) reload() []logRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []logRecord
	for _, rec := range *r.records {
		if strings.Contains(strings.ToLower(rec.msg), "reload") {
			out = append(out, rec)
		}
	}
	return out
}

// wantRecord is a record the reload must log: its level, message and the
// attributes given (a value ending in "*" is a prefix).
type wantRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (w wantRecord) matches(rec logRecord) bool {
	if rec.level != w.level || rec.msg != w.msg {
		return false
	}
	for k, v := range w.attrs {
		got, ok := rec.attrs[k]
		if !ok {
			return false
		}
		if prefix, ok := strings.CutSuffix(v, "*"); ok {
			if !strings.HasPrefix(got, prefix) {
				return false
			}
		} else if got != v {
			return false
		}
	}
	return true
}

// TestReloadLogsWhatItDid reloads gateways with no auth files, good files
// and a broken ACL file, and checks that the log says exactly what was
// reloaded, what was kept and why, one record per file.
func TestReloadLogsWhatItDid(t *testing.T) {
	const (
		goodACL   = "deny all subscribe secret/#\nallow all all #\n"
		brokenACL = "deny all subscribe secret/#\nthis is not a rule\n"
	)
	for _, tc := range []struct {
		name     string
		passwd   bool   // configure a password file with alice
		acl      string // initial ACL file; "" configures none
		newUsers []string
		newACL   string // ACL written before the reload; "" leaves it
		wantErr  string // "" for success
		want     func(pw, acl string) []wantRecord
		rmPasswd bool // remove the password file before the reload
		oldRules bool // check that the rules of acl still apply
	}{
		{
			name: "nothing configured says so",
			want: func(string, string) []wantRecord {
				return []wantRecord{{slog.LevelInfo, "reload: no password, ACL, API key or ban file configured, nothing to reload", nil}}
			},
		},
		{
			name:     "good files are reloaded with their counts",
			passwd:   true,
			acl:      goodACL,
			newUsers: []string{"bob", "carol"},
			newACL:   "allow all all #\n",
			want: func(pw, acl string) []wantRecord {
				return []wantRecord{
					{slog.LevelInfo, "password file reloaded", map[string]string{"file": pw, "users": "3"}},
					{slog.LevelInfo, "ACL file reloaded", map[string]string{"file": acl, "rules": "1", "subscriptions_removed": "0"}},
				}
			},
		},
		{
			name:    "a broken ACL file is kept, with the reason",
			passwd:  true,
			acl:     goodACL,
			newACL:  brokenACL,
			wantErr: "auth.acl_file: ",
			want: func(pw, acl string) []wantRecord {
				return []wantRecord{
					{slog.LevelInfo, "password file reloaded", map[string]string{"file": pw, "users": "1"}},
					{slog.LevelError, "ACL file reload failed, previous rules kept", map[string]string{
						"file": acl, "rules": "2", "err": "auth.acl_file: *"}},
				}
			},
			oldRules: true,
		},
		{
			name:     "a missing password file is kept, with the reason",
			passwd:   true,
			rmPasswd: true,
			wantErr:  "auth.password_file: ",
			want: func(pw, _ string) []wantRecord {
				return []wantRecord{{slog.LevelError, "password file reload failed, previous users kept", map[string]string{
					"file": pw, "users": "1", "err": "auth.password_file: password file: open " + pw + "*"}}}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			pw, acl := filepath.Join(dir, "passwd"), filepath.Join(dir, "acl")
			authConf := "allow_anonymous: true"
			if tc.passwd {
				if err := auth.SetPassword(pw, "alice", "secret", bcrypt.MinCost); err != nil {
					t.Fatal(err)
				}
				authConf += fmt.Sprintf(", password_file: %q", pw)
			}
			if tc.acl != "" {
				if err := os.WriteFile(acl, []byte(tc.acl), 0o600); err != nil {
					t.Fatal(err)
				}
				authConf += fmt.Sprintf(", acl_file: %q", acl)
			}
			rec := newRecorder()
			g := startLogging(t, fmt.Sprintf(`
mqtt: {listeners: [{name: tcp, type: tcp, address: "127.0.0.1:0"}]}
sys: {interval: 0s}
auth: {%s}
`, authConf), slog.New(rec))

			for _, u := range tc.newUsers {
				if err := auth.SetPassword(pw, u, "pw", bcrypt.MinCost); err != nil {
					t.Fatal(err)
				}
			}
			if tc.newACL != "" {
				if err := os.WriteFile(acl, []byte(tc.newACL), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tc.rmPasswd {
				if err := os.Remove(pw); err != nil {
					t.Fatal(err)
				}
			}
			rec.reset()
			err := g.Reload(context.Background())
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("reload: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("reload error = %v, want one containing %q", err, tc.wantErr)
			}

			got := rec.reload()
			want := tc.want(pw, acl)
			if len(got) != len(want) {
				t.Fatalf("reload logged %d records, want %d:\n%+v", len(got), len(want), got)
			}
			for i, w := range want {
				if !w.matches(got[i]) {
					t.Errorf("record %d = %+v, want %+v", i, got[i], w)
				}
			}

			if tc.oldRules {
				c, _, err := connect(t, g, "after-reload", "alice", "secret")
				if err != nil {
					t.Fatal(err)
				}
				for filter, want := range map[string]byte{"secret/#": 0x80, "open/#": 1} {
					tok := c.Subscribe(filter, 1, nil)
					if !tok.WaitTimeout(5 * time.Second) {
						t.Fatalf("subscribe %s timed out", filter)
					}
					if got := tok.(*paho3.SubscribeToken).Result()[filter]; got != want {
						t.Errorf("SUBACK for %s = %#x, want %#x under the rules kept", filter, got, want)
					}
				}
			}
		})
	}
}
