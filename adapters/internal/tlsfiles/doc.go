// Package tlsfiles loads the certificate, key and CA files that the
// adapters' TLS and DTLS listener configs name, with the error messages
// operators see for both.
package tlsfiles
