package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestWrongMethodIs405WithAllow: on every route's path, each method the
// path does not have gets a JSON 405 whose Allow header lists the methods
// it has (HEAD with GET), whichever those are, PUT included.
func TestWrongMethodIs405WithAllow(t *testing.T) {
	s := New(Config{})
	param := regexp.MustCompile(`\{[^}]+\}`)
	var paths []string
	has := map[string][]string{}
	for _, rt := range routes {
		if has[rt.path] == nil {
			paths = append(paths, rt.path)
		}
		has[rt.path] = append(has[rt.path], rt.method)
		if rt.method == "GET" {
			has[rt.path] = append(has[rt.path], "HEAD")
		}
	}
	for _, p := range paths {
		path := param.ReplaceAllString(p, "x")
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
			if slices.Contains(has[p], m) {
				continue
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest(m, path, strings.NewReader("{}")))
			var e apiError
			if w.Code != http.StatusMethodNotAllowed || m != "HEAD" && (json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Code != "METHOD_NOT_ALLOWED") {
				t.Errorf("%s %s = %d %s, want a JSON 405", m, path, w.Code, w.Body)
				continue
			}
			if got, want := w.Header().Get("Allow"), strings.Join(has[p], ", "); got != want {
				t.Errorf("%s %s: Allow = %q, want %q", m, path, got, want)
			}
		}
	}
}

// TestMethodsAPathHasAreServed: a method the path has reaches its handler
// (HEAD through GET), and an unknown path is still 404.
func TestMethodsAPathHasAreServed(t *testing.T) {
	s := New(Config{})
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/healthz", 200},
		{"HEAD", "/healthz", 200},
		{"GET", "/api/v1/openapi.json", 200},
		{"DELETE", "/api/v1/nothing", 404},
		{"GET", "/api/v1/nothing", 404},
	} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
		if w.Code != tc.want {
			t.Errorf("%s %s = %d %s, want %d", tc.method, tc.path, w.Code, w.Body, tc.want)
		}
	}
}
