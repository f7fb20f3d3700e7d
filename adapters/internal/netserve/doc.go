// Package netserve is the transport that mqgate's stream protocols share:
// it owns the listeners, the sockets, the waits and the goroutines under a
// connection, and knows no protocol. MQTT uses it; STOMP over TCP, TLS and
// WebSocket is meant to plug in the same way.
//
// # Model
//
// A Server opens its listeners (tcp, tls, ws, wss; certificates from
// files, a max_connections limit per listener) and hands each accepted
// connection to its listener's Handler, which returns the protocol's
// connection as a Stream. The server keeps the connections in a list
// that allocates nothing, so Stop can stop each Stream and wait for it.
// A connection over max_connections is closed before its Handler sees
// it; a Handler that is a Refuser is told, to count it.
//
// Poller. On Linux a plain TCP connection costs no goroutine and no buffer
// while it is idle: one epoll set watches every such connection, with
// one-shot registrations in a table indexed by descriptor. The epoll set
// is itself waited on through the runtime's poller and every epoll call is
// a raw system call, so no thread blocks in epoll_wait. A connection is
// idle from its accept on: a protocol that waits for its client to speak
// first (MQTT's CONNECT) arms it at once, and the flood of connections
// that never speak holds no goroutine either.
//
// Workers. When the poller reports input, a worker runs the Stream's
// Readable. Workers are goroutines that wait for the next task when theirs
// is done (a bounded number of them wait; the rest end) and start on a
// grown stack, so a handshake, a burst of input or a writer run costs no
// goroutine start and no stack growth. Protocols run their other short
// tasks (writers) on them too (Conn.Go).
//
// Linger. A burst that had input within the last Linger keeps reading
// for up to another Linger, waiting in the runtime's poller, before it
// arms the connection again: a busy connection then pays no goroutine
// start or epoll re-arm per packet, and a quiet one (a keep alive ping)
// goes straight back to the poller. The protocol's burst decides; the
// package names the policy.
//
// Raw I/O. A plain TCP socket is accepted with accept4 as a raw system
// call and kept as a bare non-blocking descriptor until something has to
// wait on it; reads and writes are read(2) and write(2) made as raw system
// calls (SysRead, SysWrite) inside the callbacks of Conn.RawConn, which
// never block: the runtime's poller does every wait, so deadlines hold.
// Skipping the scheduler's system-call bookkeeping keeps its monitor
// thread asleep. A connection that must wait (a lingering read, a writer
// with a full socket, TLS) is handed to an *os.File once, which serves it
// from then on. Closing never closes a descriptor under a call still
// using it.
//
// WebSocket. A ws or wss listener upgrades requests for its path,
// offering the protocol's subprotocols, and presents the WebSocket as a
// byte stream: frames may span messages and a message may hold several.
// A binary protocol (MQTT) reads binary messages only, and a text message
// ends the connection with status 1003; a text protocol (STOMP) reads both
// kinds and writes text, or binary for a message that is not UTF-8.
// Closing takes the closing handshake: a close frame with the status the
// protocol chose (Conn.SetCloseStatus), then up to a second in which the
// owner drops what arrives until the peer's close frame or EOF, and only
// then the TCP close, so a peer still writing is not reset.
//
// TLS and WebSocket connections, and every connection off Linux, keep a
// reading goroutine: the protocol's Start runs it on a worker.
//
// # Handler contract
//
// Exactly one goroutine owns a connection's reads at a time. Start runs on
// the accepting goroutine and must not block: it arms a Pollable
// connection (Conn.Arm) or starts a reader on a worker (Conn.Go), and
// either way hands ownership on. Arm is the owner's last act: from then on
// Readable, run by a worker on the poller's report, owns the connection,
// or a goroutine that took it with Conn.Take (a keep alive timer, a kick);
// a taker that wants it served hands it on with Conn.Resume. Readable
// handles what is there, then arms the connection again or closes it; a
// callback of RawConn must not close its own connection. PollFailed ends a
// connection the poller could not take. Stop, on Server.Stop, tells the
// peer the server is going away and ends the connection; any goroutine may
// call Conn.Shutdown to end the reads (a WebSocket sends its close frame,
// other connections close the socket), and the owner always ends with
// Conn.Close, once, which finishes a WebSocket's closing handshake and
// makes the server forget the connection.
package netserve
