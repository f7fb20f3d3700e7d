package conf_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/conf"
)

func TestStorageDefaultsToDiskInDataDir(t *testing.T) {
	s := conf.Default().Storage
	if s.Type != "disk" || s.Dir != "./data" || s.Sync != "always" || s.SyncInterval.D() != 100*time.Millisecond {
		t.Fatalf("storage defaults %+v", s)
	}
}

func TestStorageValidation(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"batch sync with an interval is valid", "storage: {sync: batch, sync_interval: 1s}", ""},
		{"memory needs no directory", "storage: {type: memory, dir: ''}", ""},
		{"unknown type", "storage: {type: tape}", `storage.type: "tape" is not one of: disk, memory`},
		{"disk needs a directory", "storage: {dir: ''}", "storage.dir: must name a directory"},
		{"unknown sync mode", "storage: {sync: sometimes}", `storage.sync: "sometimes" is not one of: always, batch`},
		{"interval must be positive", "storage: {sync_interval: 0s}", "storage.sync_interval: must be positive"},
		{"tiny cache", "storage: {cache_size: 1KiB}", "storage.cache_size: must be at least 1MiB"},
		{"huge memtable", "storage: {memtable_size: 2GiB}", "storage.memtable_size: must be between 1MiB and 1GiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := conf.Parse([]byte(tc.doc))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
