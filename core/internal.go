package core

// This file is what a producer the gateway configures itself (a bridge)
// needs beyond the adapters' API: its identity comes from the
// configuration, not from credentials a client presents, and it reports
// its state under $SYS, where clients may not publish.

// OpenInternal is Open without the authentication chain, for a connection
// the gateway's own configuration set up (a bridge's local session).
// Authorization still applies to its subscriptions and publishes.
func (b *Broker) OpenInternal(req *OpenRequest) (c *Client, present bool, err error) {
	return b.open(req)
}

// PublishSys publishes payload as a retained message on
// $SYS/brokers/{node}/{suffix}, past the checks that keep clients from
// publishing under $SYS.
func (b *Broker) PublishSys(suffix string, payload []byte) {
	m := NewMessage("$SYS/brokers/"+b.cfg.NodeName+"/"+suffix, payload)
	m.Retain = true
	b.inject(m)
}
