package profiling_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/internal/profiling"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(profiling.Handler())
	defer srv.Close()
	gzipped := func(b []byte) bool { return bytes.HasPrefix(b, []byte{0x1f, 0x8b}) }
	symbolPC := reflect.ValueOf(profiling.Handler).Pointer()
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		ok                       func([]byte) bool
	}{
		{"the index links every profile", "GET", "/debug/pprof/", "", 200, func(b []byte) bool {
			return bytes.Contains(b, []byte(`href="heap?debug=1"`)) && bytes.Contains(b, []byte(`href="goroutine?debug=1"`))
		}},
		{"a named profile is the gzipped protocol buffer", "GET", "/debug/pprof/heap", "", 200, gzipped},
		{"debug=1 is the text form", "GET", "/debug/pprof/heap?debug=1&gc=1", "", 200, func(b []byte) bool { return bytes.HasPrefix(b, []byte("heap profile:")) }},
		{"debug=2 lists every goroutine's stack", "GET", "/debug/pprof/goroutine?debug=2", "", 200, func(b []byte) bool { return bytes.Contains(b, []byte("goroutine ")) }},
		{"an unknown profile is not found", "GET", "/debug/pprof/nosuch", "", 404, nil},
		{"a delta profile is refused with the way around it", "GET", "/debug/pprof/heap?seconds=5", "", 400, func(b []byte) bool { return bytes.Contains(b, []byte("-base")) }},
		{"cmdline is the arguments separated by NUL", "GET", "/debug/pprof/cmdline", "", 200, func(b []byte) bool { return string(b) == strings.Join(os.Args, "\x00") }},
		{"a CPU profile for the seconds asked", "GET", "/debug/pprof/profile?seconds=0.1", "", 200, gzipped},
		{"an execution trace for the seconds asked", "GET", "/debug/pprof/trace?seconds=0.1", "", 200, func(b []byte) bool { return bytes.HasPrefix(b, []byte("go 1.")) }},
		{"symbol says symbols are available", "GET", "/debug/pprof/symbol", "", 200, func(b []byte) bool { return string(b) == "num_symbols: 1\n" }},
		{"symbol names the function at an address", "POST", "/debug/pprof/symbol", fmt.Sprintf("0x1+%#x", symbolPC), 200, func(b []byte) bool {
			return bytes.Contains(b, []byte(fmt.Sprintf("%#x github.com/mqgate/mqgate/internal/profiling.Handler\n", symbolPC)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, tc.status, body)
			}
			if tc.ok != nil && !tc.ok(body) {
				t.Errorf("unexpected body: %.300q", body)
			}
		})
	}
}
