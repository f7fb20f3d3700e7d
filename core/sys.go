package core

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// sysLoop publishes the broker's counters as retained $SYS messages every
// SysInterval, in the topic layout Mosquitto users know
// ($SYS/broker/clients/connected ...).
func (b *Broker) sysLoop() {
	defer b.wg.Done()
	t := time.NewTicker(b.cfg.SysInterval)
	defer t.Stop()
	b.publishSys()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.publishSys()
		}
	}
}

func (b *Broker) publishSys() {
	st := &b.stats
	vals := [...]struct {
		topic string
		value string
	}{
		{"version", "mqgate " + b.cfg.Version},
		{"uptime", strconv.FormatInt(int64(time.Since(b.started)/time.Second), 10) + " seconds"},
		{"clients/connected", itoa(st.ClientsConnected.Load())},
		{"clients/maximum", itoa(st.ClientsMaximum.Load())},
		{"clients/total", itoa(int64(b.SessionCount()))},
		{"messages/received", itoa(st.MessagesReceived.Load())},
		{"messages/sent", itoa(st.MessagesSent.Load())},
		{"messages/dropped", itoa(st.MessagesDropped.Load())},
		{"bytes/received", itoa(st.BytesReceived.Load())},
		{"bytes/sent", itoa(st.BytesSent.Load())},
		{"subscriptions/count", itoa(int64(b.router.Count()))},
		{"retained messages/count", itoa(int64(b.retained.Len()))},
	}
	for _, v := range vals {
		b.publish(&Message{Topic: "$SYS/broker/" + v.topic, Payload: []byte(v.value), Retain: true,
			Origin: Origin{Protocol: "sys"}}, nil, &durable{})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// clientEvent publishes a client's connect or disconnect as a non-retained
// JSON message on $SYS/brokers/{node}/clients/{clientid}/{event}, in the
// style EMQX users know.
func (b *Broker) clientEvent(info *ClientInfo, event string) {
	if b.cfg.SysInterval <= 0 {
		return
	}
	payload, err := json.Marshal(struct {
		ClientID  string `json:"clientid"`
		Username  string `json:"username,omitempty"`
		Protocol  string `json:"protocol"`
		Version   byte   `json:"proto_ver,omitempty"`
		Listener  string `json:"listener,omitempty"`
		PeerHost  string `json:"ipaddress,omitempty"`
		Timestamp int64  `json:"ts"`
	}{info.ClientID, info.Username, info.Protocol, info.Version, info.Listener, peerHost(info), time.Now().UnixMilli()})
	if err != nil {
		return
	}
	b.publish(&Message{
		Topic:   "$SYS/brokers/" + b.cfg.NodeName + "/clients/" + escapeLevel(info.ClientID) + "/" + event,
		Payload: payload, Origin: Origin{Protocol: "sys"},
	}, nil, &durable{})
}

func peerHost(info *ClientInfo) string {
	if !info.PeerAddr.IsValid() {
		return ""
	}
	return info.PeerAddr.Addr().String()
}

// escapeLevel makes s usable as one topic level: characters with a meaning
// in topics are percent-encoded.
func escapeLevel(s string) string {
	if !strings.ContainsAny(s, "/+#%\x00") {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '/', '+', '#', '%', 0:
			sb.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(c)|0x100, 16)[1:]))
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}
