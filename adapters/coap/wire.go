package coap

import (
	"errors"
	"fmt"
)

// Message types [RFC7252 3].
const (
	typeCON = 0
	typeNON = 1
	typeACK = 2
	typeRST = 3
)

// Option numbers the parser knows [RFC7252 5.10, RFC7641, RFC7959, RFC7967,
// RFC8613, RFC9177].
const (
	optIfMatch       = 1
	optURIHost       = 3
	optETag          = 4
	optIfNoneMatch   = 5
	optObserve       = 6
	optURIPort       = 7
	optLocationPath  = 8
	optURIPath       = 11
	optContentFormat = 12
	optMaxAge        = 14
	optURIQuery      = 15
	optAccept        = 17
	optLocationQuery = 20
	optBlock2        = 23
	optBlock1        = 27
	optSize2         = 28
	optProxyURI      = 35
	optProxyScheme   = 39
	optSize1         = 60
	optEcho          = 252
	optNoResponse    = 258
)

// optionDef is what the adapter accepts of a known option: its length
// bounds and whether it may repeat. An option outside them is treated as
// unrecognized [RFC7252 5.4.3, 5.4.5].
type optionDef struct {
	min, max   int
	repeatable bool
}

// knownOptions are the options the adapter recognizes. Critical options
// it does not implement (If-Match, If-None-Match, OSCORE, Q-Block)
// are absent, so a request carrying one gets 4.02 before any side effect
// [RFC7252 5.4.1].
var knownOptions = map[uint16]optionDef{
	optURIHost:       {1, 255, false},
	optETag:          {1, 8, true},
	optObserve:       {0, 3, false},
	optURIPort:       {0, 2, false},
	optLocationPath:  {0, 255, true},
	optURIPath:       {0, 255, true},
	optContentFormat: {0, 2, false},
	optMaxAge:        {0, 4, false},
	optURIQuery:      {0, 255, true},
	optAccept:        {0, 2, false},
	optLocationQuery: {0, 255, true},
	optBlock2:        {0, 3, false},
	optBlock1:        {0, 3, false},
	optSize2:         {0, 4, false},
	optProxyURI:      {1, 1034, false},
	optProxyScheme:   {1, 255, false},
	optSize1:         {0, 4, false},
	optEcho:          {1, 40, false},
	optNoResponse:    {0, 1, false},
}

// Parse failures. errShort and errVersion leave nothing to answer; the
// others are answered with RST when the message is confirmable.
var (
	errShort      = errors.New("datagram shorter than the CoAP header")
	errVersion    = errors.New("CoAP version is not 1")
	errFormat     = errors.New("message format error")
	errTooMany    = errors.New("too many options")
	errEmptyExtra = errors.New("empty message with token, options or payload")
)

// request is one parsed datagram. Its slices point into the datagram.
type request struct {
	typ   byte
	code  byte
	mid   uint16
	token []byte
	path  [][]byte
	query [][]byte
	// observe, contentFormat, accept, block1, block2 and size1 are -1
	// when absent.
	observe       int64
	contentFormat int64
	accept        int64
	block1        int64
	block2        int64
	size1         int64
	payload       []byte
	echo          []byte // the Echo option [RFC9175 2]; nil when absent
	// badCritical is the first critical option the adapter does not
	// recognize, has a wrong length or repeats when it may not; 0: none.
	badCritical uint16
	// proxy: Proxy-Uri or Proxy-Scheme was present; a non-proxy answers
	// 5.05 [RFC7252 5.7.2].
	proxy bool
}

// parse decodes a datagram into r, checking every rule of RFC 7252 section
// 3 that go-coap's decoder relaxes: the running option number stays within
// 65535, a payload marker is followed by a payload, an empty message is
// exactly four bytes, at most maxOptions options. It never allocates
// beyond r's slices. After an error other than errShort and errVersion,
// r.typ and r.mid are valid.
func parse(b []byte, r *request, maxOptions int) error {
	*r = request{path: r.path[:0], query: r.query[:0], observe: -1, contentFormat: -1, accept: -1, block1: -1, block2: -1, size1: -1}
	if len(b) < 4 {
		return errShort
	}
	if b[0]>>6 != 1 {
		// [RFC7252 3] messages with an unknown version are silently ignored.
		return errVersion
	}
	r.typ = b[0] >> 4 & 3
	r.code = b[1]
	r.mid = uint16(b[2])<<8 | uint16(b[3])
	tkl := int(b[0] & 0xf)
	if tkl > 8 {
		// [RFC7252 3] lengths 9-15 are reserved: a format error.
		return errFormat
	}
	if r.code == 0 && len(b) != 4 {
		// [RFC7252 4.1] an Empty message has only the header.
		return errEmptyExtra
	}
	p := b[4:]
	if len(p) < tkl {
		return errFormat
	}
	if tkl > 0 {
		r.token = p[:tkl]
	}
	p = p[tkl:]
	num, count := 0, 0
	var seen [64]bool // non-repeatable options below 64 seen so far
	for len(p) > 0 {
		if p[0] == 0xff {
			if len(p) == 1 {
				// [RFC7252 3] a marker followed by a zero-length payload
				// is a format error.
				return errFormat
			}
			r.payload = p[1:]
			break
		}
		delta, length := int(p[0]>>4), int(p[0]&0xf)
		p = p[1:]
		var ok bool
		if delta, p, ok = extend(delta, p); !ok {
			return errFormat
		}
		if length, p, ok = extend(length, p); !ok {
			return errFormat
		}
		num += delta
		if num > 65535 {
			// go-coap wraps the option number silently in uint16.
			return errFormat
		}
		if len(p) < length {
			return errFormat
		}
		val := p[:length]
		p = p[length:]
		count++
		if count > maxOptions {
			return errTooMany
		}
		id := uint16(num)
		def, known := knownOptions[id]
		if known && (length < def.min || length > def.max) {
			known = false
		}
		if known && !def.repeatable && id < 64 {
			if seen[id] {
				known = false
			}
			seen[id] = true
		}
		if !known {
			if id&1 == 1 && r.badCritical == 0 {
				r.badCritical = id
			}
			continue
		}
		switch id {
		case optURIPath:
			r.path = append(r.path, val)
		case optURIQuery:
			r.query = append(r.query, val)
		case optObserve:
			r.observe = int64(uintValue(val))
		case optContentFormat:
			r.contentFormat = int64(uintValue(val))
		case optAccept:
			r.accept = int64(uintValue(val))
		case optBlock1:
			r.block1 = int64(uintValue(val))
		case optBlock2:
			r.block2 = int64(uintValue(val))
		case optSize1:
			r.size1 = int64(uintValue(val))
		case optEcho:
			r.echo = val
		case optProxyURI, optProxyScheme:
			r.proxy = true
		}
	}
	return nil
}

// extend reads an option delta or length nibble's extended bytes
// [RFC7252 3.1]; 15 is reserved outside the payload marker.
func extend(v int, p []byte) (int, []byte, bool) {
	switch v {
	case 13:
		if len(p) < 1 {
			return 0, p, false
		}
		return 13 + int(p[0]), p[1:], true
	case 14:
		if len(p) < 2 {
			return 0, p, false
		}
		return 269 + int(p[0])<<8 + int(p[1]), p[2:], true
	case 15:
		return 0, p, false
	}
	return v, p, true
}

// uintValue decodes an option's unsigned integer value [RFC7252 3.2].
func uintValue(b []byte) uint32 {
	var v uint32
	for _, c := range b {
		v = v<<8 | uint32(c)
	}
	return v
}

// uintBytes encodes v in the fewest bytes, none for 0 [RFC7252 3.2].
func uintBytes(v uint32) []byte {
	switch {
	case v == 0:
		return nil
	case v < 1<<8:
		return []byte{byte(v)}
	case v < 1<<16:
		return []byte{byte(v >> 8), byte(v)}
	case v < 1<<24:
		return []byte{byte(v >> 16), byte(v >> 8), byte(v)}
	}
	return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

// codeString formats a CoAP code as c.dd.
func codeString(c byte) string { return fmt.Sprintf("%d.%02d", c>>5, c&31) }
