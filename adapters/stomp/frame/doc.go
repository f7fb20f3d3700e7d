// Package frame is the STOMP 1.0, 1.1 and 1.2 wire format as mqgate's
// STOMP adapter reads and writes it: a bounded, incremental parser over
// the connection's read buffer, and appenders for the frames a server
// sends.
//
// go-stomp's frame.Reader is not used for reading: it grows a header line
// without bound, allocates whatever content-length declares (up to 4 GiB)
// before it reads a byte of the body, reads a body without content-length
// until a NUL with no limit, and unescapes headers in every version and
// every frame, CONNECT included. Parse checks every limit before the
// buffer grows past it, returns headers as slices of the buffer
// (unescaped in place, which never lengthens them) and applies the
// version's escaping rules.
//
// # Policy per version
//
//   - Line ends: LF; CRLF in every version (1.2 defines it; clients of
//     1.0 and 1.1 send it too). A bare CR elsewhere in a header line is
//     an error in 1.2 (it must be escaped as \r) and kept as a byte of the
//     value in 1.0 and 1.1.
//   - Escapes [STOMP 1.2 Value Encoding]: none in 1.0; \n \c \\ in 1.1;
//     \r as well in 1.2; any other escape, or a lone trailing backslash,
//     is an error. CONNECT and STOMP frames are never unescaped (a
//     passcode keeps its backslashes).
//   - Header names and values must be UTF-8 without NUL; a line without a
//     colon or with an empty name is an error; values are not trimmed.
//   - Repeated headers: the first one wins [STOMP 1.2 Repeated Header
//     Entries], in every version.
//   - content-length: decimal digits only, at most the body limit; the
//     byte after the body must be NUL. Only SEND may carry a body.
//   - EOLs before a command (heart-beats) and after a frame's NUL are
//     skipped.
//   - Commands are case-sensitive and only the client's: a server
//     command (CONNECTED, MESSAGE, RECEIPT, ERROR) or an unknown one is an
//     error.
package frame
