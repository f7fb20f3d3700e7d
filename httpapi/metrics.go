package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mqgate/mqgate/core"
)

// Drops counts the messages sessions lost, by reason, from the core's
// Dropped event, which fires only when a message is dropped.
type Drops struct {
	n [core.LastDropReason + 1]atomic.Int64
}

// Events returns the event functions to pass to core.Broker.Listen.
func (d *Drops) Events() core.Events {
	return core.Events{Dropped: func(_, _ string, _ *core.Message, r core.DropReason) {
		if int(r) < len(d.n) {
			d.n[r].Add(1)
		}
	}}
}

// Metrics returns the /metrics handler: the broker's counters, read when
// Prometheus scrapes, so that collecting costs the message path nothing,
// and the Go runtime and process collectors. storeBytes, when not nil,
// gives the size of the durable store on disk; bridges, when not nil, the
// bridges' state.
//
// storeSync, when not nil, gives the histogram of the store's device
// syncs: cumulative counts per bound of SyncBounds, the sum in seconds and
// the count.
//
// The registry is built on the first scrape, not before: a gateway that
// is never scraped spends no memory on it. The Go runtime and process
// metrics are those of client_golang's default registry, which registers
// both collectors when it is initialised.
//
// dtls, when not nil, gives the DTLS listeners' hello-gate counters.
func Metrics(admin core.Admin, conns *Conns, drops *Drops, storeBytes func() int64, bridges func() []BridgeStatus,
	storeSync *StoreSync, dtls func() []DTLSListener) http.Handler {
	handler := sync.OnceValues(func() (http.Handler, error) {
		reg := prometheus.NewRegistry()
		if err := reg.Register(&collector{admin: admin, conns: conns, drops: drops, bridges: bridges, sync: storeSync, dtls: dtls}); err != nil {
			return nil, fmt.Errorf("register the broker's metrics: %w", err)
		}
		if storeBytes != nil {
			if err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "mqgate_store_size_bytes", Help: "Bytes the durable store takes on disk.",
			}, func() float64 { return float64(storeBytes()) })); err != nil {
				return nil, fmt.Errorf("register the store size metric: %w", err)
			}
		}
		return promhttp.HandlerFor(prometheus.Gatherers{prometheus.DefaultGatherer, reg}, promhttp.HandlerOpts{}), nil
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, err := handler()
		if err != nil {
			http.Error(w, "metrics: "+err.Error(), http.StatusInternalServerError)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// descs are the broker metrics' descriptions, made on the first scrape.
var descs = sync.OnceValue(func() *metricDescs {
	return &metricDescs{
		connections:   prometheus.NewDesc("mqgate_connections", "Open client connections.", []string{"protocol", "listener"}, nil),
		connects:      prometheus.NewDesc("mqgate_connects_total", "Client connections accepted.", []string{"protocol", "listener"}, nil),
		disconnects:   prometheus.NewDesc("mqgate_disconnects_total", "Client connections closed.", []string{"protocol", "listener"}, nil),
		discReasons:   prometheus.NewDesc("mqgate_disconnects_by_reason_total", "Client connections closed, by protocol and kind of reason (client, timeout, lost, protocol_error, takeover, admin, shutdown, other).", []string{"protocol", "reason"}, nil),
		connMax:       prometheus.NewDesc("mqgate_connections_maximum", "Most connections open at once since start.", nil, nil),
		msgsIn:        prometheus.NewDesc("mqgate_messages_received_total", "Messages published into mqgate, by clients and producers, by their protocol and the QoS published.", []string{"protocol", "qos"}, nil),
		msgsOut:       prometheus.NewDesc("mqgate_messages_sent_total", "Messages delivered to clients, by their protocol and the QoS delivered.", []string{"protocol", "qos"}, nil),
		bytesIn:       prometheus.NewDesc("mqgate_bytes_received_total", "Bytes read from clients' connections, by protocol.", []string{"protocol"}, nil),
		bytesOut:      prometheus.NewDesc("mqgate_bytes_sent_total", "Bytes written to clients' connections, by protocol.", []string{"protocol"}, nil),
		dropped:       prometheus.NewDesc("mqgate_messages_dropped_total", "Messages a session lost, by reason.", []string{"reason"}, nil),
		droppedAll:    prometheus.NewDesc("mqgate_messages_dropped_all_total", "Messages dropped, every reason together (the $SYS figure).", nil, nil),
		denied:        prometheus.NewDesc("mqgate_authorization_denied_total", "Publishes and subscriptions refused by authorization.", []string{"action"}, nil),
		sessions:      prometheus.NewDesc("mqgate_sessions", "Sessions, connected or not.", nil, nil),
		subscriptions: prometheus.NewDesc("mqgate_subscriptions", "Subscriptions in the router.", nil, nil),
		retained:      prometheus.NewDesc("mqgate_retained_messages", "Retained messages.", nil, nil),
		wills:         prometheus.NewDesc("mqgate_wills_published_total", "Will messages published.", nil, nil),
		storeFailures: prometheus.NewDesc("mqgate_store_failures_total", "Store writes, syncs and expiry runs that failed; a failed durable write refused the publish that needed it.", nil, nil),
		uptime:        prometheus.NewDesc("mqgate_uptime_seconds", "Seconds since the broker started.", nil, nil),
		queueDepth:    prometheus.NewDesc("mqgate_session_queue_messages", "Sessions by the messages waiting in their queue.", nil, nil),
		bridgeUp:      prometheus.NewDesc("mqgate_bridge_connected", "1 while the bridge is connected to its upstream.", []string{"bridge"}, nil),
		bridgeQueued:  prometheus.NewDesc("mqgate_bridge_queued_messages", "Messages in the bridge's outbox.", []string{"bridge"}, nil),
		bridgeBytes:   prometheus.NewDesc("mqgate_bridge_queued_bytes", "Bytes in the bridge's outbox.", []string{"bridge"}, nil),
		bridgeAge:     prometheus.NewDesc("mqgate_bridge_oldest_age_seconds", "Age of the oldest message in the bridge's outbox.", []string{"bridge"}, nil),
		bridgeDropped: prometheus.NewDesc("mqgate_bridge_dropped_total", "Messages the bridge dropped.", []string{"bridge"}, nil),
		bridgeRecon:   prometheus.NewDesc("mqgate_bridge_reconnects_total", "Times the bridge reconnected to its upstream.", []string{"bridge"}, nil),
		inflight:      prometheus.NewDesc("mqgate_session_inflight_messages", "Sessions by their messages delivered and not yet acknowledged.", nil, nil),
		storeSync:     prometheus.NewDesc("mqgate_store_sync_seconds", "How long the durable store took to sync its log to the device.", nil, nil),
		dtlsHellos: prometheus.NewDesc("mqgate_dtls_handshakes_total", "DTLS handshakes at the hello gate in front of pion, by what became of them: "+
			"opened (a ClientHello reached pion), proven (the peer echoed the cookie), evicted (closed for a newer one, or expired), refused (the gate was full).",
			[]string{"gateway", "listener", "result"}, nil),
		dtlsDropped: prometheus.NewDesc("mqgate_dtls_datagrams_dropped_total", "Datagrams the DTLS listener dropped: from unknown peers opening no handshake, or a peer's queue full.",
			[]string{"gateway", "listener", "reason"}, nil),
		dtlsReboots: prometheus.NewDesc("mqgate_dtls_reboots_total", "DTLS associations replaced by a client that handshook again from the same address (RFC 6347 4.2.8).",
			[]string{"gateway", "listener"}, nil),
		refused: prometheus.NewDesc("mqgate_connects_refused_total", "Client connections refused, by protocol and reason. By the core when they opened: "+
			"bad_credentials, not_authorized (no credentials, anonymous access off), auth_source_error (an authentication source failed), "+
			"banned, client_id_invalid (also an id the protocol refuses, too long), shutting_down. "+
			"By the adapter before it asked the core: server_busy (a listener at max_connections, a datagram gateway at max_clients), "+
			"unsupported_protocol (a protocol version or feature not spoken), malformed_connect (a first packet or frame that is no acceptable CONNECT), "+
			"connect_timeout (no CONNECT within the connect timeout).",
			[]string{"protocol", "reason"}, nil),
		authDenied: prometheus.NewDesc("mqgate_authentication_denied_total", "Client connections refused by authentication, by protocol and reason: "+
			"the bad_credentials, not_authorized and auth_source_error series of mqgate_connects_refused_total.",
			[]string{"protocol", "reason"}, nil),
		msgBytesIn: prometheus.NewDesc("mqgate_message_bytes_received_total", "Payload bytes of the messages counted by mqgate_messages_received_total, by the same protocol and QoS; "+
			"the bytes read from clients' connections are mqgate_bytes_received_total.", []string{"protocol", "qos"}, nil),
		msgBytesOut: prometheus.NewDesc("mqgate_message_bytes_sent_total", "Payload bytes of the messages counted by mqgate_messages_sent_total, by the same protocol and QoS "+
			"(a QoS 2 message's once the client has it, at PUBREC); the bytes written to clients' connections are mqgate_bytes_sent_total.", []string{"protocol", "qos"}, nil),
	}
})

// metricDescs describe the broker's own metrics.
type metricDescs struct {
	connections, connects, disconnects, discReasons, connMax *prometheus.Desc
	refused, authDenied                                      *prometheus.Desc
	msgsIn, msgsOut, bytesIn, bytesOut                       *prometheus.Desc
	msgBytesIn, msgBytesOut                                  *prometheus.Desc
	dropped, droppedAll, denied                              *prometheus.Desc
	sessions, subscriptions, retained, wills, uptime         *prometheus.Desc
	queueDepth, inflight, storeSync, storeFailures           *prometheus.Desc
	bridgeUp, bridgeQueued, bridgeBytes, bridgeAge           *prometheus.Desc
	bridgeDropped, bridgeRecon                               *prometheus.Desc
	dtlsHellos, dtlsDropped, dtlsReboots                     *prometheus.Desc
}

// DTLSListener is one DTLS listener's counters (adapters' DTLSStats).
type DTLSListener struct {
	Gateway, Listener                string
	Opened, Proven, Evicted, Refused int64
	DroppedUnknown, DroppedQueueFull int64
	Reboots                          int64
}

// depthBuckets are the upper bounds of the queue and inflight histograms:
// one series per bucket, never one per session.
var depthBuckets = []float64{0, 1, 10, 100, 1000, 10000}

// collector reads the core's counters at scrape time.
type collector struct {
	admin   core.Admin
	conns   *Conns
	drops   *Drops
	bridges func() []BridgeStatus
	sync    *StoreSync
	dtls    func() []DTLSListener
}

// StoreSync reads the store's sync-latency histogram at scrape time.
type StoreSync struct {
	Bounds []float64 // upper bounds in seconds
	Read   func() (cumulative []uint64, sum float64, count uint64)
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	d := descs()
	for _, desc := range []*prometheus.Desc{d.connections, d.connects, d.disconnects, d.connMax, d.msgsIn, d.msgsOut, d.msgBytesIn, d.msgBytesOut,
		d.discReasons, d.refused, d.authDenied, d.storeSync, d.bytesIn, d.bytesOut, d.dropped, d.droppedAll, d.denied, d.sessions, d.subscriptions, d.retained, d.wills, d.storeFailures, d.uptime,
		d.queueDepth, d.inflight, d.bridgeUp, d.bridgeQueued, d.bridgeBytes, d.bridgeAge, d.bridgeDropped, d.bridgeRecon,
		d.dtlsHellos, d.dtlsDropped, d.dtlsReboots} {
		ch <- desc
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	d := descs()
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	counter := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v, labels...)
	}
	if c.conns != nil {
		for k, n := range c.conns.All() {
			gauge(d.connections, float64(n.Current), k.Protocol, k.Listener)
			counter(d.connects, float64(n.Connects), k.Protocol, k.Listener)
			counter(d.disconnects, float64(n.Disconnects), k.Protocol, k.Listener)
		}
		for k, n := range c.conns.Reasons() {
			counter(d.discReasons, float64(n), k.Protocol, k.Reason)
		}
	}
	if c.drops != nil {
		for r := core.DropQueueFull; r <= core.LastDropReason; r++ {
			counter(d.dropped, float64(c.drops.n[r].Load()), r.String())
		}
	}
	s := c.admin.Snapshot()
	gauge(d.connMax, float64(s.ClientsMaximum))
	for _, m := range s.Messages {
		q := strconv.Itoa(int(m.QoS))
		counter(d.msgsIn, float64(m.Received), m.Protocol, q)
		counter(d.msgsOut, float64(m.Sent), m.Protocol, q)
		counter(d.msgBytesIn, float64(m.ReceivedBytes), m.Protocol, q)
		counter(d.msgBytesOut, float64(m.SentBytes), m.Protocol, q)
	}
	for _, b := range s.Bytes {
		counter(d.bytesIn, float64(b.Received), b.Protocol)
		counter(d.bytesOut, float64(b.Sent), b.Protocol)
	}
	for _, r := range s.Refused {
		counter(d.refused, float64(r.N), r.Protocol, r.Reason.String())
		if r.Reason.Authentication() {
			counter(d.authDenied, float64(r.N), r.Protocol, r.Reason.String())
		}
	}
	counter(d.droppedAll, float64(s.MessagesDropped))
	counter(d.denied, float64(s.PublishDenied), "publish")
	counter(d.denied, float64(s.SubscribeDenied), "subscribe")
	gauge(d.sessions, float64(s.Sessions))
	gauge(d.subscriptions, float64(s.Subscriptions))
	gauge(d.retained, float64(s.Retained))
	counter(d.wills, float64(s.WillsPublished))
	counter(d.storeFailures, float64(s.StoreFailures))
	gauge(d.uptime, s.Uptime.Seconds())
	c.collectDepths(ch)
	if c.sync != nil {
		cum, sum, n := c.sync.Read()
		buckets := make(map[float64]uint64, len(cum))
		for i, b := range c.sync.Bounds {
			if i < len(cum) {
				buckets[b] = cum[i]
			}
		}
		ch <- prometheus.MustNewConstHistogram(d.storeSync, n, sum, buckets)
	}
	if c.dtls != nil {
		for _, l := range c.dtls() {
			for _, r := range []struct {
				result string
				n      int64
			}{{"opened", l.Opened}, {"proven", l.Proven}, {"evicted", l.Evicted}, {"refused", l.Refused}} {
				counter(d.dtlsHellos, float64(r.n), l.Gateway, l.Listener, r.result)
			}
			counter(d.dtlsDropped, float64(l.DroppedUnknown), l.Gateway, l.Listener, "unknown_peer")
			counter(d.dtlsDropped, float64(l.DroppedQueueFull), l.Gateway, l.Listener, "queue_full")
			counter(d.dtlsReboots, float64(l.Reboots), l.Gateway, l.Listener)
		}
	}
	if c.bridges != nil {
		for _, b := range c.bridges() {
			up := 0.0
			if b.Status == "connected" {
				up = 1
			}
			gauge(d.bridgeUp, up, b.Name)
			gauge(d.bridgeQueued, float64(b.Queued), b.Name)
			gauge(d.bridgeBytes, float64(b.QueuedBytes), b.Name)
			gauge(d.bridgeAge, b.OldestSeconds, b.Name)
			counter(d.bridgeDropped, float64(b.Dropped), b.Name)
			counter(d.bridgeRecon, float64(b.Reconnects), b.Name)
		}
	}
}

// collectDepths walks the sessions a page at a time for the queue and
// inflight histograms: the cost is the scrape's, proportional to the
// sessions, and nothing is kept between scrapes.
func (c *collector) collectDepths(ch chan<- prometheus.Metric) {
	d := descs()
	queued, inflight := newDepths(), newDepths()
	for cursor := ""; ; {
		p := c.admin.Sessions(core.SessionQuery{Cursor: cursor, Limit: 1000})
		for i := range p.Sessions {
			queued.add(p.Sessions[i].Queued)
			inflight.add(p.Sessions[i].Inflight)
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	ch <- prometheus.MustNewConstHistogram(d.queueDepth, queued.count, queued.sum, queued.buckets)
	ch <- prometheus.MustNewConstHistogram(d.inflight, inflight.count, inflight.sum, inflight.buckets)
}

type depths struct {
	count   uint64
	sum     float64
	buckets map[float64]uint64 // cumulative, as Prometheus wants
}

func newDepths() *depths {
	d := &depths{buckets: make(map[float64]uint64, len(depthBuckets))}
	for _, b := range depthBuckets {
		d.buckets[b] = 0
	}
	return d
}

func (d *depths) add(n int) {
	d.count++
	d.sum += float64(n)
	for _, b := range depthBuckets {
		if float64(n) <= b {
			d.buckets[b]++
		}
	}
}
