package mqttsn

// Name is the name the gateway knows this adapter by.
func (g *Gateway) Name() string { return "mqtt-sn" }
