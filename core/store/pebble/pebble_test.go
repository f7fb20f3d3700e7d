package pebble

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/store/storetest"
)

func openTest(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t, t.TempDir(), Options{}) })
}

func TestConformanceBatchSync(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTest(t, t.TempDir(), Options{Sync: SyncBatch})
	})
}

func TestDurable(t *testing.T) {
	storetest.RunDurable(t, func(t *testing.T, dir string) store.Store { return openTest(t, dir, Options{}) })
}

func TestOpenRefusesBadDirectory(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		want    []string // substrings of the error
	}{
		{"foreign files", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "notes.txt"), "mine")
		}, []string{"not an mqgate data directory", "notes.txt"}},
		{"corrupt manifest", func(t *testing.T, dir string) {
			s := openTest(t, dir, Options{})
			if _, err := s.Queues().Append(store.Key{ClientID: "c"}, &store.QueueEntry{Message: &store.Message{Topic: "t"}}, true); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			m, _ := filepath.Glob(filepath.Join(dir, "MANIFEST-*"))
			if len(m) == 0 {
				t.Fatal("no MANIFEST written")
			}
			for _, f := range m {
				write(t, f, strings.Repeat("\xde\xad", 100))
			}
		}, []string{"move it aside", "MANIFEST"}},
		{"unreadable", func(t *testing.T, dir string) {
			if os.Geteuid() == 0 {
				// Root reads anything; use a file where a directory belongs.
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				write(t, dir, "a file")
				return
			}
			if err := os.Chmod(dir, 0); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o755) })
		}, []string{"move it aside"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			tt.prepare(t, dir)
			before := listAll(t, dir)
			s, err := Open(dir, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			for _, w := range append(tt.want, dir) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if after := listAll(t, dir); after != before {
				t.Errorf("Open changed the directory:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func write(t *testing.T, name, data string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// listAll describes every file under dir with its size and content hash
// prefix, to prove a failed Open left it alone.
func listAll(t *testing.T, dir string) string {
	var b strings.Builder
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			b.WriteString(p + ": " + err.Error() + "\n")
			return nil
		}
		data, _ := os.ReadFile(p)
		b.WriteString(p + " " + fi.Mode().String() + " " + string(data) + "\n")
		return nil
	})
	return b.String()
}
