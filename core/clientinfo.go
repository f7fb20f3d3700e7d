package core

import "net/netip"

// ClientInfo identifies one connected client to authentication,
// authorization, ACL templates, metrics and events. Adapters fill it from
// their protocol's identity; the core never looks at a wire format.
type ClientInfo struct {
	Protocol  string // "mqtt", "mqtt-sn", "coap", "stomp", "bridge"
	Listener  string // listener name from the config
	Namespace string // client id namespace; "" for native MQTT
	ClientID  string
	Username  string
	PeerAddr  netip.AddrPort // zero when unknown
	CertCN    string         // TLS/DTLS certificate common name, "" without one
	// CertIdentity says the listener takes a verified client certificate
	// as the credential (cn_as_username): a client with CertCN set is
	// authenticated by its certificate and CertCN is its username.
	CertIdentity bool
	Mountpoint   string // prefix the adapter adds to every topic
	Version      byte   // protocol level as the adapter reports it (MQTT: 3, 4, 5)
}
