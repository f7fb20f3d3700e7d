package mqtt

// Name is the name the gateway knows this adapter by.
func (s *Server) Name() string { return "mqtt" }
