// Package bench is mqgate's MQTT load generator, the mqgate-bench command
// (cmd/mqgate-bench), kept out of the broker binary: it opens many client
// connections with the project's own codec, publishes and subscribes at a
// chosen rate, and reports throughput, end-to-end latency, losses and,
// given the broker's PID, its CPU and memory cost.
//
// A publisher writes a nanosecond timestamp (wall clock at process start plus
// monotonic time since) in the first 8 bytes of each payload; a subscriber in
// the same or another bench process on the same host subtracts it from its own
// clock to get the delay. The generator is built to stay cheap: one reading
// goroutine per connection over a reused buffer, writes batched per
// connection, counters shared through atomics, and a fixed log-bucket
// histogram that records a sample without allocating.
//
// With -proto, -pub-proto or -sub-proto mqttsn, clients speak MQTT-SN 1.2
// over UDP to the gateway's MQTT-SN adapter, each on its own socket with one
// goroutine that reads, acknowledges, retransmits and pings; publishers and
// subscribers may use different protocols, so a run measures the gateway
// translating between them. UDP gives no flow control: what the gateway's
// socket drops shows as losses at QoS 0 and as retransmissions above.
//
// Idle connections over plain TCP are opened on Linux from one epoll loop
// with bare sockets (rawconn_linux.go), so a connection storm measures the
// broker's accept rate rather than the bench's. The floor scenario sends
// the latency load to `mqgate-bench echo`, a server that only writes back
// what it reads: the latency of loopback and the scheduler alone, under
// any broker's.
package bench
