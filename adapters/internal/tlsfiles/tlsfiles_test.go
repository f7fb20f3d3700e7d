package tlsfiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/internal/testcert"
)

func TestLoadCAPool(t *testing.T) {
	dir := t.TempDir()
	files := testcert.Write(t, dir, "client")
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, wantErr string
	}{
		{"a CA file loads", files.CA, ""},
		{"a missing file is a read error", filepath.Join(dir, "missing.pem"), "read ca_file:"},
		{"a file without PEM certificates is rejected", notPEM, "ca_file " + notPEM + ": no PEM certificates"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, err := LoadCAPool(tc.path)
			if tc.wantErr == "" {
				if err != nil || pool == nil {
					t.Fatalf("LoadCAPool = %v, %v", pool, err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("LoadCAPool error = %v, want prefix %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoadKeyPair(t *testing.T) {
	files := testcert.Write(t, t.TempDir(), "client")
	if _, err := LoadKeyPair(files.Cert, files.Key); err != nil {
		t.Fatalf("LoadKeyPair: %v", err)
	}
	if _, err := LoadKeyPair(files.Cert, files.CA); err == nil || !strings.HasPrefix(err.Error(), "load certificate:") {
		t.Fatalf("LoadKeyPair with a certificate as key: %v, want load certificate error", err)
	}
}
