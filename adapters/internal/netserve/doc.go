// Package netserve is the transport that mqgate's stream protocols share:
// the goroutines, sockets and waits under a connection, with no protocol
// in them.
package netserve
