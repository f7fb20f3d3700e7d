package frame

import (
	"errors"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse under every version, seeded
// with every fixture of testdata/stomp. Nothing may panic, every error is
// ErrShort or an *Error, a parsed frame lies within the limits and the
// bytes it consumed, and a frame re-encoded parses to the same headers.
func FuzzParse(f *testing.F) {
	for _, b := range fixtures(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, v := range []Version{V10, V11, V12} {
			buf := append([]byte(nil), data...)
			var fr Frame
			n, err := Parse(buf, v, &testLimits, &fr)
			if err != nil {
				var e *Error
				if !errors.Is(err, ErrShort) && !errors.As(err, &e) {
					t.Fatalf("error of type %T: %v", err, err)
				}
				if n > len(buf) {
					t.Fatalf("consumed %d of %d", n, len(buf))
				}
				continue
			}
			if n > len(buf) || n > testLimits.MaxFrame()+len(buf) {
				t.Fatalf("consumed %d of %d", n, len(buf))
			}
			if len(fr.Headers) > testLimits.MaxHeaders || len(fr.Body) > testLimits.MaxBody {
				t.Fatalf("over the limits: %d headers, %d body bytes", len(fr.Headers), len(fr.Body))
			}
			if v == V10 || fr.Command == CONNECT || fr.Command == STOMP {
				continue
			}
			out := AppendCommand(nil, fr.Command)
			for _, h := range fr.Headers {
				if string(h.Name) == "content-length" {
					continue
				}
				out = AppendHeader(out, v, false, string(h.Name), string(h.Value))
			}
			out = AppendBody(out, fr.Body, false)
			var again Frame
			if _, err := Parse(out, v, &testLimits, &again); err != nil {
				// A re-encoded frame may exceed a limit only by its
				// escapes; anything else is an encoder bug.
				if !errors.Is(err, errLineTooLong) && !errors.Is(err, errTooMany) {
					t.Fatalf("re-encoded frame does not parse: %v\n%q", err, out)
				}
				continue
			}
			seen := map[string]bool{}
			for _, h := range fr.Headers {
				if string(h.Name) == "content-length" || seen[string(h.Name)] {
					continue
				}
				seen[string(h.Name)] = true
				if got, _ := again.Value(string(h.Name)); string(got) != string(h.Value) && v == V12 {
					t.Fatalf("header %q: %q after a round trip, want %q", h.Name, got, h.Value)
				}
			}
		}
	})
}
