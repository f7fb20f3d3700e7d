package mqtt

import (
	"github.com/mqgate/mqgate/adapters/mqtt/packet"
	"github.com/mqgate/mqgate/core"
)

// reasonCodes maps the core's outcomes to MQTT 5 reason codes.
var reasonCodes = [...]byte{
	core.Success:                  packet.Success,
	core.NoMatchingSubscribers:    packet.NoMatchingSubscribers,
	core.NoSubscriptionExisted:    packet.NoSubscriptionExisted,
	core.UnspecifiedError:         packet.UnspecifiedError,
	core.ProtocolError:            packet.ProtocolError,
	core.ImplementationError:      packet.ImplementationSpecificError,
	core.ClientIDNotValid:         packet.ClientIdentifierNotValid,
	core.BadUsernameOrPassword:    packet.BadUserNameOrPassword,
	core.NotAuthorized:            packet.NotAuthorized,
	core.ServerUnavailable:        packet.ServerUnavailable,
	core.ServerShuttingDown:       packet.ServerShuttingDown,
	core.SessionTakenOver:         packet.SessionTakenOver,
	core.TopicFilterInvalid:       packet.TopicFilterInvalid,
	core.TopicNameInvalid:         packet.TopicNameInvalid,
	core.ReceiveMaximumExceeded:   packet.ReceiveMaximumExceeded,
	core.PacketTooLarge:           packet.PacketTooLarge,
	core.QuotaExceeded:            packet.QuotaExceeded,
	core.AdministrativeAction:     packet.AdministrativeAction,
	core.PayloadFormatInvalid:     packet.PayloadFormatInvalid,
	core.SharedSubsNotSupported:   packet.SharedSubscriptionsNotSupported,
	core.WildcardSubsNotSupported: packet.WildcardSubscriptionsNotSupported,
	core.Banned:                   packet.Banned,
}

// reasonCode returns the MQTT 5 reason code for a core outcome; a code the
// table does not know is an unspecified error.
func reasonCode(c core.Code) byte {
	if int(c) < len(reasonCodes) && (c == core.Success || reasonCodes[c] != 0) {
		return reasonCodes[c]
	}
	return packet.UnspecifiedError
}
