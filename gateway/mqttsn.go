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
		sl := mqttsn.Listener{Name: l.Name, Type: l.Type, Address: l.Address, Username: l.Username, Password: l.Password, SocketBuffer: int(l.SocketBuffer)}
		if d := l.DTLS; d != nil {
			sl.DTLS = &mqttsn.DTLS{CertFile: d.CertFile, KeyFile: d.KeyFile, CAFile: d.CAFile, ClientAuth: d.ClientAuth, PSKIdentityHint: d.PSKIdentityHint}
			for id, k := range d.PSK {
				b, _ := hex.DecodeString(k) // validated
				if sl.DTLS.PSK == nil {
					sl.DTLS.PSK = map[string][]byte{}
				}
				sl.DTLS.PSK[id] = b
			}
		}
		sc.Listeners = append(sc.Listeners, sl)
	}
	return mqttsn.New(sc, g.Broker)
}
