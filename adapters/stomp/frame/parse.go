package frame

import (
	"bytes"
	"errors"
	"unicode/utf8"
)

// Version is a STOMP protocol version.
type Version uint8

// Versions.
const (
	V10 Version = 10
	V11 Version = 11
	V12 Version = 12
)

func (v Version) String() string {
	switch v {
	case V10:
		return "1.0"
	case V11:
		return "1.1"
	case V12:
		return "1.2"
	}
	return "unknown"
}

// Client commands [STOMP 1.2 Client Frames]. Parse returns these
// constants, so a command is compared and kept without an allocation.
const (
	CONNECT     = "CONNECT"
	STOMP       = "STOMP"
	SEND        = "SEND"
	SUBSCRIBE   = "SUBSCRIBE"
	UNSUBSCRIBE = "UNSUBSCRIBE"
	ACK         = "ACK"
	NACK        = "NACK"
	BEGIN       = "BEGIN"
	COMMIT      = "COMMIT"
	ABORT       = "ABORT"
	DISCONNECT  = "DISCONNECT"
)

var clientCommands = [...]string{CONNECT, STOMP, SEND, SUBSCRIBE, UNSUBSCRIBE, ACK, NACK, BEGIN, COMMIT, ABORT, DISCONNECT}

// Header is one header entry; both slices point into the parsed buffer.
type Header struct {
	Name, Value []byte
}

// Frame is one parsed client frame. Its headers and body point into the
// buffer Parse read it from and are valid until that buffer is reused.
type Frame struct {
	Command string
	Headers []Header // in wire order; repeated names are kept
	Body    []byte
}

// Value returns the first header named name [STOMP 1.2 Repeated Header
// Entries].
func (f *Frame) Value(name string) ([]byte, bool) {
	for i := range f.Headers {
		if string(f.Headers[i].Name) == name {
			return f.Headers[i].Value, true
		}
	}
	return nil, false
}

// Get returns the first header named name as a string ("" when absent).
func (f *Frame) Get(name string) string {
	v, _ := f.Value(name)
	return string(v)
}

// Limits bound what Parse accepts; each is checked before the input
// that would exceed it is waited for.
type Limits struct {
	MaxLine    int // a command or header line, without its EOL
	MaxHeaders int // header entries in one frame
	MaxBody    int // body bytes
}

// MaxFrame is the most bytes one frame may span under l, leading EOLs
// aside: a reader whose buffer holds that much without a frame has a
// parser error instead.
func (l *Limits) MaxFrame() int { return (l.MaxLine+2)*(l.MaxHeaders+2) + l.MaxBody + 1 }

// ErrShort says the buffer holds no complete frame yet: read more.
var ErrShort = errors.New("incomplete frame")

// Error is a malformed or over-limit frame: the connection gets an ERROR
// frame carrying Msg and is closed.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func bad(msg string) error { return &Error{Msg: msg} }

// Frequent errors, made once.
var (
	errLineTooLong   = bad("header line too long")
	errTooMany       = bad("too many headers")
	errBodyTooLarge  = bad("body too large")
	errBadEOL        = bad("carriage return not followed by line feed")
	errNoColon       = bad("header line without ':'")
	errEmptyName     = bad("empty header name")
	errNUL           = bad("NUL in a header line")
	errCR            = bad("carriage return in a header (escape it as \\r)")
	errBadEscape     = bad("undefined escape sequence in a header")
	errNotUTF8       = bad("header is not UTF-8")
	errBadLength     = bad("malformed content-length")
	errNoNUL         = bad("frame does not end with NUL after content-length bytes")
	errUnexpectedBdy = bad("only SEND frames may have a body")
)

// Parse reads one client frame from the start of buf under version v
// (the negotiated one; CONNECT and STOMP frames are read under any).
// It returns the bytes consumed. With ErrShort, n bytes of heart-beat
// EOLs may be dropped and more input is needed; with an *Error the frame
// is malformed or over a limit. Nothing in buf changes until a frame is
// complete; then its header escapes are decoded in place.
func Parse(buf []byte, v Version, lim *Limits, f *Frame) (n int, err error) {
	// EOLs before a command are heart-beats [STOMP 1.2 Heart-beating].
	start := 0
	for start < len(buf) {
		switch buf[start] {
		case '\n':
			start++
			continue
		case '\r':
			if start+1 == len(buf) {
				return start, ErrShort
			}
			if buf[start+1] != '\n' {
				return start, errBadEOL
			}
			start += 2
			continue
		}
		break
	}
	if start == len(buf) {
		return start, ErrShort
	}

	// First pass: find the lines and the body; change nothing.
	line, next, err := readLine(buf, start, lim.MaxLine)
	if err != nil {
		return start, err
	}
	cmd := lookupCommand(buf[start:line])
	if cmd == "" {
		return start, unknownCommand(buf[start:line])
	}
	escapes := v >= V11 && cmd != CONNECT && cmd != STOMP
	hdrStart := next
	headers := 0
	contentLength := -1
	for {
		end, nxt, err := readLine(buf, next, lim.MaxLine)
		if err != nil {
			return start, err
		}
		if end == next {
			next = nxt
			break
		}
		headers++
		if headers > lim.MaxHeaders {
			return start, errTooMany
		}
		l := buf[next:end]
		if contentLength < 0 && bytes.HasPrefix(l, []byte("content-length:")) {
			contentLength, err = parseLength(l[len("content-length:"):], lim.MaxBody)
			if err != nil {
				return start, err
			}
		}
		next = nxt
	}
	bodyStart := next
	var bodyEnd int
	if contentLength >= 0 {
		if len(buf)-bodyStart < contentLength+1 {
			return start, ErrShort
		}
		bodyEnd = bodyStart + contentLength
		if buf[bodyEnd] != 0 {
			return start, errNoNUL
		}
	} else {
		i := bytes.IndexByte(buf[bodyStart:], 0)
		if i < 0 {
			if len(buf)-bodyStart > lim.MaxBody {
				return start, errBodyTooLarge
			}
			return start, ErrShort
		}
		if i > lim.MaxBody {
			return start, errBodyTooLarge
		}
		bodyEnd = bodyStart + i
	}
	if bodyEnd > bodyStart && cmd != SEND {
		return start, errUnexpectedBdy
	}

	// Second pass: the frame is complete; decode its headers.
	f.Command = cmd
	f.Headers = f.Headers[:0]
	f.Body = buf[bodyStart:bodyEnd:bodyEnd]
	for p := hdrStart; p < bodyStart; {
		end := p + bytes.IndexByte(buf[p:], '\n')
		nxt := end + 1
		if end > p && buf[end-1] == '\r' {
			end--
		}
		if end == p {
			break
		}
		h, err := header(buf[p:end], v, escapes)
		if err != nil {
			return start, err
		}
		f.Headers = append(f.Headers, h)
		p = nxt
	}
	return bodyEnd + 1, nil
}

// readLine finds the line starting at p: it returns the end of its
// content (a CR before the LF excluded) and the start of the next line.
func readLine(buf []byte, p, max int) (end, next int, err error) {
	i := bytes.IndexByte(buf[p:], '\n')
	if i < 0 {
		if n := len(buf) - p; n > max+1 || n == max+1 && buf[len(buf)-1] != '\r' {
			return 0, 0, errLineTooLong // a CR that a LF may follow aside
		}
		return 0, 0, ErrShort
	}
	end = p + i
	next = end + 1
	if end > p && buf[end-1] == '\r' {
		end--
	}
	if end-p > max {
		return 0, 0, errLineTooLong
	}
	return end, next, nil
}

func lookupCommand(b []byte) string {
	for _, c := range clientCommands {
		if string(b) == c {
			return c
		}
	}
	return ""
}

func unknownCommand(b []byte) error {
	if len(b) > 32 {
		b = b[:32]
	}
	if !utf8.Valid(b) {
		return bad("unknown command")
	}
	return bad("unknown command " + quote(b))
}

// quote returns b in double quotes with control characters replaced, for
// an error message.
func quote(b []byte) string {
	out := make([]byte, 0, len(b)+2)
	out = append(out, '"')
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			c = '?'
		}
		out = append(out, c)
	}
	return string(append(out, '"'))
}

// parseLength parses a content-length value: decimal digits only, no
// sign or space, at most max.
func parseLength(b []byte, max int) (int, error) {
	if len(b) == 0 || len(b) > 10 {
		if len(b) > 10 && allDigits(b) {
			return 0, errBodyTooLarge
		}
		return 0, errBadLength
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errBadLength
		}
		n = n*10 + int(c-'0')
	}
	if n > max {
		return 0, errBodyTooLarge
	}
	return n, nil
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// header splits and checks one header line and decodes its escapes in
// place.
func header(l []byte, v Version, escapes bool) (Header, error) {
	i := bytes.IndexByte(l, ':')
	if i < 0 {
		return Header{}, errNoColon
	}
	if i == 0 {
		return Header{}, errEmptyName
	}
	for _, c := range l {
		switch c {
		case 0:
			return Header{}, errNUL
		case '\r':
			if v >= V12 {
				return Header{}, errCR
			}
		}
	}
	name, value := l[:i], l[i+1:]
	if escapes {
		var err error
		if name, err = unescape(name, v); err != nil {
			return Header{}, err
		}
		if value, err = unescape(value, v); err != nil {
			return Header{}, err
		}
	}
	if !utf8.Valid(name) || !utf8.Valid(value) {
		return Header{}, errNotUTF8
	}
	return Header{Name: name, Value: value}, nil
}

// unescape decodes b's escapes in place [STOMP 1.2 Value Encoding]; the
// result is never longer than b.
func unescape(b []byte, v Version) ([]byte, error) {
	i := bytes.IndexByte(b, '\\')
	if i < 0 {
		return b, nil
	}
	w := i
	for r := i; r < len(b); r++ {
		c := b[r]
		if c != '\\' {
			b[w] = c
			w++
			continue
		}
		r++
		if r == len(b) {
			return nil, errBadEscape
		}
		switch b[r] {
		case 'n':
			c = '\n'
		case 'c':
			c = ':'
		case '\\':
			c = '\\'
		case 'r':
			if v < V12 {
				return nil, errBadEscape
			}
			c = '\r'
		default:
			return nil, errBadEscape
		}
		b[w] = c
		w++
	}
	return b[:w], nil
}
