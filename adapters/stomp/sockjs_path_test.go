package stomp

import "testing"

func TestSessionPath(t *testing.T) {
	for _, tc := range []struct {
		name, path         string
		session, transport string
		ok                 bool
	}{
		{"a session request", "/123/abc-def/xhr_streaming", "abc-def", "xhr_streaming", true},
		{"a send", "/0/s/xhr_send", "s", "xhr_send", true},
		{"info is not a session request", "/info", "", "", false},
		{"no leading slash", "123/abc/xhr", "", "", false},
		{"an empty server id", "//abc/xhr", "", "", false},
		{"an empty session id", "/123//xhr", "", "", false},
		{"an empty transport", "/123/abc/", "", "", false},
		{"a dot in the session id", "/123/a.b/xhr", "", "", false},
		{"a dot in the server id", "/1.2/abc/xhr", "", "", false},
		{"an upper-case transport", "/123/abc/XHR", "", "", false},
		{"a fourth segment", "/123/abc/xhr/more", "", "", false},
		{"a digit in the transport", "/123/abc/xhr2", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			session, transport, ok := sessionPath(tc.path)
			if session != tc.session || transport != tc.transport || ok != tc.ok {
				t.Errorf("sessionPath(%q) = %q, %q, %v; want %q, %q, %v", tc.path, session, transport, ok, tc.session, tc.transport, tc.ok)
			}
		})
	}
}
