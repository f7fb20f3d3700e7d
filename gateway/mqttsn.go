package gateway

import (
	"encoding/hex"
	"strconv"

	"github.com/mqgate/mqgate/adapters/mqttsn"
	"github.com/mqgate/mqgate/conf"
)

var _ Adapter = (*mqttsn.Gateway)(nil)

// buildMQTTSN builds the MQTT-SN adapter from a validated mqttsn section.
func (g *Gateway) buildMQTTSN(c *conf.MQTTSNConfig) *mqttsn.Gateway {
	sc := mqttsn.Config{
		GatewayID:           byte(c.GatewayID),
		AdvertiseAddress:    c.AdvertiseAddress,
		AdvertiseInterface:  c.AdvertiseInterface,
		AdvertiseInterval:   c.AdvertiseInterval.D(),
		Namespace:           c.Namespace,
		Mountpoint:          c.Mountpoint,
		SessionExpiry:       c.SessionExpiry.D(),
		PredefinedTopics:    map[uint16]string{},
		MaxPredefinedID:     uint16(c.MaxPredefinedID),
		QoSMinusOne:         c.QoSMinusOne,
		QoSMinusOneClientID: c.QoSMinusOneClientID,
		QoSMinusOneUsername: c.QoSMinusOneUsername,
		RetryInterval:       c.RetryInterval.D(),
		MaxRetries:          c.MaxRetries,
		MaxClients:          c.MaxClients,
		MaxMessageSize:      int(c.MaxMessageSize),
		MaxRegisteredTopics: c.MaxRegisteredTopics,
		MaxInflight:         c.MaxInflight,
		MaxSleepQueue:       c.MaxSleepQueue,
		Logger:              g.log.With("adapter", "mqttsn"),
	}
	for id, t := range c.PredefinedTopics {
		n, _ := strconv.Atoi(id) // validated
		sc.PredefinedTopics[uint16(n)] = t
	}
	for _, l := range c.Listeners {
		sl := mqttsn.Listener{DTLS: dtlsSetup(l.DTLS), Name: l.Name, Type: l.Type, Address: l.Address, Username: l.Username, Password: l.Password, SocketBuffer: int(l.SocketBuffer)}
		sc.Listeners = append(sc.Listeners, sl)
	}
	return mqttsn.New(sc, g.Broker)
}

// dtlsSetup is a dtls block as the datagram gateways take it (one type in
// both, coap.DTLS = mqttsn.DTLS), its keys decoded.
func dtlsSetup(d *conf.DTLSConfig) *mqttsn.DTLS {
	if d == nil {
		return nil
	}
	out := &mqttsn.DTLS{CertFile: d.CertFile, KeyFile: d.KeyFile, CAFile: d.CAFile, ClientAuth: d.ClientAuth, PSKIdentityHint: d.PSKIdentityHint,
		NoConnectionID: d.ConnectionID != nil && !*d.ConnectionID, MaxHandshakes: d.MaxHandshakes}
	for id, k := range d.PSK {
		b, _ := hex.DecodeString(k) // validated
		if out.PSK == nil {
			out.PSK = map[string][]byte{}
		}
		out.PSK[id] = b
	}
	return out
}
