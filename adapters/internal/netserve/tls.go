package netserve

import (
	"crypto/tls"
	"errors"
	"net"

	"github.com/mqgate/mqgate/adapters/internal/tlsfiles"
)

// TLS is a tls or wss listener's certificate setup.
type TLS struct {
	CertFile, KeyFile, CAFile string
	ClientAuth                string // none, request, require
	MinVersion                uint16 // tls.VersionTLS12 (default) or tls.VersionTLS13
}

// tlsConfig loads t's files into a server configuration.
func tlsConfig(t *TLS) (*tls.Config, error) {
	if t == nil {
		return nil, errors.New("tls: cert_file and key_file are required")
	}
	cert, err := tlsfiles.LoadKeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.MinVersion != 0 {
		tc.MinVersion = t.MinVersion
	}
	if t.CAFile != "" {
		pool, err := tlsfiles.LoadCAPool(t.CAFile)
		if err != nil {
			return nil, err
		}
		tc.ClientCAs = pool
	}
	switch t.ClientAuth {
	case "request":
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	case "require":
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// ConnectionState returns the TLS state of nc, or of the connection under
// a WebSocket; false for a connection without TLS.
func ConnectionState(nc net.Conn) (tls.ConnectionState, bool) {
	if ws, ok := nc.(*wsConn); ok {
		nc = ws.NetConn()
	}
	tc, ok := nc.(*tls.Conn)
	if !ok {
		return tls.ConnectionState{}, false
	}
	return tc.ConnectionState(), true
}
