package coap

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mqgate/mqgate/core/topic"
)

// Errors of the URI mapping; each is answered 4.00 with its text.
var (
	errBadPercent  = errors.New("bad percent-encoding in the URI")
	errSlash       = errors.New("a '/' inside a Uri-Path segment")
	errNUL         = errors.New("a NUL byte in the URI")
	errDotSegment  = errors.New("'.' and '..' segments are not topic levels")
	errNotUTF8     = errors.New("the URI is not UTF-8")
	errNoTopic     = errors.New("no topic after /ps")
	errWildcard    = errors.New("'+' and '#' are only allowed in an observed filter")
	errQueryFormat = errors.New("a query parameter without '='")
	errQueryRepeat = errors.New("a query parameter given twice")
	errQueryValue  = errors.New("a query parameter with a bad value")
	errPathTooLong = errors.New("the topic is longer than 65535 bytes")
)

// maxTopicLength is MQTT's limit on a topic's UTF-8 length.
const maxTopicLength = 65535

// unescape percent-decodes one Uri-Path or Uri-Query value once [RFC3986
// 2.1]. A client that already decoded (libcoap does) sends the characters
// themselves; a literal '%' must then be sent as %25.
func unescape(b []byte) (string, error) {
	if bytes.IndexByte(b, '%') < 0 {
		return string(b), nil
	}
	// Not len(b)-2*count: a lone '%' would make that negative.
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '%' {
			if i+2 >= len(b) {
				return "", errBadPercent
			}
			h, ok1 := unhex(b[i+1])
			l, ok2 := unhex(b[i+2])
			if !ok1 || !ok2 {
				return "", errBadPercent
			}
			c = h<<4 | l
			i += 2
		}
		out = append(out, c)
	}
	return string(out), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// topicFromPath maps the Uri-Path segments after "ps" to a topic name or,
// with filter, a topic filter: each segment, percent-decoded once, is one
// level; an empty segment is an empty level. A segment that decodes to
// contain '/' or NUL, or is "." or "..", is refused, so two different
// segment lists never name one topic.
func topicFromPath(segs [][]byte, filter bool) (string, error) {
	if len(segs) == 0 {
		return "", errNoTopic
	}
	var sb strings.Builder
	for i, s := range segs {
		level, err := unescape(s)
		if err != nil {
			return "", err
		}
		switch {
		case strings.IndexByte(level, '/') >= 0:
			return "", errSlash
		case strings.IndexByte(level, 0) >= 0:
			return "", errNUL
		case level == "." || level == "..":
			return "", errDotSegment
		case !utf8.ValidString(level):
			return "", errNotUTF8
		case !filter && strings.ContainsAny(level, "+#"):
			return "", errWildcard
		}
		if i > 0 {
			sb.WriteByte('/')
		}
		sb.WriteString(level)
		if sb.Len() > maxTopicLength {
			return "", errPathTooLong
		}
	}
	if sb.Len() == 0 {
		return "", errNoTopic
	}
	// The core's own rules (control characters, wildcard placement), so a
	// mapped topic is one the core takes.
	validate := topic.ValidateName
	if filter {
		validate = topic.ValidateFilter
	}
	if err := validate(sb.String(), 0); err != nil {
		return "", err
	}
	return sb.String(), nil
}

// params are the query parameters of a request, long and short forms.
type params struct {
	clientID, username, password, token string
	hasUser, hasPassword                bool
	qos                                 int // -1: not given
	retain                              bool
	expiry                              time.Duration // 0: none
}

// parseQuery reads the Uri-Query options. Each is key=value with the
// value percent-decoded once; a key given twice (in either form), a
// parameter without '=' or a value that is not UTF-8 is refused; unknown
// keys are ignored.
func parseQuery(q [][]byte) (params, error) {
	p := params{qos: -1}
	var seen uint16
	for _, raw := range q {
		k, v, ok := strings.Cut(string(raw), "=")
		if !ok {
			return p, errQueryFormat
		}
		val, err := unescape([]byte(v))
		if err != nil {
			return p, err
		}
		if !utf8.ValidString(val) || strings.IndexByte(val, 0) >= 0 {
			return p, errNotUTF8
		}
		var bit uint16
		switch k {
		case "clientid", "c":
			bit, p.clientID = 1, val
		case "username", "u":
			bit, p.username, p.hasUser = 2, val, true
		case "password", "p":
			bit, p.password, p.hasPassword = 4, val, true
		case "token", "t":
			bit, p.token = 8, val
		case "qos", "q":
			bit = 16
			switch val {
			case "0", "1", "2":
				p.qos = int(val[0] - '0')
			default:
				return p, errQueryValue
			}
		case "retain", "r":
			bit = 32
			switch val {
			case "true", "1":
				p.retain = true
			case "false", "0":
			default:
				return p, errQueryValue
			}
		case "expiry":
			bit = 64
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil {
				return p, errQueryValue
			}
			p.expiry = time.Duration(n) * time.Second
		default:
			continue
		}
		if seen&bit != 0 {
			return p, errQueryRepeat
		}
		seen |= bit
	}
	return p, nil
}
