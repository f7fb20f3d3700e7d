package frame

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var testLimits = Limits{MaxLine: 4096, MaxHeaders: 16, MaxBody: 1024}

// fixtures reads the named raw frames in testdata/stomp.
func fixtures(t testing.TB) map[string][]byte {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "testdata", "stomp")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

// want is a fixture's outcome under 1.1 and 1.2 (and 1.0 unless v10 says
// otherwise): "ok", "short", or a substring of the error.
var want = map[string]struct{ all, v10, v12 string }{
	"ok-connect-12":                  {all: "ok"},
	"ok-send-content-length":         {all: "ok"},
	"ok-send-nul-terminated":         {all: "ok"},
	"ok-heartbeat-eols-before-frame": {all: "ok"},
	"ok-crlf-lines":                  {all: "ok"},
	"ok-escaped-header":              {all: "undefined escape", v10: "ok", v12: "ok"},
	"ok-repeated-header":             {all: "ok"},
	"ok-padded-value":                {all: "ok"},
	"ok-ack-content-length-zero":     {all: "ok"},
	"ok-v10-backslash-literal":       {all: "ok"},
	"a1-endless-header-line":         {all: "line too long"},
	"a3-content-length-4gib":         {all: "body too large"},
	"a4-body-without-nul":            {all: "short"},
	"a5-content-length-short":        {all: "does not end with NUL"},
	"a5-content-length-signed":       {all: "malformed content-length"},
	"a5-content-length-space":        {all: "malformed content-length"},
	"a5-content-length-overflow":     {all: "body too large"},
	"a6-body-on-ack":                 {all: "only SEND"},
	"a9-bare-cr-in-value":            {all: "ok", v12: "carriage return"},
	"a9-cr-not-eol":                  {all: "carriage return not followed"},
	"b11-undefined-escape":           {all: "undefined escape", v10: "ok"},
	"b11-trailing-backslash":         {all: "undefined escape", v10: "ok"},
	"b12-nul-in-header":              {all: "NUL in a header"},
	"b15-no-colon":                   {all: "without ':'"},
	"b15-empty-name":                 {all: "empty header name"},
	"b15-not-utf8":                   {all: "not UTF-8"},
	"c19-lowercase-command":          {all: "unknown command"},
	"c19-server-command":             {all: "unknown command"},
	"c19-unknown-command":            {all: "unknown command"},
}

func outcome(buf []byte, v Version) (string, *Frame) {
	var f Frame
	b := bytes.Clone(buf)
	_, err := Parse(b, v, &testLimits, &f)
	switch {
	case err == nil:
		return "ok", &f
	case errors.Is(err, ErrShort):
		return "short", nil
	}
	var e *Error
	if !errors.As(err, &e) {
		return "error of type " + err.Error(), nil
	}
	return e.Msg, nil
}

func TestFixtures(t *testing.T) {
	fx := fixtures(t)
	for name := range fx {
		if _, ok := want[name]; !ok {
			t.Errorf("fixture %s has no expectation", name)
		}
	}
	for name, w := range want {
		buf, ok := fx[name]
		if !ok {
			t.Errorf("no fixture %s", name)
			continue
		}
		for _, v := range []Version{V10, V11, V12} {
			exp := w.all
			if v == V10 && w.v10 != "" {
				exp = w.v10
			}
			if v == V12 && w.v12 != "" {
				exp = w.v12
			}
			got, _ := outcome(buf, v)
			if !strings.Contains(got, exp) || (exp == "ok") != (got == "ok") {
				t.Errorf("%s under %s: got %q, want %q", name, v, got, exp)
			}
		}
	}
}

func TestParsedValues(t *testing.T) {
	fx := fixtures(t)
	cases := []struct {
		name    string
		v       Version
		cmd     string
		headers [][2]string
		body    string
	}{
		{"ok-connect-12", V12, CONNECT, [][2]string{{"accept-version", "1.2"}, {"host", "mqgate"}, {"login", "u"}, {"passcode", `p\c\n`}}, ""},
		{"ok-send-content-length", V12, SEND, [][2]string{{"destination", "a/b"}, {"content-length", "5"}}, "he\x00lo"},
		{"ok-send-nul-terminated", V11, SEND, [][2]string{{"destination", "a/b"}}, "hello"},
		{"ok-crlf-lines", V12, SEND, [][2]string{{"destination", "a"}, {"x", "y"}}, "body"},
		{"ok-escaped-header", V12, SEND, [][2]string{{"destination", "a"}, {"k:ey", "v\\a\nl\rue"}}, ""},
		{"ok-padded-value", V12, SEND, [][2]string{{"destination", " a"}}, ""},
		{"ok-v10-backslash-literal", V10, SEND, [][2]string{{"destination", `C:\new`}}, ""},
		{"a9-bare-cr-in-value", V11, SEND, [][2]string{{"destination", "a\rb"}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, f := outcome(fx[c.name], c.v)
			if got != "ok" {
				t.Fatalf("parse: %s", got)
			}
			if f.Command != c.cmd || string(f.Body) != c.body || len(f.Headers) != len(c.headers) {
				t.Fatalf("got %s %q %d headers", f.Command, f.Body, len(f.Headers))
			}
			for i, h := range c.headers {
				if string(f.Headers[i].Name) != h[0] || string(f.Headers[i].Value) != h[1] {
					t.Errorf("header %d: %q:%q, want %q:%q", i, f.Headers[i].Name, f.Headers[i].Value, h[0], h[1])
				}
			}
		})
	}
	_, f := outcome(fx["ok-repeated-header"], V12)
	if f.Get("destination") != "first" {
		t.Errorf("repeated header: got %q, want the first", f.Get("destination"))
	}
}

// TestSplitAndGlued feeds every valid fixture split at every point, and
// glued to itself, as a connection's reads would deliver it.
func TestSplitAndGlued(t *testing.T) {
	for name, buf := range fixtures(t) {
		if !strings.HasPrefix(name, "ok-") {
			continue
		}
		_, whole := outcome(buf, V12)
		for cut := 0; cut < len(buf); cut++ {
			var f Frame
			b := bytes.Clone(buf)
			n, err := Parse(b[:cut], V12, &testLimits, &f)
			if !errors.Is(err, ErrShort) {
				// A cut just after the NUL of a frame without trailing EOLs is complete.
				if err == nil {
					continue
				}
				t.Fatalf("%s cut at %d: %v", name, cut, err)
			}
			rest := b[n:]
			if _, err := Parse(rest, V12, &testLimits, &f); err != nil {
				t.Fatalf("%s cut at %d, then whole: %v", name, cut, err)
			}
			if f.Command != whole.Command || !bytes.Equal(f.Body, whole.Body) || len(f.Headers) != len(whole.Headers) {
				t.Fatalf("%s cut at %d: parsed differently", name, cut)
			}
		}
		glued := bytes.Repeat(buf, 3)
		count := 0
		for len(glued) > 0 {
			var f Frame
			n, err := Parse(glued, V12, &testLimits, &f)
			if errors.Is(err, ErrShort) && n == len(glued) {
				break // trailing EOLs
			}
			if err != nil {
				t.Fatalf("%s glued, frame %d: %v", name, count, err)
			}
			glued = glued[n:]
			count++
		}
		if count != 3 {
			t.Errorf("%s glued three times: %d frames", name, count)
		}
	}
}

func TestLimits(t *testing.T) {
	many := "SEND\n" + strings.Repeat("h:v\n", 17) + "\n\x00"
	if got, _ := outcome([]byte(many), V12); got != "too many headers" {
		t.Errorf("17 headers: %q", got)
	}
	endless := append([]byte("SEND\ndestination:a\n\n"), bytes.Repeat([]byte("x"), 1025)...)
	if got, _ := outcome(endless, V12); got != "body too large" {
		t.Errorf("endless body: %q", got)
	}
	if got, _ := outcome([]byte(strings.Repeat("C", 4097)), V12); got != "header line too long" {
		t.Errorf("endless command: %q", got)
	}
}

func TestAppendHeaderEscapes(t *testing.T) {
	const v = "a\nb:c\\d\re\x00f"
	cases := []struct {
		v    Version
		raw  bool
		want string
	}{
		{V12, false, `k\cx:a\nb\cc\\d\re f` + "\n"},
		{V11, false, `k\cx:a\nb\cc\\d e f` + "\n"},
		{V10, false, `k x:a b:c\d e f` + "\n"},
		{V12, true, `k x:a b:c\d e f` + "\n"},
	}
	for _, c := range cases {
		got := string(AppendHeader(nil, c.v, c.raw, "k:x", v))
		if got != c.want {
			t.Errorf("%s raw=%v: %q, want %q", c.v, c.raw, got, c.want)
		}
		if c.raw || c.v < V11 {
			continue
		}
		// Round trip through the parser.
		frame := "SEND\n" + got + "\n\x00"
		_, f := outcome([]byte(frame), c.v)
		if f == nil {
			t.Fatalf("%s: round trip does not parse", c.v)
		}
		want := "a\nb:c\\d\re f"
		if c.v == V11 {
			want = "a\nb:c\\d e f"
		}
		if f.Get("k:x") != want {
			t.Errorf("%s round trip: %q", c.v, f.Get("k:x"))
		}
	}
}
