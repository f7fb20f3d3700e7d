package frame

import "strconv"

// Server commands [STOMP 1.2 Server Frames].
const (
	CONNECTED = "CONNECTED"
	MESSAGE   = "MESSAGE"
	RECEIPT   = "RECEIPT"
	ERROR     = "ERROR"
)

// AppendCommand appends a frame's command line.
func AppendCommand(b []byte, cmd string) []byte {
	b = append(b, cmd...)
	return append(b, '\n')
}

// AppendHeader appends the header name:value for a frame of version v,
// escaped as v requires [STOMP 1.2 Value Encoding]: \n \c \\ from 1.1
// on, \r in 1.2. A byte that v cannot carry (CR, LF or NUL in 1.0, CR
// in 1.1, NUL in any, ':' in a 1.0 name) becomes a space, so a value
// that came from elsewhere (an MQTT user property) can never split a
// header or end the frame. CONNECTED frames are never escaped: pass raw
// set, and values without such bytes.
func AppendHeader(b []byte, v Version, raw bool, name, value string) []byte {
	b = appendEscaped(b, v, raw, name, true)
	b = append(b, ':')
	b = appendEscaped(b, v, raw, value, false)
	return append(b, '\n')
}

func appendEscaped(b []byte, v Version, raw bool, s string, name bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case 0:
			b = append(b, ' ')
			continue
		case '\n', '\r', ':', '\\':
		default:
			b = append(b, c)
			continue
		}
		if raw || v < V11 {
			if c == ':' && !name || c == '\\' {
				b = append(b, c)
			} else {
				b = append(b, ' ')
			}
			continue
		}
		switch c {
		case '\n':
			b = append(b, '\\', 'n')
		case ':':
			b = append(b, '\\', 'c')
		case '\\':
			b = append(b, '\\', '\\')
		case '\r':
			if v >= V12 {
				b = append(b, '\\', 'r')
			} else {
				b = append(b, ' ')
			}
		}
	}
	return b
}

// AppendBody ends the headers and appends body, with a content-length
// header first unless noLength, and the closing NUL.
func AppendBody(b []byte, body []byte, noLength bool) []byte {
	if !noLength {
		b = append(b, "content-length:"...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, body...)
	return append(b, 0)
}
