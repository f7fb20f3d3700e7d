// Package dtlsconf is what the datagram gateways (MQTT-SN, CoAP) share
// about DTLS on pion/dtls: the listener's setup, its server options, which
// datagrams may open an association, and a peer's identity. One dtls
// block in the configuration means the same in both.
package dtlsconf

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/pion/dtls/v3"

	"github.com/mqgate/mqgate/adapters/internal/tlsfiles"
)

// DTLS is a dtls listener's setup: a certificate, pre-shared keys, or both.
type DTLS struct {
	CertFile, KeyFile string
	CAFile            string
	ClientAuth        string            // none, request, require
	PSK               map[string][]byte // identity -> key
	PSKIdentityHint   string
	// NoConnectionID turns off RFC 9146 Connection IDs, which are offered
	// to clients that ask for them unless set.
	NoConnectionID bool
	// MaxHandshakes bounds the handshakes whose client has not yet echoed
	// the cookie; 0 is DefaultMaxHandshakes.
	MaxHandshakes int
}

// ServerOptions builds the server options of a DTLS listener: a
// certificate, pre-shared keys, or both; extended master secret required.
// attempt, when not nil, may refuse a new association before its
// handshake (a bound on associations).
func ServerOptions(d *DTLS, attempt func(net.Addr) error) ([]dtls.ServerOption, error) {
	if d == nil || d.CertFile == "" && len(d.PSK) == 0 {
		return nil, errors.New("dtls: a certificate or pre-shared keys are required")
	}
	opts := []dtls.ServerOption{dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret)}
	if attempt != nil {
		opts = append(opts, dtls.WithOnConnectionAttempt(attempt))
	}
	if d.CertFile != "" {
		cert, err := tlsfiles.LoadKeyPair(d.CertFile, d.KeyFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, dtls.WithCertificates(cert))
	}
	if d.CAFile != "" {
		pool, err := tlsfiles.LoadCAPool(d.CAFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, dtls.WithClientCAs(pool))
	}
	switch d.ClientAuth {
	case "request":
		opts = append(opts, dtls.WithClientAuth(dtls.VerifyClientCertIfGiven))
	case "require":
		opts = append(opts, dtls.WithClientAuth(dtls.RequireAndVerifyClientCert))
	}
	if len(d.PSK) > 0 {
		keys := d.PSK
		suites := []dtls.CipherSuiteID{dtls.TLS_PSK_WITH_AES_128_GCM_SHA256, dtls.TLS_PSK_WITH_AES_128_CCM_8}
		if d.CertFile != "" {
			suites = append(suites, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, dtls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
		}
		opts = append(opts,
			dtls.WithPSK(func(identity []byte) ([]byte, error) {
				// Identities are untrusted bytes: compared exactly, never
				// logged or used unquoted.
				k, ok := keys[string(identity)]
				if !ok {
					return nil, fmt.Errorf("unknown PSK identity %q", identity)
				}
				return k, nil
			}),
			dtls.WithPSKIdentityHint([]byte(d.PSKIdentityHint)),
			dtls.WithCipherSuites(suites...),
		)
	}
	return opts, nil
}

// Identity is the verified client certificate's common name, or the PSK
// identity.
func Identity(dc *dtls.Conn) string {
	st, ok := dc.ConnectionState()
	if !ok {
		return ""
	}
	if len(st.PeerCertificates) > 0 {
		if cert, err := x509.ParseCertificate(st.PeerCertificates[0]); err == nil {
			return cert.Subject.CommonName
		}
	}
	return string(st.IdentityHint)
}

// AcceptLoop accepts associations from ln until it is closed or stop is
// closed, handing each to serve; serve returns false when the gateway is
// stopping, and the connection is then closed and the loop ends.
func AcceptLoop(ln net.Listener, stop <-chan struct{}, log *slog.Logger, name string, serve func(net.Conn) bool) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-stop:
				return
			default:
			}
			log.Debug("dtls accept failed", "listener", name, "err", err)
			continue
		}
		if !serve(nc) {
			nc.Close()
			return
		}
	}
}

// Handshake completes an accepted association's handshake, bounded in
// time, and returns the peer's identity and address.
func Handshake(nc net.Conn) (identity string, addr netip.AddrPort, err error) {
	dc, ok := nc.(*dtls.Conn)
	if !ok {
		return "", netip.AddrPort{}, fmt.Errorf("dtls: not a dtls connection: %T", nc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err = dc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		return "", netip.AddrPort{}, fmt.Errorf("dtls handshake: %w", err)
	}
	if ua, ok := nc.RemoteAddr().(*net.UDPAddr); ok {
		ap := ua.AddrPort()
		addr = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return Identity(dc), addr, nil
}
