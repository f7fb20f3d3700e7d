package mqtt

import (
	"github.com/mqgate/mqgate/adapters/internal/netserve"
	"github.com/mqgate/mqgate/adapters/mqtt/packet"
)

// wsStatus is the WebSocket close status [RFC6455 7.4.1] for an MQTT
// reason code that ends a connection.
func wsStatus(code byte) int {
	switch code {
	case packet.NormalDisconnection, packet.DisconnectWithWill,
		packet.KeepAliveTimeout, packet.SessionTakenOver, packet.MaximumConnectTime:
		return netserve.CloseNormal
	case packet.ServerShuttingDown, packet.UseAnotherServer, packet.ServerMoved:
		return netserve.CloseGoingAway
	case packet.MalformedPacket, packet.ProtocolError, packet.UnsupportedProtocolVersion,
		packet.ReceiveMaximumExceeded, packet.TopicAliasInvalid:
		return netserve.CloseProtocolError
	case packet.PacketTooLarge:
		return netserve.CloseMessageTooBig
	case packet.ServerUnavailable, packet.ServerBusy, packet.MessageRateTooHigh,
		packet.ConnectionRateExceeded:
		return netserve.CloseTryAgainLater
	}
	// Refusals by configuration or policy: authentication, authorization,
	// quotas, topic rules, administrative action.
	return netserve.ClosePolicyViolation
}
